"""Token counting for chunking, so chunk limits are in the model's own tokens rather than characters.

A local backend counts with its own tokenizer. A remote server usually does not expose one, so the HTTP
backend takes a Hugging Face tokenizer path (or a ``.gguf`` file) matching the served model; without one it
falls back to a deliberately pessimistic estimate, so chunks come out smaller than the limit, never larger.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

TokenCounter = Callable[[str], int]


def approximate_token_count(text: str) -> int:
    """About three characters per token: pessimistic for English prose, close for maths and code."""
    return math.ceil(len(text) / 3)


PACKAGED = "smollm2"


def load_tokenizer(spec: str):
    """Load a Hugging Face tokenizer from a folder, a hub name already in the local cache, a ``.gguf`` file,
    or ``smollm2``: the packaged model's (from its dense copy when one was made, it loads faster)."""
    from transformers import AutoTokenizer

    if spec == PACKAGED:
        from curation.llm.local_model import dense_copy_dir, packaged_gguf_path

        gguf = packaged_gguf_path()
        dense = dense_copy_dir(gguf)
        spec = str(dense if (dense / "tokenizer.json").is_file() else gguf)
    path = Path(spec)
    if path.suffix == ".gguf":
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    return AutoTokenizer.from_pretrained(spec)


def tokenizer_counter(tokenizer) -> TokenCounter:
    """Count tokens the way the model sees the chunk inside a prompt: no special tokens added."""

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    return count
