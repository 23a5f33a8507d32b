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
from typing import Any, Literal

from pydantic import ConfigDict

from curation.llm.protocol import Backend
from curation.settings import Settings


class LLMSettings(Settings):
    """The ``llm`` section, passed to :func:`make_backend`; fields beyond ``backend`` go to the backend's
    constructor (openai: base_url, model, api_key, concurrency, timeout, max_retries, tokenizer; transformers:
    model, batch_size, threads, device), so they are allowed here and checked there."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: Literal["openai", "transformers", "llama_cpp"] = "transformers"


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
