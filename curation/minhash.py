"""MinHash LSH fuzzy deduplication across shards: signatures per shard, clusters globally.

Why: near-duplicate pages (the same article under another template, a mirror with edited boilerplate)
waste training tokens and skew the mixture; exact hashing misses them. The shape follows datatrove and
NeMo Curator: a shard-parallel step and a global step.

1. :func:`compute_signatures` (one shard, run in parallel by the executor): normalise the text
   (:func:`curation.textnorm.normalise_text`, the exact pass's normal form too), hash every character shingle once with a vectorised 64-bit rolling hash, then
   apply ``num_hashes`` strongly universal hashes ``(a*h + b) mod 2**64 >> 32`` as numpy affine
   transforms and keep the minima (see :meth:`MinHasher.signature` for why not mod a Mersenne prime).
   Each band of ``rows`` minima is folded into one 64-bit band key. Returns a pyarrow table
   (``id, n_chars, signature, band_00 ... band_NN``) that the caller writes to parquet.
2. :func:`find_duplicate_clusters` (global): band by band, sort the band keys of all documents; documents
   sharing a key are candidate pairs. Candidates are verified by exact Jaccard on the shingles of their
   texts (``verify="exact"``, texts read for candidates only; a signature estimate more than 0.15 below
   the threshold skips the exact check) or by the signature estimate. Union-find over verified pairs gives
   clusters; one document per cluster is kept by a deterministic rule (most characters, then first in input order);
   every other member is listed with the document it duplicates. Given parquet paths, only one column of
   one table is read at a time: one band's keys are in memory at a time, plus the signatures of candidate
   documents (the dedup stage passes its signature files this way).

Defaults. 24-character shingles and 260 hashes as in Nemotron-CC-Math (NeMo Curator), but split as
26 bands of 10 rows rather than 20 of 13. The S-curve ``1 - (1 - s**r)**b`` of 20x13 is only 0.68 at
s = 0.8 (its half-way point is 0.79), so a fifth of the pairs just above the 0.8 target would never
become candidates; 26x10 gives 0.95 at 0.8, 0.997 at 0.85 and 0.025 at 0.5. The extra candidates between
0.6 and 0.8 cost an exact check each and are rejected there. Same signature cost, since the number of
hashes is unchanged. ``bench/bench_dedup.py`` measures the default on a planted set, and 20x13 with
``--bands 20 --rows 13`` (recall 0.946 against 0.989 there, both with precision 1.0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from .settings import Fraction, Seed, Settings
from .textnorm import normalise_text

_MASK32 = np.uint64(0xFFFFFFFF)
_POLY = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime: odd, spreads code points across the word
_SCHEMA_KEY = b"curation.minhash"

#: bounds of the settings (see ``MinHashSettings``); each far above what any published pipeline uses
MAX_SHINGLE_SIZE = 1024
MAX_HASHES = 1024
MAX_BUCKET_PAIRS = 256
MAX_VERIFY_BATCH_DOCS = 200_000
MAX_BLOCK_SIZE = 16_384


class MinHashSettings(Settings):
    """MinHash LSH settings (the dedup stage's ``DedupSettings`` adds which passes run). The upper bounds keep a
    worker's memory bounded: a signature holds ``num_hashes`` values per document, a block ``block_size`` x
    ``num_hashes``, a bucket up to ``max_bucket_pairs`` documents all its pairs, a verification batch
    ``verify_batch_docs`` texts."""

    shingle_size: int = Field(
        24, ge=1, le=MAX_SHINGLE_SIZE, description="characters per shingle (Nemotron-CC-Math: 24)"
    )
    num_hashes: int = Field(260, ge=1, le=MAX_HASHES, description="MinHash permutations; must equal bands * rows")
    bands: int = Field(26, ge=1, le=MAX_HASHES)
    rows: int = Field(10, ge=1, le=MAX_HASHES, description="hashes per band")
    seed: Seed = Field(42, description="seed of the permutations: the same on every worker")
    jaccard_threshold: Fraction = Field(0.8, description="Jaccard at which two documents are duplicates")
    verify: Literal["exact", "signature", "none"] = Field(
        "exact",
        description="how LSH candidates are confirmed: exact Jaccard on the shingles of their texts (needs "
        "texts=...), the signature estimate, or not at all",
    )
    max_bucket_pairs: int = Field(
        32,
        ge=2,
        le=MAX_BUCKET_PAIRS,
        description="buckets up to this size yield all their pairs, larger ones a star from one member",
    )
    verify_batch_docs: int = Field(
        50000, ge=1, le=MAX_VERIFY_BATCH_DOCS, description="texts held at once during exact verification"
    )
    keep: Literal["longest", "smallest_id"] = "longest"
    block_size: int = Field(
        256, ge=1, le=MAX_BLOCK_SIZE, description="shingles per numpy block (bounds per-doc memory)"
    )

    @model_validator(mode="after")
    def _bands_times_rows(self) -> MinHashSettings:
        if self.bands * self.rows != self.num_hashes:
            raise ValueError(
                f"dedup: bands ({self.bands}) x rows ({self.rows}) = {self.bands * self.rows} "
                f"does not match num_hashes ({self.num_hashes})"
            )
        return self

    def fingerprint(self) -> str:
        """What a signature table depends on; tables from different settings cannot be compared."""
        return (
            f"shingle={self.shingle_size};hashes={self.num_hashes};bands={self.bands};rows={self.rows};seed={self.seed}"
        )


# --------------------------------------------------------------------------------------- hashing helpers


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array: makes every output bit depend on every input bit."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def window_hashes(values: np.ndarray, width: int) -> np.ndarray:
    """64-bit hash of every window of ``width`` consecutive values (uint64 array), vectorised.

    The polynomial ``sum(v[i+j] * P**(width-1-j))`` mod 2**64, built by doubling (windows of 1, 2, 4, ...
    combined along the binary digits of ``width``: about 2*log2(width) numpy passes instead of
    ``width``), then ``width`` is added and splitmix64 applied. Used for character shingles here and word
    n-grams in :mod:`curation.decontaminate`.
    """
    n = values.shape[0] - width + 1
    if n <= 0 or width <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc, acc_width = None, 0
        block, block_width, block_power = values.astype(np.uint64), 1, _POLY  # block_power = P**block_width
        remaining = width
        while True:
            if remaining & 1:
                if acc is None:
                    acc, acc_width = block.copy(), block_width
                else:
                    size = values.shape[0] - (acc_width + block_width) + 1
                    acc = acc[:size] * block_power + block[acc_width : acc_width + size]
                    acc_width += block_width
            remaining >>= 1
            if not remaining:
                break
            size = values.shape[0] - 2 * block_width + 1
            block = block[:size] * block_power + block[block_width : block_width + size]
            block_width *= 2
            block_power = block_power * block_power
        assert acc is not None  # width >= 1 has a set bit
        acc = acc[:n] + np.uint64(width)
        return _mix64(acc)


def shingle_hashes(text: str, shingle_size: int) -> np.ndarray:
    """32-bit hashes of the character shingles of the normalised text, in text order (uint64 array).

    Repeated shingles are not removed: a minimum over a multiset equals the minimum over its set, and
    ``np.unique`` would cost more than the repeats save.

    A text shorter than one shingle is one shingle (so two identical short pages still match); an empty
    text has none. 32-bit keys are what multiply-add-shift hashing is strongly universal for.
    """
    return _shingles(normalise_text(text), shingle_size)


def _shingles(norm: str, shingle_size: int) -> np.ndarray:
    """:func:`shingle_hashes` of an already normalised text."""
    if not norm:
        return np.empty(0, dtype=np.uint64)
    codepoints = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    hashes = window_hashes(codepoints, min(shingle_size, codepoints.shape[0]))
    return hashes >> np.uint64(32)


def permutations(num_hashes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``a`` (odd) and ``b`` parameters of the hash functions, uniform 64-bit, from ``seed``."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 64, size=num_hashes, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 1 << 64, size=num_hashes, dtype=np.uint64, endpoint=False)
    return a, b


class MinHasher:
    """Signatures and band keys for one set of settings; holds the permutation parameters (settings only)."""

    def __init__(self, settings: MinHashSettings | None = None):
        self.settings = settings or MinHashSettings()
        self.a, self.b = permutations(self.settings.num_hashes, self.settings.seed)
        rng = np.random.default_rng(self.settings.seed + 1)
        self.band_seeds = rng.integers(1, np.iinfo(np.int64).max, size=self.settings.bands, dtype=np.int64).astype(
            np.uint64
        )

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """uint32 MinHash signature (``num_hashes``) of a non-empty array of 32-bit shingle hashes.

        Hash function i is ``((a_i * h + b_i) mod 2**64) >> 32``: Dietzfelbinger's multiply-add-shift,
        strongly universal for 32-bit keys and exact in uint64 arithmetic. (An affine map mod the Mersenne
        prime 2**61 - 1 needs a 122-bit product that numpy lacks: datatrove and datasketch let
        ``a * h`` overflow, so they do not compute it mod p either; with ``a`` kept below 2**32 to avoid
        the overflow, ``a * h mod p`` wraps at most 8 times and is nearly monotone in ``h``, which ruins
        the minima.) The shift is monotone, so it is applied once to the minima: two numpy passes per
        block (multiply, add) and a min, with preallocated buffers.
        """
        out = np.full(self.settings.num_hashes, np.iinfo(np.uint64).max, dtype=np.uint64)
        step = self.settings.block_size
        buf = np.empty((min(step, shingles.shape[0]), self.settings.num_hashes), dtype=np.uint64)
        for start in range(0, shingles.shape[0], step):
            block = shingles[start : start + step, None]
            x = buf[: block.shape[0]]
            np.multiply(block, self.a, out=x)
            x += self.b
            np.minimum(out, x.min(axis=0), out=out)
        return (out >> np.uint64(32)).astype(np.uint32)

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(n_docs, bands) uint64 keys: each band's ``rows`` values folded with a per-band seed."""
        n, rows = signatures.shape[0], self.settings.rows
        keys = np.empty((n, self.settings.bands), dtype=np.uint64)
        sig64 = signatures.astype(np.uint64)
        with np.errstate(over="ignore"):
            for band in range(self.settings.bands):
                k = np.full(n, self.band_seeds[band], dtype=np.uint64)
                for j in range(band * rows, (band + 1) * rows):
                    k = _mix64(k * _POLY + sig64[:, j])
                keys[:, band] = k
        return keys


# --------------------------------------------------------------------------------------- per-shard step


def band_column(band: int) -> str:
    return f"band_{band:02d}"


def compute_signatures(docs: Iterable, settings: MinHashSettings | None = None) -> tuple[pa.Table, Counter]:
    """Shard-level work: MinHash signatures and LSH band keys of every document with text.

    Returns ``(table, notes)``. ``table`` columns: ``id`` (string), ``n_chars`` (int64, normalised length,
    used by the keep rule), ``signature`` (fixed-size list of uint32), ``band_00``.. (uint64). The schema
    metadata records the settings so the global step refuses tables made with other settings. Documents
    without text or id are not signed (so never removed as duplicates) and counted in ``notes``
    (``minhash:empty_text``, ``minhash:missing_id``); ``minhash:shorter_than_shingle`` counts documents
    signed as one short shingle.
    """
    settings = settings or MinHashSettings()
    hasher = MinHasher(settings)
    ids: list[str] = []
    n_chars: list[int] = []
    sigs: list[np.ndarray] = []
    notes: Counter = Counter()
    for doc in docs:
        if not doc.id:
            notes["minhash:missing_id"] += 1
            continue
        norm = normalise_text(doc.text or "")
        shingles = _shingles(norm, settings.shingle_size)
        if shingles.size == 0:
            notes["minhash:empty_text"] += 1
            continue
        length = len(norm)
        if length < settings.shingle_size:
            notes["minhash:shorter_than_shingle"] += 1
        ids.append(str(doc.id))
        n_chars.append(length)
        sigs.append(hasher.signature(shingles))
        notes["minhash:signed"] += 1
    matrix = np.vstack(sigs) if sigs else np.empty((0, settings.num_hashes), dtype=np.uint32)
    return signatures_to_table(ids, n_chars, matrix, hasher, settings), notes


def signatures_to_table(ids, n_chars, matrix: np.ndarray, hasher: MinHasher, settings: MinHashSettings) -> pa.Table:
    """Assemble the signature table (see :func:`compute_signatures`) from its columns."""
    keys = hasher.band_keys(matrix)
    columns = {
        "id": pa.array(ids, type=pa.string()),
        "n_chars": pa.array(n_chars, type=pa.int64()),
        "signature": pa.FixedSizeListArray.from_arrays(
            pa.array(matrix.reshape(-1), type=pa.uint32()), settings.num_hashes
        ),
    }
    for band in range(settings.bands):
        columns[band_column(band)] = pa.array(keys[:, band], type=pa.uint64())
    table = pa.table(columns)
    return table.replace_schema_metadata({_SCHEMA_KEY: settings.fingerprint().encode()})


# --------------------------------------------------------------------------------------- global step


class UnionFind:
    """Union-find over 0..n-1 with path halving; the smaller index becomes the root (deterministic)."""

    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return int(x)

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            lo, hi = (rx, ry) if rx < ry else (ry, rx)
            self.parent[hi] = lo


@dataclass
class DuplicateClusters:
    """Result of the global step.

    ``members``: one row per document in a cluster of two or more: ``id``, ``cluster`` (the kept
    document's id), ``kept`` (bool), ``duplicate_of`` (kept id, null for the kept one), ``cluster_size``,
    ``similarity`` (signature Jaccard estimate with the kept document). ``pairs``: verified candidate
    pairs ``id_a, id_b, similarity``. ``stats``: documents, candidate and verified pairs, clusters, removed.
    """

    members: pa.Table
    pairs: pa.Table
    stats: Counter = field(default_factory=Counter)

    @property
    def removed(self) -> pa.Table:
        """Rows of the documents to drop, each with the document it duplicates."""
        return self.members.filter(pc.invert(self.members["kept"]))


class _Source:
    """One signature table, in memory or as a parquet path (local, or inside ``filesystem``), read a column at
    a time; rows whose id is in ``exclude`` (removed by an earlier pass) are left out of every column."""

    def __init__(
        self, item: pa.Table | str | Path, settings: MinHashSettings, filesystem=None, exclude: pa.Array | None = None
    ):
        self.name = str(item) if not isinstance(item, pa.Table) else "<in-memory table>"
        self.table = item if isinstance(item, pa.Table) else None
        self.filesystem = filesystem
        if self.table is None:
            self.path = str(item)
            exists = filesystem.exists(self.path) if filesystem is not None else Path(self.path).exists()
            if not exists:
                raise FileNotFoundError(f"minhash: signature table {self.path} does not exist")
            schema = pq.read_schema(self.path, filesystem=filesystem)
        else:
            schema = self.table.schema
        found = (schema.metadata or {}).get(_SCHEMA_KEY, b"").decode()
        if found != settings.fingerprint():
            raise ValueError(
                f"minhash: signature table {self.name} was made with settings {found or 'unknown'!r}, "
                f"this run uses {settings.fingerprint()!r}; recompute its signatures"
            )
        self.keep = None if exclude is None else pc.invert(pc.is_in(self._read("id"), exclude))

    def _read(self, name: str) -> pa.ChunkedArray:
        if self.table is not None:
            return self.table[name]
        return pq.read_table(self.path, columns=[name], filesystem=self.filesystem)[name]

    def column(self, name: str) -> pa.ChunkedArray:
        column = self._read(name)
        return column if self.keep is None else column.filter(self.keep)


def _pair_codes(first: np.ndarray, other: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(first, other), np.maximum(first, other)
    return (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)


def bucket_pairs(keys: np.ndarray, max_bucket_pairs: int) -> tuple[np.ndarray, int]:
    """Candidate pairs (as codes ``lo << 32 | hi``) of documents sharing a key in one band.

    A bucket of k <= ``max_bucket_pairs`` documents yields all k(k-1)/2 pairs (vectorised per bucket size),
    so a pair is found even when a third document shares the bucket; a larger bucket (boilerplate pages)
    yields a star from its first member, keeping the work linear. Returns (codes, number of large buckets).
    """
    n = keys.shape[0]
    if n < 2:
        return np.empty(0, dtype=np.uint64), 0
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    sizes = np.diff(np.append(starts, n))
    codes = []
    for size in np.unique(sizes[sizes > 1]):
        run_starts = starts[sizes == size]
        if size <= max_bucket_pairs:
            i, j = np.triu_indices(size, 1)
            members = order[run_starts[:, None] + np.arange(size)[None, :]]
            codes.append(_pair_codes(members[:, i].ravel(), members[:, j].ravel()))
        else:
            heads = np.repeat(order[run_starts], size - 1)
            rest = order[(run_starts[:, None] + np.arange(1, size)[None, :]).ravel()]
            codes.append(_pair_codes(heads, rest))
    large = int((sizes > max_bucket_pairs).sum())
    return (np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.uint64)), large


TextSource = Mapping[str, str] | Callable[[list[str]], Mapping[str, str]]


def parquet_texts(
    paths: Iterable[str | Path], id_column: str = "id", text_column: str = "text", filesystem=None
) -> Callable:
    """A text source for exact verification: ``lookup(ids) -> {id: text}`` scanning parquet files.

    Only the two columns are read, batch by batch, and only the requested texts are kept. ``filesystem``
    (e.g. a run directory's fsspec filesystem) is where ``paths`` live when they are not local files:
    paths inside an fsspec filesystem carry no protocol, so without it they would be looked up locally.
    """
    paths = [str(p) for p in paths]

    def lookup(ids: list[str]) -> dict[str, str]:
        import pyarrow.dataset as ds

        wanted = pa.array(sorted(set(ids)), type=pa.string())
        found: dict[str, str] = {}
        dataset = ds.dataset(paths, format="parquet", filesystem=filesystem)
        for batch in dataset.to_batches(columns=[id_column, text_column], filter=ds.field(id_column).isin(wanted)):
            found.update(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
        return found

    return lookup


def exact_jaccard(pairs: list[tuple[str, str]], texts: TextSource, settings: MinHashSettings) -> tuple[np.ndarray, int]:
    """Exact Jaccard of each ``(id_a, id_b)`` on the shingles of their texts, in batches of documents.

    Returns (similarities, number of pairs whose text was missing); a pair with a missing text gets NaN.
    """
    sims = np.full(len(pairs), np.nan)
    missing = 0
    batch: list[int] = []
    batch_ids: set[str] = set()

    def flush() -> None:
        nonlocal missing
        needed = sorted(batch_ids)
        found = texts(needed) if callable(texts) else {i: texts[i] for i in needed if i in texts}
        shingles = {i: np.unique(shingle_hashes(found[i], settings.shingle_size)) for i in needed if i in found}
        for k in batch:
            a, b = pairs[k]
            if a not in shingles or b not in shingles:
                missing += 1
                continue
            inter = np.intersect1d(shingles[a], shingles[b], assume_unique=True).size
            sims[k] = inter / (shingles[a].size + shingles[b].size - inter)
        batch.clear()
        batch_ids.clear()

    for k, (a, b) in enumerate(pairs):
        batch.append(k)
        batch_ids.update((a, b))
        if len(batch_ids) >= settings.verify_batch_docs:
            flush()
    if batch:
        flush()
    return sims, missing


#: Candidates whose signature estimate is this far below the threshold skip exact verification: with 260
#: hashes the estimate's standard deviation is at most 0.031, so 0.15 is more than four deviations.
PREFILTER_MARGIN = 0.15


def find_duplicate_clusters(
    signature_tables: Sequence[pa.Table | str | Path],
    settings: MinHashSettings | None = None,
    texts: TextSource | None = None,
    filesystem=None,
    exclude: Iterable[str] = (),
) -> DuplicateClusters:
    """Global step: candidate pairs band by band, verified, union-find clusters, keep rule.

    ``signature_tables``: the tables from :func:`compute_signatures`, or paths of the parquet files the
    caller wrote them to (read one column at a time), inside the fsspec ``filesystem`` when given.
    ``exclude``: ids to leave out (documents an earlier pass already removed). ``texts``: ``{id: text}`` or a
    callable ``ids -> {id: text}`` (e.g. :func:`parquet_texts`), required when ``settings.verify == "exact"``.
    Raises ``ValueError``/``FileNotFoundError`` naming the table or setting at fault before any work.
    """
    settings = settings or MinHashSettings()
    if settings.verify == "exact" and texts is None:
        raise ValueError(
            "dedup.verify is 'exact' but no texts were given: pass texts= (e.g. parquet_texts(paths)) "
            "or set dedup.verify to 'signature'"
        )
    exclude = set(exclude)
    excluded = pa.array(sorted(exclude), pa.string()) if exclude else None
    sources = [_Source(item, settings, filesystem, excluded) for item in signature_tables]
    stats: Counter = Counter()
    ids = pa.chunked_array([c for s in sources for c in s.column("id").chunks], type=pa.string()).combine_chunks()
    n = len(ids)
    if n >= 1 << 32:
        raise ValueError("minhash: more than 2**32 documents in one global step; split by hash range")
    stats["documents"] = n

    # 1. Candidate pairs, one band in memory at a time.
    candidates: list[np.ndarray] = []
    for band in range(settings.bands):
        keys = np.concatenate([s.column(band_column(band)).to_numpy() for s in sources] or [np.empty(0, np.uint64)])
        codes, large = bucket_pairs(keys, settings.max_bucket_pairs)
        stats["large_buckets"] += large
        candidates.append(codes)
        del keys
    codes = np.unique(np.concatenate(candidates)) if candidates else np.empty(0, dtype=np.uint64)
    del candidates
    first = (codes >> np.uint64(32)).astype(np.int64)
    second = (codes & _MASK32).astype(np.int64)
    stats["candidate_pairs"] = int(codes.size)

    # 2. Signatures of candidate documents only, table by table.
    involved = np.unique(np.concatenate([first, second]))
    local = np.full(n, -1, dtype=np.int64)
    local[involved] = np.arange(involved.size)
    sig_rows = np.empty((involved.size, settings.num_hashes), dtype=np.uint32)
    offset = 0
    for s in sources:
        col = s.column("signature").combine_chunks()
        size = len(col)
        mine = involved[(involved >= offset) & (involved < offset + size)]
        if mine.size:
            flat = col.flatten().to_numpy().reshape(size, settings.num_hashes)
            sig_rows[local[mine]] = flat[mine - offset]
        offset += size
        del col

    def estimate(x: np.ndarray, y: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Signature agreement of pairs, a chunk at a time (two gathered rows per pair are 2 KB)."""
        out = np.empty(x.size)
        for start in range(0, x.size, chunk):
            a, b = local[x[start : start + chunk]], local[y[start : start + chunk]]
            out[start : start + chunk] = (sig_rows[a] == sig_rows[b]).mean(axis=1)
        return out

    # 3. Verification.
    sims = estimate(first, second) if codes.size else np.empty(0)
    if settings.verify == "exact":
        check = np.flatnonzero(sims >= settings.jaccard_threshold - PREFILTER_MARGIN)
        stats["prefiltered_pairs"] = int(codes.size - check.size)
        pairs = list(zip(ids.take(first[check]).to_pylist(), ids.take(second[check]).to_pylist()))
        assert texts is not None  # checked on entry
        exact, missing = exact_jaccard(pairs, texts, settings)
        stats["missing_text_pairs"] = missing  # verified on the signature estimate instead, counted
        sims_checked = np.where(np.isnan(exact), sims[check], exact)
        sims = np.zeros(codes.size)
        sims[check] = sims_checked
    ok = sims >= settings.jaccard_threshold if settings.verify != "none" else np.ones(sims.size, bool)
    first, second, sims = first[ok], second[ok], sims[ok]
    stats["verified_pairs"] = int(first.size)
    stats["rejected_pairs"] = int(codes.size - first.size)

    # 4. Clusters and the keep rule.
    uf = UnionFind(n)
    for x, y in zip(first.tolist(), second.tolist()):
        uf.union(x, y)
    in_pairs = np.unique(np.concatenate([first, second]))
    roots = np.array([uf.find(int(i)) for i in in_pairs], dtype=np.int64)
    n_chars = np.concatenate([s.column("n_chars").to_numpy() for s in sources] or [np.empty(0, np.int64)])

    rows: dict[str, list] = {
        "id": [],
        "cluster": [],
        "kept": [],
        "duplicate_of": [],
        "cluster_size": [],
        "similarity": [],
    }
    order = np.argsort(roots, kind="stable")
    boundaries = np.flatnonzero(np.diff(roots[order])) + 1
    for group in np.split(in_pairs[order], boundaries) if in_pairs.size else []:
        group_ids = ids.take(group).to_pylist()
        if settings.keep == "longest":
            # ties go to input order, not to the id: ids are made from the shard's path, which a copy elsewhere changes
            best = min(range(len(group)), key=lambda k: (-int(n_chars[group[k]]), int(group[k])))
        else:
            best = min(range(len(group)), key=lambda k: group_ids[k])
        keeper = group[best]
        sims_to_keeper = estimate(group, np.full(group.size, keeper))
        for k in range(len(group)):
            rows["id"].append(group_ids[k])
            rows["cluster"].append(group_ids[best])
            rows["kept"].append(k == best)
            rows["duplicate_of"].append(None if k == best else group_ids[best])
            rows["cluster_size"].append(len(group))
            rows["similarity"].append(float(sims_to_keeper[k]))
        stats["clusters"] += 1
        stats["removed"] += len(group) - 1
    members_table = pa.table(rows, schema=MEMBERS_SCHEMA).sort_by([("cluster", "ascending"), ("id", "ascending")])
    pairs_table = pa.table(
        {
            "id_a": ids.take(first),
            "id_b": ids.take(second),
            "similarity": pa.array(sims, type=pa.float64()),
        }
    )
    return DuplicateClusters(members=members_table, pairs=pairs_table, stats=stats)


MEMBERS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("cluster", pa.string()),
        ("kept", pa.bool_()),
        ("duplicate_of", pa.string()),
        ("cluster_size", pa.int64()),
        ("similarity", pa.float64()),
    ]
)


def lsh_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that a pair at this Jaccard shares at least one band: ``1 - (1 - s**r)**b``."""
    return 1.0 - math.pow(1.0 - math.pow(similarity, rows), bands)
