"""Run one hook over a list of documents: chunk, look up the cache, ask the backend for what is missing, merge.

This is the entry point pipeline stages call. Its contract: every input document gets exactly one
``HookResult``, in input order, either ``ok`` or with a ``reason``. A document whose chunks did not all come
back complete (an error after retries, a truncated reply, a reply the hook cannot parse) is never half-merged:
it keeps its original text (``status="kept"``) or is dropped (``status="dropped"``), as ``on_failure`` says.
Identical chunks are asked once; each reply is cached durably as it arrives, so rerunning after a crash asks
the model only for chunks it had not answered.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from curation.llm.cache import ReplyCache, cache_key
from curation.llm.chunking import merge_chunks, split_into_counted_chunks
from curation.llm.hooks import ANNOTATE, Hook, ReplyParseError, get_hook
from curation.llm.protocol import Backend, BackendError, ChatRequest, Completion, Result

log = logging.getLogger(__name__)

OK, KEPT, DROPPED = "ok", "kept", "dropped"


@dataclass
class HookResult:
    """One document's outcome.

    ``text`` is the rewritten text (rewrite hooks, ``ok``), the original text (annotate hooks, or ``kept``), or
    ``None`` (``dropped``). ``value`` is the parsed annotation. ``reason`` is set whenever status is not ``ok``:
    ``truncated``, ``unparseable_reply``, ``no_useful_content``, ``empty_document``, ``no_reply`` (the backend
    never reported a result for a chunk), or the backend's error reason (``timeout``, ``http_500``, ``http_429``,
    ``connection_error``, ``malformed_response`` ...).
    """

    id: Any
    status: str
    text: str | None
    value: Any = None
    reason: str | None = None
    n_chunks: int = 0
    cached_chunks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reply_budget(hook: Hook, chunk_tokens: int, max_tokens: int | None) -> int:
    """Tokens a reply may use: the caller's setting, else the hook's, else (rewrites) the chunk's length with
    room for LaTeX markup, which is longer than the plain-text maths it replaces."""
    if max_tokens is not None:
        return max_tokens
    if hook.max_tokens is not None:
        return hook.max_tokens
    return int(chunk_tokens * 1.5) + 32


def run_hook(
    hook: Hook | str | Mapping,
    texts: Sequence[str],
    backend: Backend,
    cache_dir: str | Path,
    *,
    ids: Sequence[Any] | None = None,
    chunk_tokens: int = 1024,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    seed: int | None = 0,
    on_failure: str = "keep",
) -> list[HookResult]:
    """Apply ``hook`` to every text; see the module docstring for the guarantees.

    ``chunk_tokens`` bounds each chunk in the backend's tokens (annotate hooks see only the first chunk);
    ``max_tokens`` bounds each reply (default: see ``reply_budget``); ``on_failure`` is ``keep`` or ``drop``.
    """
    hook = get_hook(hook)
    if on_failure not in ("keep", "drop"):
        raise ValueError(f"on_failure must be 'keep' or 'drop', got {on_failure!r}")
    ids = list(ids) if ids is not None else list(range(len(texts)))
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    try:
        model = backend.model
    except BackendError as err:  # the server cannot even be asked which model it serves
        return [_failed(doc_id, text, err.reason, on_failure) for doc_id, text in zip(ids, texts)]

    # 1. chunk every document and key every chunk
    doc_keys: list[list[str]] = []
    requests: dict[str, ChatRequest] = {}
    for text in texts:
        chunks = split_into_counted_chunks(text, backend.count_tokens, chunk_tokens) if text.strip() else []
        if hook.mode == ANNOTATE:
            chunks = chunks[:1]
        keys = []
        for chunk, n_tokens in chunks:
            budget = reply_budget(hook, n_tokens, max_tokens)
            key = cache_key(
                hook=hook.name,
                fingerprint=hook.fingerprint,
                model=model,
                max_tokens=budget,
                temperature=temperature,
                seed=seed,
                chunk=chunk,
            )
            requests.setdefault(key, ChatRequest(hook.build_messages(chunk), budget, temperature, seed))
            keys.append(key)
        doc_keys.append(keys)

    # 2. ask only for what the cache does not have, storing each reply as it arrives
    with ReplyCache(cache_dir) as cache:
        replies: dict[str, Result] = dict(cache.get_many(list(requests)))
        cached = set(replies)
        missing = [key for key in requests if key not in replies]
        log.info(
            "hook %s on %s: %d documents, %d distinct chunks, %d cached, %d to ask",
            hook.name,
            model,
            len(texts),
            len(requests),
            len(cached),
            len(missing),
        )

        def on_result(index: int, result: Result) -> None:
            key = missing[index]
            if isinstance(result, Completion):
                cache.put(key, result, hook=hook.name, model=model)
            replies[key] = result

        backend.complete_many([requests[key] for key in missing], on_result)

    # 3. one result per document, never half-merged
    return [
        _assemble(hook, doc_id, text, keys, replies, cached, on_failure)
        for doc_id, text, keys in zip(ids, texts, doc_keys)
    ]


def _failed(doc_id: Any, text: str, reason: str, on_failure: str, **counts: int) -> HookResult:
    if on_failure == "drop":
        return HookResult(doc_id, DROPPED, None, reason=reason, **counts)
    return HookResult(doc_id, KEPT, text, reason=reason, **counts)


def _assemble(
    hook: Hook,
    doc_id: Any,
    text: str,
    keys: list[str],
    replies: Mapping[str, Result],
    cached: set[str],
    on_failure: str,
) -> HookResult:
    if not keys:
        return HookResult(doc_id, DROPPED, None, reason="empty_document")
    chunk_replies = [replies.get(key, BackendError("no_reply")) for key in keys]
    counts: dict[str, Any] = {
        "n_chunks": len(keys),
        "cached_chunks": sum(key in cached for key in keys),
        "prompt_tokens": sum(r.prompt_tokens for r in chunk_replies if isinstance(r, Completion)),
        "completion_tokens": sum(r.completion_tokens for r in chunk_replies if isinstance(r, Completion)),
    }
    error = next((r for r in chunk_replies if isinstance(r, BackendError)), None)
    if error is not None:
        return _failed(doc_id, text, error.reason, on_failure, **counts)
    completions = [r for r in chunk_replies if isinstance(r, Completion)]  # all of them, once no error
    if hook.mode == ANNOTATE:
        reply = completions[0]
        try:
            value = hook.parse(reply.text)
        except ReplyParseError:
            return _failed(doc_id, text, "truncated" if reply.truncated else "unparseable_reply", on_failure, **counts)
        return HookResult(doc_id, OK, text, value=value, **counts)
    if any(r.truncated for r in completions):
        return _failed(doc_id, text, "truncated", on_failure, **counts)
    try:
        parts = [hook.parse(r.text) for r in completions]
    except ReplyParseError:
        return _failed(doc_id, text, "unparseable_reply", on_failure, **counts)
    kept = [part for part in parts if part is not None]
    if not kept:
        return HookResult(doc_id, DROPPED, None, reason="no_useful_content", **counts)
    return HookResult(doc_id, OK, merge_chunks(kept), **counts)


def summarize(results: Sequence[HookResult]) -> dict[str, int]:
    """Counts by ``status`` and by ``status:reason``, for stage stats."""
    counts: Counter[str] = Counter()
    for result in results:
        counts[result.status] += 1
        if result.reason:
            counts[f"{result.status}:{result.reason}"] += 1
    return dict(counts)
