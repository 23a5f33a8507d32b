"""Benchmark of MinHash LSH dedup: quality on a planted set, signature speed, memory of the global step.

Why: the dedup targets are measured, never asserted in tests. Three tables:

1. Quality. Real pages (Debian's python-django-doc HTML packed as WARC by ../shared/tools/debian_doc_warcs.py,
   text extracted with trafilatura) plus near-duplicates made by known edits (changed boilerplate, 5-20 %
   of words edited, paragraphs reordered, exact copies, combinations). Truth is brute-force Jaccard on the
   same 24-character shingles over *all* pairs (sparse matrix product), so natural near-duplicates among the
   real pages count too. Reported: recall of pairs at Jaccard >= 0.8, precision of reported pairs.
2. Speed. Signatures per second on one core: this module, datatrove's MinhashDedupSignature (its shingling
   and signature functions, no disk IO), and datasketch on the same documents.
3. Memory. Peak RSS of ``find_duplicate_clusters`` over parquet signature tables holding as many documents
   as 1 GB of this HTML (and more), each run in a fresh process.

    python bench/bench_dedup.py --warcs /tmp/debdoc4 [--seed 0] [--memory-docs 17700 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.minhash import (
    MinHasher,
    MinHashSettings,
    compute_signatures,
    find_duplicate_clusters,
    lsh_probability,
    shingle_hashes,
    signatures_to_table,
)
from curation.textnorm import normalise_text

from _common import peak_rss_mb

THRESHOLD = 0.8


# ------------------------------------------------------------------------------------------ data


def load_pages(warc_dir: Path, cache: Path) -> tuple[list[dict], float]:
    """(pages, MB of HTML): every HTML response of the WARCs, extracted with trafilatura (cached)."""
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["pages"], data["html_mb"]
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    pages, html_bytes = [], 0
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "response":
                    continue
                html = record.content_stream().read()
                html_bytes += len(html)
                text = trafilatura.extract(html.decode("utf-8", errors="replace"))
                if text and len(text) > 200:
                    pages.append(
                        {
                            "id": f"page-{len(pages):04d}",
                            "url": record.rec_headers.get_header("WARC-Target-URI"),
                            "text": text,
                        }
                    )
    cache.write_text(json.dumps({"pages": pages, "html_mb": html_bytes / 1e6}))
    return pages, html_bytes / 1e6


HEADER = "Django documentation mirror | Home | Download | Community | Search the docs | Log in"
FOOTER = "Copyright the Django Software Foundation and contributors. Mirrored for offline reading. Privacy policy. Contact us."


def edit_words(text: str, fraction: float, rng: random.Random) -> str:
    """Edit ``fraction`` of the words: substitute with another word of the page, delete, or insert."""
    words = text.split(" ")
    vocab = words[:]
    for i in sorted(rng.sample(range(len(words)), max(1, int(len(words) * fraction))), reverse=True):
        op = rng.random()
        if op < 0.5:
            words[i] = rng.choice(vocab)
        elif op < 0.75:
            del words[i]
        else:
            words.insert(i, rng.choice(vocab))
    return " ".join(words)


def reorder_paragraphs(text: str, rng: random.Random) -> str:
    """Shuffle paragraphs: runs of lines of at least 300 characters (extracted lines are often code)."""
    paragraphs, current = [], []
    for line in text.split("\n"):
        current.append(line)
        if sum(len(x) for x in current) >= 300:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    rng.shuffle(paragraphs)
    return "\n".join(paragraphs)


EDITS = {
    "exact copy": lambda t, r: t,
    "boilerplate changed": lambda t, r: HEADER + "\n" + "\n".join(t.split("\n")[1:-1]) + "\n" + FOOTER,
    "paragraphs reordered": reorder_paragraphs,
    "5% words edited": lambda t, r: edit_words(t, 0.05, r),
    "10% words edited": lambda t, r: edit_words(t, 0.10, r),
    "15% words edited": lambda t, r: edit_words(t, 0.15, r),
    "20% words edited": lambda t, r: edit_words(t, 0.20, r),
    "boilerplate + 2% words": lambda t, r: HEADER + "\n" + edit_words(t, 0.02, r) + "\n" + FOOTER,
    "reordered + 2% words": lambda t, r: reorder_paragraphs(edit_words(t, 0.02, r), r),
}


def plant(pages: list[dict], seed: int) -> tuple[list, dict[str, tuple[str, str]]]:
    """Documents = real pages + one or two edited variants of most pages; returns provenance of variants."""
    from datatrove.data import Document

    rng = random.Random(seed)
    docs = [Document(text=p["text"], id=p["id"], metadata={"url": p["url"]}) for p in pages]
    provenance = {}
    kinds = list(EDITS)
    for i, page in enumerate(pages):
        for copy in range(1 if i % 4 else 2):
            kind = kinds[(i + copy * 5) % len(kinds)]
            vid = f"{page['id']}-v{copy}"
            docs.append(Document(text=EDITS[kind](page["text"], rng), id=vid))
            provenance[vid] = (page["id"], kind)
    rng.shuffle(docs)
    return docs, provenance


def brute_force_jaccard(docs, shingle_size: int, floor: float = 0.5) -> dict[tuple[str, str], float]:
    """Exact Jaccard of every pair on the same shingles (a sparse matrix product), pairs >= ``floor``."""
    from scipy import sparse

    sets = [np.unique(shingle_hashes(d.text, shingle_size)) for d in docs]
    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    indptr = np.cumsum([0] + [s.size for s in sets])
    matrix = sparse.csr_matrix((np.ones(indptr[-1], dtype=np.int32), inverse, indptr), shape=(len(docs), vocab.size))
    inter = (matrix @ matrix.T).tocoo()
    sizes = np.array([s.size for s in sets])
    out = {}
    for i, j, k in zip(inter.row, inter.col, inter.data):
        if i < j:
            jac = k / (sizes[i] + sizes[j] - k)
            if jac >= floor:
                out[tuple(sorted((docs[i].id, docs[j].id)))] = float(jac)
    return out


# ------------------------------------------------------------------------------------------ tables


def quality_tables(docs, provenance, config: MinHashSettings, n_shards: int) -> None:
    truth_all = brute_force_jaccard(docs, config.shingle_size)
    truth = {p for p, j in truth_all.items() if j >= THRESHOLD}
    shards = [docs[i::n_shards] for i in range(n_shards)]
    start = time.perf_counter()
    tables = [compute_signatures(shard, config)[0] for shard in shards]
    sig_s = time.perf_counter() - start
    start = time.perf_counter()
    result = find_duplicate_clusters(tables, config, texts={d.id: d.text for d in docs})
    global_s = time.perf_counter() - start

    def exact(a: str, b: str) -> float:
        return truth_all.get(tuple(sorted((a, b))), 0.0)  # below the 0.5 floor counts as 0

    edges = {tuple(sorted(p)) for p in zip(result.pairs["id_a"].to_pylist(), result.pairs["id_b"].to_pylist())}
    cluster_of = dict(zip(result.members["id"].to_pylist(), result.members["cluster"].to_pylist()))
    groups = defaultdict(list)
    for doc_id, cluster in cluster_of.items():
        groups[cluster].append(doc_id)
    cluster_pairs = {tuple(sorted((a, b))) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1 :]}
    removed = list(zip(result.removed["id"].to_pylist(), result.removed["duplicate_of"].to_pylist()))

    print(
        f"\n## Dedup quality: {len(docs)} documents ({len(docs) - len(provenance)} real pages, {len(provenance)} planted"
        f" variants) in {n_shards} shards; {config.bands} bands x {config.rows} rows, {config.shingle_size}-char shingles,"
        f" verification: {config.verify}, Jaccard >= {config.jaccard_threshold}"
    )
    print(f"brute force: {len(truth)} pairs at Jaccard >= {THRESHOLD} (of {len(docs) * (len(docs) - 1) // 2} pairs)")
    print(
        f"LSH: {result.stats['candidate_pairs']} candidate pairs, {result.stats['verified_pairs']} verified, "
        f"{result.stats['clusters']} clusters, {result.stats['removed']} documents removed; "
        f"signatures {sig_s:.1f} s, global step {global_s:.2f} s\n"
    )
    print("| measure | value | target |\n|---|---|---|")
    tp_edges = len(edges & truth)
    print(
        f"| recall, verified LSH pairs vs brute-force pairs >= {THRESHOLD} | {tp_edges / max(len(truth), 1):.4f} ({tp_edges}/{len(truth)}) | >= 0.95 |"
    )
    print(
        f"| recall, brute-force pairs >= {THRESHOLD} ending in one cluster | {len(cluster_pairs & truth) / max(len(truth), 1):.4f} | >= 0.95 |"
    )
    print(
        f"| precision, verified LSH pairs with Jaccard >= {THRESHOLD} | {tp_edges / max(len(edges), 1):.4f} ({tp_edges}/{len(edges)}) | >= 0.99 |"
    )
    good = sum(exact(a, b) >= THRESHOLD for a, b in removed)
    print(
        f"| precision, removed docs with Jaccard >= {THRESHOLD} to the doc kept | {good / max(len(removed), 1):.4f} ({good}/{len(removed)}) | |"
    )
    in_cluster = len(cluster_pairs & truth)
    print(
        f"| precision, all same-cluster pairs with Jaccard >= {THRESHOLD} | {in_cluster / max(len(cluster_pairs), 1):.4f} ({in_cluster}/{len(cluster_pairs)}) | |"
    )
    fp = sorted(exact(*p) for p in edges - truth)
    if fp:
        print(f"\nreported pairs below {THRESHOLD}: true Jaccard {', '.join(f'{j:.3f}' for j in fp[:20])}")

    print(
        "\n| true Jaccard | brute-force pairs | found (verified pair) | recall | LSH probability 1-(1-s^r)^b at bin start |"
    )
    print("|---|---|---|---|---|")
    bins = [
        (0.5, 0.6),
        (0.6, 0.7),
        (0.7, 0.75),
        (0.75, 0.8),
        (0.8, 0.85),
        (0.85, 0.9),
        (0.9, 0.95),
        (0.95, 1.0),
        (1.0, 1.01),
    ]
    for lo, hi in bins:
        pairs = [p for p, j in truth_all.items() if lo <= j < hi]
        found = sum(p in edges for p in pairs)
        prob = lsh_probability(lo, config.bands, config.rows)
        label = "1.0 (exact)" if lo == 1.0 else f"[{lo:.2f}, {hi:.2f})"
        print(f"| {label} | {len(pairs)} | {found} | {found / max(len(pairs), 1):.3f} | {prob:.3f} |")

    print("\n| planted edit | variants | median Jaccard to original | share >= 0.8 | in the original's cluster |")
    print("|---|---|---|---|---|")
    by_kind = defaultdict(list)
    for vid, (base, kind) in provenance.items():
        by_kind[kind].append(
            (exact(vid, base), cluster_of.get(vid) is not None and cluster_of.get(vid) == cluster_of.get(base))
        )
    for kind in EDITS:
        rows = by_kind[kind]
        print(
            f"| {kind} | {len(rows)} | {statistics.median(j for j, _ in rows):.3f} | "
            f"{sum(j >= THRESHOLD for j, _ in rows) / len(rows):.2f} | {sum(c for _, c in rows) / len(rows):.2f} |"
        )


def speed_table(docs, config: MinHashSettings, sample: int) -> None:
    import xxhash
    from datasketch import MinHash
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    subset = docs[:sample]
    mb = sum(len(d.text.encode()) for d in subset) / 1e6

    def timed(fn) -> float:
        start = time.process_time()  # CPU time of this process: per core, whatever else the machine runs
        fn()
        return time.process_time() - start

    rows = []
    ours = timed(lambda: compute_signatures(subset, config))
    rows.append(("curation.minhash (this module)", "24-char", config.num_hashes, ours))

    for label, mh_config, fast in [
        ("datatrove MinhashDedupSignature, defaults, xxhash", MinhashConfig(), True),
        (
            "datatrove MinhashDedupSignature, defaults, sha1",
            MinhashConfig(hash_config=HashConfig(hash_fc="sha1")),
            False,
        ),
        ("datatrove, 20 x 13 hashes, xxhash", MinhashConfig(num_buckets=20, hashes_per_bucket=13), True),
    ]:
        step = MinhashDedupSignature("/tmp/bench-dedup-datatrove", config=mh_config)
        if fast:  # datatrove passes str to xxhash, which xxhash 4 refuses: encode, as datatrove intends
            step._hash_func = lambda s: xxhash.xxh64_intdigest(s.encode())
        step.get_signature(step.get_shingles(subset[0].text))  # load the word tokenizer outside the timing
        seconds = timed(lambda step=step: [step.get_signature(step.get_shingles(d.text)) for d in subset])
        rows.append((label, f"{mh_config.n_grams}-word", mh_config.num_buckets * mh_config.hashes_per_bucket, seconds))

    def sketch():
        for d in subset:
            norm = normalise_text(d.text)
            m = MinHash(num_perm=config.num_hashes, seed=config.seed)
            m.update_batch(
                [norm[i : i + config.shingle_size].encode() for i in range(max(1, len(norm) - config.shingle_size + 1))]
            )

    rows.append(("datasketch MinHash.update_batch", "24-char", config.num_hashes, timed(sketch)))
    print(
        f"\n## Signature speed, one core (CPU seconds of this process), {len(subset)} documents, {mb:.1f} MB of text\n"
    )
    print(
        "| implementation | shingles | hashes | docs/s | MB/s | vs datatrove defaults (xxhash) |\n|---|---|---|---|---|---|"
    )
    base = rows[1][3]
    for label, shingles, hashes, seconds in rows:
        print(
            f"| {label} | {shingles} | {hashes} | {len(subset) / seconds:.0f} | {mb / seconds:.2f} | {base / seconds:.1f}x |"
        )


# ------------------------------------------------------------------------------------------ memory


def synthetic_tables(docs, config: MinHashSettings, n_docs: int, out: Path, n_shards: int, seed: int) -> list[Path]:
    """Parquet signature tables of ``n_docs`` documents made from the real signatures.

    Each synthetic document is a real signature with half of its values redrawn (so it is nobody's
    near-duplicate), except every tenth, which keeps 95 % of them (a near-duplicate of a real page):
    the global step sees realistic band collisions at the scale of ``n_docs``.
    """
    hasher = MinHasher(config)
    base_table, _ = compute_signatures(docs, config)
    base = base_table["signature"].combine_chunks().flatten().to_numpy().reshape(-1, config.num_hashes)
    rng = np.random.default_rng(seed)
    paths = []
    per_shard = -(-n_docs // n_shards)
    for shard in range(n_shards):
        lo, hi = shard * per_shard, min(n_docs, (shard + 1) * per_shard)
        idx = np.arange(lo, hi)
        sigs = base[idx % base.shape[0]].copy()
        rate = np.where(idx % 10 == 0, 0.05, 0.5)[:, None]
        redraw = (rng.random(sigs.shape) < rate) & (idx >= base.shape[0])[:, None]
        sigs[redraw] = rng.integers(0, 1 << 32, size=int(redraw.sum()), dtype=np.uint64).astype(np.uint32)
        table = signatures_to_table([f"doc-{i:09d}" for i in idx], [1000] * idx.size, sigs, hasher, config)
        path = out / f"sig-{n_docs}-{shard:03d}.parquet"
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        paths.append(path)
    return paths


def memory_child(paths: list[str]) -> None:
    """Run in a fresh process: the global step over ``paths``; prints peak RSS before and after, in MB.

    Synthetic documents have no text, so candidates are verified on signatures here; exact verification
    adds at most ``verify_batch_docs`` texts and their shingle sets on top.
    """
    config = MinHashSettings(verify="signature")
    before = peak_rss_mb()
    start = time.perf_counter()
    result = find_duplicate_clusters(paths, config)
    seconds = time.perf_counter() - start
    after = peak_rss_mb()
    print(json.dumps({"before_mb": before, "peak_mb": after, "seconds": seconds, **result.stats}))


def memory_table(docs, config: MinHashSettings, sizes: list[int], html_kb_per_doc: float, seed: int) -> None:
    out = Path("/tmp/bench-dedup-memory")
    out.mkdir(exist_ok=True)
    print(
        "\n## Memory of the global step (fresh process per size; parquet tables of 16 shards; signature verification)\n"
    )
    print(
        "| documents | as HTML | parquet on disk | RSS after imports | peak RSS | growth | candidate pairs | clusters | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        paths = synthetic_tables(docs, config, n, out, 16, seed)
        disk = sum(p.stat().st_size for p in paths) / 1e6
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", *map(str, paths)], check=False, capture_output=True, text=True
        )
        if proc.returncode:
            print(proc.stderr)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {n} | {n * html_kb_per_doc / 1e6:.2f} GB | {disk:.0f} MB | {r['before_mb']:.0f} MB | {r['peak_mb']:.0f} MB | "
            f"{r['peak_mb'] - r['before_mb']:.0f} MB | {r['candidate_pairs']} | {r['clusters']} | {r['seconds']:.1f} |"
        )
        for p in paths:
            p.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warcs", type=Path, default=Path("/tmp/debdoc4"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench-dedup-pages.json"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--bands", type=int, default=None)
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--verify", default=None, choices=["exact", "signature", "none"])
    parser.add_argument("--speed-docs", type=int, default=150)
    parser.add_argument("--memory-docs", type=int, nargs="*", default=[17700, 100000])
    parser.add_argument("--skip", nargs="*", default=[], choices=["quality", "speed", "memory"])
    parser.add_argument("--memory-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if not args.warcs.exists():
        sys.exit(
            f"{args.warcs} not found: python ../shared/tools/debian_doc_warcs.py --out {args.warcs} "
            "--packages python-django-doc --max-mb 20"
        )
    pages, html_mb = load_pages(args.warcs, args.cache)
    overrides = {k: v for k, v in (("bands", args.bands), ("rows", args.rows), ("verify", args.verify)) if v}
    if "bands" in overrides or "rows" in overrides:
        overrides["num_hashes"] = overrides.get("bands", MinHashSettings().bands) * overrides.get(
            "rows", MinHashSettings().rows
        )
    config = MinHashSettings(**overrides)
    docs, provenance = plant(pages, args.seed)
    print(
        f"{len(pages)} real pages with text from {html_mb:.1f} MB of HTML ({html_mb * 1000 / len(pages):.0f} KB per page)"
    )
    if "quality" not in args.skip:
        quality_tables(docs, provenance, config, args.shards)
    if "speed" not in args.skip:
        speed_table(docs, config, args.speed_docs)
    if "memory" not in args.skip:
        memory_table(docs, config, args.memory_docs, html_mb * 1000 / len(pages), args.seed)


if __name__ == "__main__":
    main()
