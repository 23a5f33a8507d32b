"""The document as it travels between stages: one parquet row, stable column names.

Stages exchange datatrove ``Document`` objects in memory and parquet tables on disk. This module is the
only place that knows how one becomes the other, so a column added by a later stage is added here once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import pyarrow as pa

# Columns the stages fill, in the order they are written; a column joins when a stage fills it. Missing values
# (a stage that did not run, e.g. ``quality_score`` without the classify stage) are null.
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("warc_date", pa.string()),
        ("warc_file", pa.string()),
        ("warc_offset", pa.int64()),
        ("text", pa.string()),
        ("extractor", pa.string()),
        ("has_math", pa.bool_()),
        ("math_formats", pa.list_(pa.string())),
        ("n_formulas", pa.int32()),
        ("language", pa.string()),
        ("language_score", pa.float32()),
        ("math_score", pa.float32()),
        ("quality_score", pa.float32()),
        ("dup_cluster", pa.string()),
        ("contamination", pa.string()),
        ("cleaned_text", pa.string()),
        ("llm_status", pa.string()),
        ("n_tokens", pa.int32()),
        ("cluster", pa.int32()),
    ]
)
COLUMNS = SCHEMA.names
METADATA_COLUMNS = [c for c in COLUMNS if c not in ("id", "text")]


def doc_id(record_id: str | None, url: str | None, shard: str, offset: int) -> str:
    """Document id: a hash of the WARC record id, the URL, the shard and the record's offset in it.

    One id per record occurrence, identical on every rerun: a record read twice (the same shard under two
    names, or a crawler that wrote it twice) gives two ids, so dedup keeps one copy and drops the other instead
    of dropping every document that shares an id. Record ids alone are not enough: some WARC writers leave them
    out, and the same record can sit in two shards."""
    key = f"{record_id or ''}\x00{url or ''}\x00{shard}\x00{offset}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=12).hexdigest()


def to_table(docs: Iterable) -> pa.Table:
    """datatrove Documents -> a table with the full schema (metadata keys outside the schema are not kept)."""
    rows: dict[str, list] = {c: [] for c in COLUMNS}
    for d in docs:
        rows["id"].append(d.id)
        rows["text"].append(d.text)
        for c in METADATA_COLUMNS:
            rows[c].append(d.metadata.get(c))
    return pa.Table.from_pydict(rows, schema=SCHEMA)


def from_table(table: pa.Table) -> Iterator:
    """A table with (a subset of) the schema -> datatrove Documents, metadata holding every non-null column."""
    from datatrove.data import Document

    names = [c for c in table.column_names if c not in ("id", "text")]
    for row in table.to_pylist():
        yield Document(text=row["text"], id=row["id"], metadata={c: row[c] for c in names if row[c] is not None})


def batched_tables(docs: Iterable, rows: int = 1000) -> Iterator[pa.Table]:
    """Documents -> tables of at most ``rows`` rows (memory stays bounded whatever the shard size)."""
    from .step import batches

    for batch in batches(docs, rows):
        yield to_table(batch)
