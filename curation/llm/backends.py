"""Build a backend from a config mapping, so a model is a setting and never a code change.

llm:
  backend: openai          # openai | transformers | llama_cpp
  base_url: http://127.0.0.1:8000/v1   # openai: or env CURATION_LLM_BASE_URL
  model: ...               # openai: served model name; local: .gguf file or HF folder (default: packaged SmolLM2)
  concurrency: 8           # any other field goes to the backend's constructor
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from curation.llm.protocol import Backend
from curation.models import hub_cached, packaged_gguf_path
from curation.settings import LLM_TOKENS_MAX, Name, Seed, Settings, describe_error


class _BackendArguments(Settings):
    """Types and bounds of the backends' constructor arguments, for :class:`LLMSettings` to check the ones a
    config sets: a constructor only stores them, so ``concurrency: 1e9`` or ``timeout: .inf`` would otherwise
    surface in the cleanup stage, as a billion threads or a request that never times out."""

    model: Name | None = None
    name: Name | None = None
    base_url: Name | None = None
    api_key: str | None = None
    tokenizer: Name | None = None
    device: Name | None = None
    cache_dir: Name | None = None
    concurrency: int = Field(4, ge=1, le=1024, description="requests in flight")
    timeout: float = Field(120.0, gt=0, le=86_400, description="seconds per request")
    max_retries: int = Field(5, ge=0, le=100)
    backoff_base: float = Field(0.5, ge=0, le=3600)
    backoff_max: float = Field(30.0, ge=0, le=86_400)
    seed: Seed = 0
    batch_size: int = Field(8, ge=1, le=4096, description="prompts generated together")
    threads: int | None = Field(None, ge=1, le=1024)
    n_ctx: int = Field(4096, ge=1, le=LLM_TOKENS_MAX, description="llama.cpp context: its KV cache grows with it")


class LLMSettings(Settings):
    """The ``llm`` section, passed to :func:`make_backend`; fields beyond ``backend`` go to the backend's
    constructor (openai: base_url, model, api_key, concurrency, timeout, max_retries, tokenizer; transformers:
    model, batch_size, threads, device), so they are allowed here. Those the backends take are type- and
    bound-checked here (``_BackendArguments``); which backend takes which, and any other name, its constructor
    checks."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: Literal["openai", "transformers", "llama_cpp"] = "transformers"

    @model_validator(mode="after")
    def _arguments_in_bounds(self) -> LLMSettings:
        known = {k: v for k, v in (self.model_extra or {}).items() if k in _BackendArguments.model_fields}
        try:
            _BackendArguments.model_validate(known)
        except ValidationError as err:  # one line naming the field, as every config message
            raise ValueError(f"llm.{describe_error(err.errors()[0])}") from None
        return self

    def check_available(self) -> None:
        """Raise ``ValueError`` naming the field unless the model (local backends) or the tokenizer (openai)
        these settings name is here: each is first loaded by the cleanup or classify stage, after extract,
        filter and dedup. Files are looked for, nothing is loaded; a served model is the server's to check."""
        from curation.tokens import check_tokenizer

        extra = self.model_extra or {}
        if self.backend == "openai":
            if extra.get("tokenizer"):
                check_tokenizer(extra["tokenizer"], setting="llm.tokenizer")
            return
        model = extra.get("model")
        try:
            if model is None:
                packaged_gguf_path()
                return
            path = Path(model)
            if path.suffix == ".gguf" and path.is_file():
                return
            if self.backend == "transformers" and (path.is_dir() or hub_cached(model, "config.json")):
                return
        except OSError as err:  # the package missing, a name too long for a path ...
            raise ValueError(f"llm.model: {err}") from None
        kinds = "a .gguf file" if self.backend == "llama_cpp" else "a .gguf file, a model folder nor a cached hub model"
        raise ValueError(f"llm.model: {model!r} is not {kinds} (leave it out for the packaged SmolLM2)")


def make_backend(config: Mapping[str, Any] | None = None) -> Backend:
    settings = dict(config or {})
    kind = settings.pop("backend", "openai")
    cls: Callable[..., Backend]
    if kind == "openai":
        from curation.llm.openai_http import OpenAIBackend

        cls = OpenAIBackend
    elif kind == "transformers":
        from curation.llm.local_model import TransformersBackend

        cls = TransformersBackend
    elif kind == "llama_cpp":
        from curation.llm.local_model import LlamaCppBackend

        cls = LlamaCppBackend
    else:
        raise ValueError(f"llm.backend: unknown backend {kind!r}; expected openai, transformers or llama_cpp")
    try:
        return cls(**settings)
    except TypeError as err:
        raise ValueError(f"llm: bad settings for backend {kind!r}: {err}") from err


def backend_for(config: Mapping[str, Any] | None) -> Backend:
    """The backend for these settings, built once per process and shared by every stage that asks for it.

    A local model then loads once per worker, not once per batch or per stage, and an HTTP backend keeps its
    connections and its resolved model name. Settings are keyed by their sorted JSON, so equal mappings share.
    """
    return _cached_backend(json.dumps(dict(config or {}), sort_keys=True))


@functools.lru_cache(maxsize=2)
def _cached_backend(settings_json: str) -> Backend:
    return make_backend(json.loads(settings_json))
