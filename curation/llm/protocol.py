"""The one protocol every LLM backend speaks, so hooks, cache and runner never care what answers them.

A backend turns chat requests into completions. It reports each result through a callback as soon as it
arrives, so the caller can write it durably before the next one lands: a crash then loses at most the requests
in flight. A request that cannot be answered becomes a ``BackendError`` with a short machine-readable
``reason`` (``timeout``, ``http_500``, ``connection_error``, ``malformed_response`` ...) instead of an
exception that would take the whole batch down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Messages = list[dict]


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make; ``temperature == 0`` means greedy decoding."""

    messages: Messages
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = 0


@dataclass(frozen=True)
class Completion:
    """A model's answer. ``finish_reason == "length"`` means the output was cut at ``max_tokens``."""

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class BackendError(Exception):
    """A request that failed for good (after retries); ``reason`` is what gets recorded on the document."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def completion_from_payload(payload: Any) -> Completion:
    """Read an OpenAI-shaped ``chat.completion`` dict, which both an HTTP server and llama-cpp-python return.

    One reader keeps the two backends agreeing on defaults (a missing ``finish_reason`` is ``stop``, missing
    usage counts are 0) and on the failure: any other shape is ``malformed_response``, never a crash.
    """
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"] or ""
        finish_reason = choice.get("finish_reason") or "stop"
        usage = payload.get("usage") or {}
        return Completion(
            text=text,
            finish_reason=finish_reason,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as err:
        raise BackendError("malformed_response", f"unexpected completion shape: {str(payload)[:200]}") from err


Result = Completion | BackendError
OnResult = Callable[[int, Result], None]


@dataclass
class UsageStats:
    """Counters a backend keeps across calls; thread-safe because the HTTP backend updates them from a pool."""

    requests: int = 0  # requests answered by the model (one per completion, retries not counted)
    attempts: int = 0  # HTTP attempts including retries (equals requests for local backends)
    retries: int = 0
    errors: int = 0  # requests that ended as BackendError
    truncated: int = 0  # completions with finish_reason == "length"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def record(self, result: Result) -> None:
        if isinstance(result, BackendError):
            self.add(errors=1)
        else:
            self.add(
                requests=1,
                truncated=int(result.truncated),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
            )

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


@runtime_checkable
class Backend(Protocol):
    """What the runner needs from a model.

    ``model`` names the model for cache keys; ``count_tokens`` is the tokenizer that chunking measures with;
    ``complete_many`` answers every request exactly once through ``on_result(index, result)``.
    """

    stats: UsageStats

    @property
    def model(self) -> str: ...

    def count_tokens(self, text: str) -> int: ...

    def complete_many(self, requests: Sequence[ChatRequest], on_result: OnResult) -> None: ...


def complete_one(backend: Backend, request: ChatRequest) -> Completion:
    """Convenience for a single request: returns the completion or raises its ``BackendError``."""
    box: list[Result] = []
    backend.complete_many([request], lambda _i, result: box.append(result))
    if isinstance(box[0], BackendError):
        raise box[0]
    return box[0]
