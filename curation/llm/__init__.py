"""LLM hooks: clean up or annotate documents through any OpenAI-compatible server or a local model.

Pipeline stages need only this::

    from curation.llm import make_backend, run_hook
    backend = make_backend({"backend": "openai", "base_url": "http://127.0.0.1:8000/v1"})
    results = run_hook("math-cleanup", texts, backend, run_dir / "cleanup", ids=ids)
    # one HookResult per text, in order: status ok | kept | dropped, text, value, reason, token counts

Nothing heavy is imported here; torch and transformers load only when a local backend loads its model.
"""

from curation.llm.backends import make_backend
from curation.llm.hooks import BUILTIN_HOOKS, Hook, ReplyParseError, get_hook
from curation.llm.protocol import (
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    UsageStats,
    complete_one,
)
from curation.llm.runner import HookResult, run_hook, summarize

__all__ = [
    "BUILTIN_HOOKS",
    "Backend",
    "BackendError",
    "ChatRequest",
    "Completion",
    "Hook",
    "HookResult",
    "ReplyParseError",
    "UsageStats",
    "complete_one",
    "get_hook",
    "make_backend",
    "run_hook",
    "summarize",
]
