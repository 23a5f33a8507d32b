"""The dedup stage: exact duplicates on normalised text across all shards.

Three passes, each resumable on its own: (1) per shard, hash every document's normalised text
(``dedup/hashes/``); (2) globally, keep the first document of each hash in (shard, row) order and list every
other one with the document it duplicates (``dedup/duplicates.parquet``); (3) per shard, write the survivors
(``dedup/part-*.parquet``), counting the rest under ``exact_duplicate``. The first-seen rule depends only on
input order, so the result is the same on one machine or many.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pyarrow as pa

from .executor import Executor
from .rundir import RunDir, part_name
from .stage import ParquetDocReader, ShardStage
from .step import Step

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """What counts as the same text: Unicode NFKC, case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(normalise(text).encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little", signed=True)


class DropListed(Step):
    """Drops documents whose id is in ``ids`` under ``reason``."""

    name = "drop-listed"

    def __init__(self, ids: set[str], reason: str):
        super().__init__()
        self.ids, self.reason = ids, reason

    def run(self, data, rank: int = 0, world_size: int = 1):
        for doc in data:
            if doc.id in self.ids:
                self.drop(self.reason)
            else:
                yield doc


class ExactDedupStage(ShardStage):
    name = "dedup"
    source = "filter"

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        parts = self.inputs(rundir)
        tasks = {part_name(i, ""): {"part": p, "index": i} for i, p in enumerate(parts)}
        executor.run(rundir, "dedup/hashes", self.hash_task, tasks, desc="dedup: hash")
        if not rundir.exists("dedup", "duplicates.parquet"):
            executor.submit_call(find_exact_duplicates, rundir, len(parts))
        return super().run(executor, rundir)

    def hash_task(self, rundir: RunDir, part: str, index: int) -> dict:
        table = rundir.read_table(self.source, part, columns=["id", "text"])
        hashes = np.array([text_hash(t) for t in table.column("text").to_pylist()], dtype=np.int64)
        rundir.write_table(pa.table({"id": table.column("id"), "hash": hashes}), "dedup", "hashes", part)
        return {"in": table.num_rows, "out": table.num_rows}

    def steps(self, rundir: RunDir) -> list:
        removed = rundir.read_table("dedup", "duplicates.parquet", columns=["id"]).column("id").to_pylist()
        return [DropListed(set(removed), "exact_duplicate")]


def find_exact_duplicates(rundir: RunDir, n_parts: int) -> int:
    """Global pass: every document whose hash was seen earlier, with the id it duplicates."""
    ids, hashes = [], []
    for i in range(n_parts):
        t = rundir.read_table("dedup", "hashes", part_name(i))
        ids.extend(t.column("id").to_pylist())
        hashes.append(t.column("hash").to_numpy())
    h = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.int64)
    order = np.argsort(h, kind="stable")  # stable: within a hash, input order is kept
    sorted_h = h[order]
    first_of_run = np.ones(len(h), dtype=bool)
    first_of_run[1:] = sorted_h[1:] != sorted_h[:-1]
    keeper = order[np.maximum.accumulate(np.where(first_of_run, np.arange(len(h)), 0))]
    dup = ~first_of_run
    removed = order[dup]
    table = pa.table({"id": [ids[i] for i in removed], "duplicate_of": [ids[i] for i in keeper[dup]]})
    rundir.write_table(table.sort_by("id"), "dedup", "duplicates.parquet")
    return table.num_rows
