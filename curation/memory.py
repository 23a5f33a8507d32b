"""What a worker process gives back between tasks and between stages.

A worker process serves every stage, so what one stage leaves behind is resident in the next one's tasks.
Per-process caches of models and data (the language identifier, spaCy's tokenizers, the embedding model, the
search's pool and target) are registered with :func:`released_after_stage`; when a stage ends the driver has
every worker, and itself, drop them, collect garbage and give freed memory back to the operating system
(:func:`release_memory`, from ``Executor.release_memory``). After every task the memory pyarrow's allocator
(mimalloc) keeps for reuse is given back too (:func:`return_free_memory`): reading a 10 MB parquet file left
about 200 MB resident in it otherwise.

A module of its own, with nothing heavy imported, because the modules that own the caches (tokenizers, models,
the search's data) register them at import time.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable
from typing import Any

#: ``cache_clear`` of every per-process cache registered with ``released_after_stage``, in this process
_STAGE_CACHES: list[Callable[[], None]] = []


def released_after_stage(cached: Any) -> Any:
    """Register a ``functools.lru_cache``'d function (a model, a tokenizer, a stage's data, loaded once per
    process) to be cleared when each stage ends; returns it unchanged, so it also serves as a decorator above
    ``lru_cache``. The next call loads again: a cache is only a saving within a stage."""
    _STAGE_CACHES.append(cached.cache_clear)
    return cached


def release_memory() -> None:
    """Drop the registered caches, collect garbage and give free memory back to the operating system. Run on
    every worker and on the driver when a stage ends."""
    for clear in _STAGE_CACHES:
        clear()
    gc.collect()
    return_free_memory()


def return_free_memory() -> None:
    """Hand back what the allocators keep for reuse: pyarrow's pool (mimalloc keeps freed pages per thread) and
    glibc's heap (``malloc_trim``; freed pages inside it, not only its top). About a millisecond each."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    """The C library this process runs on, where it is glibc (it has ``malloc_trim``); None elsewhere (macOS,
    musl), where nothing is trimmed."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _load_libc()
