"""Decontamination: documents sharing a long word n-gram with a benchmark are removed or flagged.

Why: a benchmark question seen in pretraining inflates the evaluation that later judges the mixture.
The rule is the one GPT-3 and most successors use: a document is contaminated when it shares one
13-word n-gram (lower-cased ``\\w+`` words) with any benchmark example. A benchmark example shorter than
``ngram`` words, but at least ``min_item_words`` long, is matched by its whole word sequence; shorter ones
are too generic to match on and are counted as skipped, never silently.

Benchmarks are user files: ``.jsonl``/``.json`` (one JSON value per line), ``.parquet`` (one row per
example) or anything else as text (one example per line). Loading checks every file before any document
is touched and raises :class:`BenchmarkError` naming the file (and line) that is missing, not UTF-8 or
not parseable, so a bad benchmark costs nothing else in the run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from .minhash import window_hashes
from .settings import THRESHOLD_MAX, Name, Settings

WORD = re.compile(r"\w+")
#: words per n-gram: every document's n-grams are hashed over windows of this many words
MAX_NGRAM = 256


class BenchmarkError(ValueError):
    """A benchmark file cannot be used; the message names the file (and line)."""


class DecontaminationSettings(Settings):
    """Settings of decontamination (``filter.decontamination`` in the run config)."""

    benchmarks: list[Name] = Field(default_factory=list, description="benchmark files: jsonl, json, parquet or text")
    ngram: int = Field(13, ge=1, le=MAX_NGRAM, description="words per n-gram (GPT-3: 13)")
    min_item_words: int = Field(8, ge=1, le=THRESHOLD_MAX, description="shorter examples are skipped (counted)")
    mode: Literal["remove", "flag"] = "remove"
    text_fields: list[Name] | None = Field(
        None, description="jsonl/parquet fields that form an example; None: every string field"
    )


@dataclass(frozen=True)
class Contamination:
    """Where a document overlaps a benchmark: file, example index (line or row, from 0), shared words."""

    benchmark: str
    item: int
    ngram: str

    def as_metadata(self) -> dict:
        return {"benchmark": self.benchmark, "item": self.item, "ngram": self.ngram}


def words_of(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words: punctuation and layout never hide an overlap."""
    return WORD.findall(text.lower())


def _word_hashes(words: Sequence[str], cache: dict[str, int]) -> np.ndarray:
    out = np.empty(len(words), dtype=np.uint64)
    for i, word in enumerate(words):
        h = cache.get(word)
        if h is None:
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            cache[word] = h
        out[i] = h
    return out


def _example_text(value, fields: list[str] | None, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        keys = fields if fields is not None else list(value)
        parts = []
        for key in keys:
            v = value.get(key)
            if isinstance(v, str):
                parts.append(v)
            elif isinstance(v, list):
                parts.extend(x for x in v if isinstance(x, str))
        return "\n".join(parts)
    if isinstance(value, list):
        return "\n".join(x for x in value if isinstance(x, str))
    raise BenchmarkError(f"{where}: expected a JSON object, list or string, found {type(value).__name__}")


def read_benchmark(path: str | Path, text_fields: list[str] | None = None) -> list[str]:
    """Examples of one benchmark file, in file order (index = line or row number from 0)."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"decontamination: benchmark file {path} does not exist")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise BenchmarkError(f"decontamination: benchmark file {path} is not readable parquet: {exc}") from exc
        return [_example_text(row, text_fields, f"{path} row {i}") for i, row in enumerate(rows)]
    examples = []
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise BenchmarkError(
                    f"decontamination: benchmark file {path} is not UTF-8 (line {lineno}, byte {exc.start}); "
                    "convert it with iconv"
                ) from exc
            if path.suffix in (".jsonl", ".json"):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BenchmarkError(f"decontamination: {path} line {lineno} is not JSON: {exc.msg}") from exc
                examples.append(_example_text(value, text_fields, f"{path} line {lineno}"))
            else:
                examples.append(line)
    return examples


class BenchmarkIndex:
    """Hashes of every benchmark n-gram, with the example each came from; built once, used per shard."""

    def __init__(self, settings: DecontaminationSettings):
        self.settings = settings
        self.names: list[str] = []
        self.stats: Counter = Counter()
        self._hashes = np.empty(0, dtype=np.uint64)
        self._refs = np.empty((0, 2), dtype=np.int64)  # (benchmark index, example index)
        self._lengths: list[int] = []  # window lengths to scan: ngram, plus whole-example lengths
        # hashes of benchmark words only: the index lives as long as its worker, and caching every word of
        # every scanned document would grow without bound across shards (find() uses a per-call cache)
        self._cache: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: DecontaminationSettings) -> BenchmarkIndex:
        """Read and index every benchmark; raises :class:`BenchmarkError` on the first bad file."""
        index = cls(settings)
        loaded = [(str(p), read_benchmark(p, settings.text_fields)) for p in settings.benchmarks]
        for name, examples in loaded:
            index.add(name, examples)
        return index

    def add(self, name: str, examples: Iterable[str]) -> None:
        """Index the examples of one benchmark under ``name``."""
        n, bench = self.settings.ngram, len(self.names)
        self.names.append(name)
        hashes, refs, lengths = [self._hashes], [self._refs], set(self._lengths)
        for item, text in enumerate(examples):
            words = words_of(text)
            self.stats[f"{name}:examples"] += 1
            if len(words) < self.settings.min_item_words:
                self.stats[f"{name}:skipped_short_examples"] += 1
                continue
            width = min(n, len(words))
            lengths.add(width)
            h = window_hashes(_word_hashes(words, self._cache), width)
            hashes.append(h)
            refs.append(np.column_stack([np.full(h.size, bench), np.full(h.size, item)]))
        all_hashes = np.concatenate(hashes)
        all_refs = np.concatenate(refs)
        order = np.argsort(all_hashes, kind="stable")
        self._hashes, self._refs = all_hashes[order], all_refs[order]
        self._lengths = sorted(lengths, reverse=True)
        self.stats["ngrams"] = int(self._hashes.size)

    def find(self, text: str) -> Contamination | None:
        """The first benchmark n-gram found in ``text`` (longest windows first), or None."""
        if self._hashes.size == 0:
            return None
        words = words_of(text)
        word_hashes = _word_hashes(words, {})
        for width in self._lengths:
            windows = window_hashes(word_hashes, width)
            if windows.size == 0:
                continue
            pos = np.searchsorted(self._hashes, windows)
            pos[pos == self._hashes.size] = 0
            hits = np.flatnonzero(self._hashes[pos] == windows)
            if hits.size:
                start = int(hits[0])
                bench, item = self._refs[pos[start]]
                return Contamination(self.names[bench], int(item), " ".join(words[start : start + width]))
        return None
