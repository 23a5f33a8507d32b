"""What one client may ask of ``curate serve-llm``: the limits (:class:`ServerLimits`), who may connect
(:func:`check_bind`), and what a chat completions body may hold (:func:`chat_request`).

Kept apart from the server's sockets and threads so that each rule is read in one place: every field a client
sends is checked here, and a bad one becomes a 400 naming it.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any

from curation.llm.protocol import ChatRequest

#: the variable ``curate serve-llm`` reads its API key from: the one the HTTP backend sends, so one setting serves
#: both ends (``OPENAI_API_KEY`` is deliberately not read here: a user's OpenAI key should not lock a local server)
ENV_API_KEY = "CURATION_LLM_API_KEY"


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the server; each field is a ``curate serve-llm`` flag.

    ``read_timeout`` bounds the whole reading of a request (request line, headers and body) and the idle time of
    a kept-alive connection; ``request_timeout`` bounds a request from its arrival to its answer (a generation
    past it ends early with ``finish_reason: "length"``); ``max_connections`` bounds the open connections, and
    with them the requests waiting for the model.
    """

    max_body_bytes: int = 1 << 20
    max_tokens: int = 4096
    default_max_tokens: int = 512
    read_timeout: float = 10.0
    request_timeout: float = 300.0
    max_connections: int = 32

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_tokens", "default_max_tokens", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("read_timeout", "request_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        if self.default_max_tokens > self.max_tokens:
            raise ValueError(f"default_max_tokens {self.default_max_tokens} is over max_tokens {self.max_tokens}")

    @classmethod
    def for_context(cls, context_tokens: int, **overrides: Any) -> ServerLimits:
        """Limits sized to a model's context window, with ``overrides`` (``None`` values ignored) on top.

        A reply cannot be longer than the context, so that is the default ``max_tokens`` limit. A prompt that
        fits the context is at most ``context_tokens`` tokens; 128 bytes per token covers the longest tokens even
        with JSON's six-byte ``\\uXXXX`` escapes, so a larger body can only hold a prompt the model would refuse.
        """
        settings: dict[str, Any] = {
            "max_body_bytes": max(cls.max_body_bytes, 128 * context_tokens),
            "max_tokens": context_tokens,
        }
        settings.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**settings)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``""`` and ``0.0.0.0`` mean every interface)."""
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def check_bind(host: str, *, allow_remote: bool, api_key: str | None) -> None:
    """Refuse to listen off loopback unless asked to explicitly and given a key.

    The server has no TLS and serves whoever reaches the port, so binding ``0.0.0.0`` by habit would hand the
    model (and the machine's CPU) to the network; the flag makes that a decision, and the key makes it safe-ish.
    """
    if is_loopback(host):
        return
    if not allow_remote:
        raise ValueError(
            f"host {host!r} is not a loopback address, so other machines could use the server; "
            f"pass --allow-remote and an API key (env {ENV_API_KEY} or --api-key) to listen there"
        )
    if not api_key:
        raise ValueError(
            f"host {host!r} with --allow-remote needs an API key (env {ENV_API_KEY} or --api-key): "
            "without one anyone who reaches the port can use the model"
        )


ROLES = ("system", "user", "assistant")


def _int_field(name: str, value: Any, low: int, high: int, hint: str = "") -> int:
    """``value`` as an int in [low, high], or a ValueError naming ``name`` (JSON ``true`` is not 1 here)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}{hint}, got {json.dumps(value)[:40]}")
    return value


def chat_request(body: Any, limits: ServerLimits) -> ChatRequest:
    """Validate an OpenAI chat completions body; a ValueError becomes a 400 naming the field."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages
        )
    ):
        raise ValueError(
            "messages must be a non-empty list of {role, content} objects with string content and a role of "
            + ", ".join(ROLES)
        )
    if body.get("stream"):
        raise ValueError("stream=true is not supported")
    _int_field("n", body.get("n", 1), 1, 1, " (only n=1 is supported)")
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    max_tokens = _int_field(
        name, body.get(name, limits.default_max_tokens), 1, limits.max_tokens, " (this server's limit)"
    )
    temperature = body.get("temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise ValueError(f"temperature must be a number from 0 to 2, got {json.dumps(temperature)[:40]}")
    seed = body.get("seed")
    if seed is not None:
        _int_field("seed", seed, 0, 2**63 - 1)
    return ChatRequest(
        [{"role": m["role"], "content": m["content"]} for m in messages], max_tokens, float(temperature), seed
    )
