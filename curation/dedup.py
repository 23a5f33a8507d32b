"""The dedup stage: the same page, the same text, and nearly the same text, across all shards.

Three passes, each resumable on its own:

1. per shard (``dedup/signatures/``): for every document its URL and date, a hash of its normalised text
   (``curation.textnorm``), and its MinHash signature with LSH band keys (``curation.minhash``);
2. globally (``dedup/duplicates.parquet``): URL duplicates first (the same page captured twice; the latest
   capture is kept), then exact text duplicates among the rest (first in (shard, row) order kept), then
   MinHash LSH clusters among the rest (one document per cluster kept by ``dedup.keep``). Every removed
   document is listed with the document it duplicates and the pass that removed it;
3. per shard (``dedup/part-*.parquet``): the survivors, kept members of a near-duplicate cluster labelled with
   ``dup_cluster``; the rest counted under ``url_duplicate``, ``exact_duplicate`` or ``near_duplicate``.

Every rule depends only on the documents and their input order, so the result is the same on one machine or
many.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from .executor import Executor
from .minhash import MinHashSettings, compute_signatures, find_duplicate_clusters, parquet_texts
from .rundir import RunDir, part_name
from .stage import ParquetDocReader, ShardStage
from .step import Filter, Step
from .textnorm import normalise_text
from .urldedup import UrlDedupSettings, find_url_duplicates

HASHES_SCHEMA = pa.schema([("id", pa.string()), ("url", pa.string()), ("warc_date", pa.string()), ("hash", pa.int64())])
DUPLICATES_SCHEMA = pa.schema(
    [("id", pa.string()), ("duplicate_of", pa.string()), ("reason", pa.string()), ("similarity", pa.float64())]
)


class DedupSettings(MinHashSettings):
    """The ``dedup`` section: MinHash LSH settings, the URL pass's, and which passes run."""

    url: UrlDedupSettings = Field(default_factory=UrlDedupSettings)
    exact: bool = Field(True, description="exact duplicates on normalised text")
    fuzzy: bool = Field(True, description="near duplicates with MinHash LSH")


def text_hash(text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(normalise_text(text).encode("utf-8", "surrogatepass"), digest_size=8).digest(),
        "little",
        signed=True,
    )


class DropDuplicates(Filter):
    """Drops documents listed in ``duplicates`` under their pass's reason; labels kept cluster members."""

    name = "drop-duplicates"

    def __init__(self, reasons: dict[str, str], clusters: dict[str, str]):
        super().__init__()
        self.reasons, self.clusters = reasons, clusters

    def filter(self, doc: Document) -> bool | str:
        reason = self.reasons.get(doc.id)
        if reason:
            return reason
        if doc.id in self.clusters:
            doc.metadata["dup_cluster"] = self.clusters[doc.id]
        return True


