"""Token counting for chunking, so chunk limits are in the model's own tokens rather than characters.

A local backend counts with its own tokenizer. A remote server usually does not expose one, so the HTTP
backend takes a tokenizer setting matching the served model (anything ``curation.tokens.load_counter``
accepts: ``smollm2``, a ``.gguf`` file, a Hugging Face folder or name); without one it falls back to a
deliberately pessimistic estimate, so chunks come out smaller than the limit, never larger.
"""
from __future__ import annotations

import math
from collections.abc import Callable

TokenCounter = Callable[[str], int]


def approximate_token_count(text: str) -> int:
    """About three characters per token: pessimistic for English prose, close for maths and code."""
    return math.ceil(len(text) / 3)