class DedupStage(ShardStage):
    """Signatures per part, the global decision once, then the survivors per part (see the module doc)."""

    name = "dedup"
    outputs = ("signatures/", "duplicates.parquet", "clusters.parquet", *ShardStage.outputs)

    def __init__(self, source: str, settings: DedupSettings):
        super().__init__(source)
        self.settings = settings

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        parts = self.inputs(rundir)
        tasks = {part_name(i, ""): {"part": p} for i, p in enumerate(parts)}
        executor.run(rundir, "dedup/signatures", self.signature_task, tasks, desc="dedup: signatures")
        if not rundir.exists("dedup", "duplicates.parquet"):  # written last by the global pass
            executor.submit_call(self.find_duplicates, rundir, parts)
        return super().run(executor, rundir)

    def signature_task(self, rundir: RunDir, part: str) -> dict:
        docs = list(ParquetDocReader(rundir, self.source_stage, part, columns=["id", "text", "url", "warc_date"])())
        if self.settings.fuzzy:
            table, notes = compute_signatures(docs, self.settings)
            signed = set(table.column("id").to_pylist())
            unsigned = sum(d.id not in signed for d in docs)
        else:
            table, notes, unsigned = pa.table({"id": pa.array([], pa.string())}), Counter(), 0
        # every document gets a row: the signed ones in the MinHash columns, all in id/url/date/hash
        base = pa.table(
            {
                "id": [d.id for d in docs],
                "url": [d.metadata.get("url") for d in docs],
                "warc_date": [d.metadata.get("warc_date") for d in docs],
                "hash": np.array([text_hash(d.text) for d in docs], dtype=np.int64),
            },
            schema=HASHES_SCHEMA,
        )
        rundir.write_table(base, "dedup", "signatures", part)
        if self.settings.fuzzy:
            rundir.write_table(table, "dedup", "signatures", part.replace(".parquet", ".minhash.parquet"))
        return {"in": len(docs), "out": len(docs), "notes": dict(notes), "unsigned": unsigned}

    def find_duplicates(self, rundir: RunDir, parts: list[str]) -> dict:
        """The global pass: URL, then exact, then near duplicates; writes ``dedup/duplicates.parquet``."""
        base = pa.concat_tables(
            [HASHES_SCHEMA.empty_table()] + [rundir.read_table("dedup", "signatures", p) for p in parts]
        )
        rows: list[tuple] = []
        gone: set[str] = set()
        if self.settings.url.enabled:
            records = zip(base["id"].to_pylist(), base["url"].to_pylist(), base["warc_date"].to_pylist())
            for removed, kept in sorted(find_url_duplicates(records, self.settings.url).items()):
                rows.append((removed, kept, "url_duplicate", 1.0))
                gone.add(removed)
        if self.settings.exact:
            for removed, kept in exact_duplicates(base, exclude=gone):
                rows.append((removed, kept, "exact_duplicate", 1.0))
                gone.add(removed)
        stats = {}
        if self.settings.fuzzy:
            tables = [rundir.path("dedup", "signatures", p.replace(".parquet", ".minhash.parquet")) for p in parts]
            texts = parquet_texts([rundir.path(self.source_stage, p) for p in parts], filesystem=rundir.fs)
            clusters = find_duplicate_clusters(
                tables,
                self.settings,
                filesystem=rundir.fs,
                exclude=gone,
                texts=texts if self.settings.verify == "exact" else None,
            )
            removed = clusters.removed
            rows.extend(
                zip(
                    removed["id"].to_pylist(),
                    removed["duplicate_of"].to_pylist(),
                    ["near_duplicate"] * removed.num_rows,
                    removed["similarity"].to_pylist(),
                )
            )
            members = clusters.members.filter(clusters.members["kept"])
            rundir.write_table(
                pa.table({"id": members["id"], "dup_cluster": members["cluster"]}), "dedup", "clusters.parquet"
            )
            stats = dict(clusters.stats)
        table = pa.Table.from_pylist([dict(zip(DUPLICATES_SCHEMA.names, r)) for r in rows], schema=DUPLICATES_SCHEMA)
        rundir.write_table(table.sort_by("id"), "dedup", "duplicates.parquet")
        return stats

    def steps(self, rundir: RunDir) -> list[Step]:
        dups = rundir.read_table("dedup", "duplicates.parquet", columns=["id", "reason"])
        clusters = {}
        if rundir.exists("dedup", "clusters.parquet"):
            c = rundir.read_table("dedup", "clusters.parquet")
            clusters = dict(zip(c["id"].to_pylist(), c["dup_cluster"].to_pylist()))
        return [DropDuplicates(dict(zip(dups["id"].to_pylist(), dups["reason"].to_pylist())), clusters)]


def exact_duplicates(base: pa.Table, exclude: set[str]) -> list[tuple[str, str]]:
    """(removed, kept) for every document whose text hash was seen earlier in input order."""
    ids = base["id"].to_pylist()
    h = base["hash"].to_numpy()
    alive = np.array([i not in exclude for i in ids], dtype=bool)
    idx = np.flatnonzero(alive)
    order = idx[np.argsort(h[idx], kind="stable")]  # stable: within a hash, input order is kept
    out, start = [], 0
    for j in range(1, len(order)):
        if h[order[j]] != h[order[j - 1]]:
            start = j
        else:
            out.append((ids[order[j]], ids[order[start]]))
    return sorted(out)
