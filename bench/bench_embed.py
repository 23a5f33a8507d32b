"""The embedders side by side on real documents: documents per CPU-second on one core, and how far the fast
static model (``model2vec``, the default) agrees with MiniLM itself (``minilm``) on what is near what.

Both run in this one process, one thread each, on the same documents, so that the load of a shared machine
hits both sides alike. Speed is documents per CPU-second (this process's CPU time, threads included); the
static model is timed from a fresh encoder (its per-process word memory empty), once more warm, and fresh
again over the documents of at least 750 tokens alone.
Agreement: the adjusted Rand index of k-means partitions (the same k and seed) of the two embeddings, beside
the same index between two k-means seeds on MiniLM alone (what k-means itself varies), and the mean overlap
of each document's ten nearest neighbours (cosine) under the two embeddings.

    python bench/bench_embed.py [--warc W ...] [--texts texts.jsonl] [--limit 1000] [--k 16]

Documents: the pages of ``--warc`` shards (default: the cached Debian-documentation shards under
``bench/.cache``, see ``../shared/tools/debian_doc_warcs.py``) extracted as the pipeline extracts them
(``MathExtractor``), kept in ``bench/.cache/embed-texts-<key>.jsonl``; or ``--texts`` (JSON lines with "text").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the tokenizers' thread pool, before it is first imported
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: documents at least this long are timed apart too (the issue's target is >= 1,000 per second of ~750 tokens)
LONG_TOKENS = 750
DEFAULT_WARCS = [
    "bench/.cache/debdoc-20mb/DEBDOC-00000.warc.gz",
    "bench/.cache/debdoc-climb-320mb/DEBDOC-00001.warc.gz",
]


def documents(warcs: list[str], limit: int) -> list[dict]:
    """(url, text) of up to ``limit`` extracted pages, cached by the shards' names, sizes and the limit."""
    from math_extract import MathExtractor
    from pipelines.eval_data import warc_pages

    key = hashlib.sha256(json.dumps([[w, Path(w).stat().st_size] for w in warcs] + [limit]).encode()).hexdigest()
    cache = REPO / "bench/.cache" / f"embed-texts-{key[:12]}.jsonl"
    if cache.is_file():
        return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    extractor, docs = MathExtractor(), []
    for warc in warcs:
        for url, html in warc_pages(warc):
            result = extractor.extract(html)
            if not result.reason and result.text.strip():
                docs.append({"url": url, "text": result.text})
            if len(docs) >= limit:
                break
        if len(docs) >= limit:
            break
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return docs


def timed(embed, texts: list[str]):
    start = time.process_time()
    vectors = embed(texts)
    return vectors, len(texts) / (time.process_time() - start)


def neighbour_overlap(a, b, k: int = 10) -> float:
    """Mean share of each document's ``k`` nearest neighbours (cosine; unit vectors) found under both."""
    import numpy as np

    def nearest(x):
        sims = x @ x.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1, kind="stable")[:, :k]

    na, nb = nearest(a), nearest(b)
    return float(np.mean([len(set(na[i]) & set(nb[i])) / k for i in range(len(a))]))


def kmeans_labels(x, k: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=seed, n_init=3).fit(x).labels_


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warc", action="append", default=None)
    ap.add_argument("--texts", type=Path)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--k", type=int, default=16, help="k-means clusters for the agreement")
    args = ap.parse_args()

    import numpy as np
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from curation import embedders
    from curation.embed import Embedder
    from curation.tokens import load_counter

    if args.texts:
        docs = [json.loads(line) for line in args.texts.read_text(encoding="utf-8").splitlines()][: args.limit]
    else:
        docs = documents([str(REPO / w) for w in (args.warc or DEFAULT_WARCS)], args.limit)
    texts = [d["text"] for d in docs]
    tokens = load_counter("smollm2")(texts)
    print(
        f"{len(texts)} documents, {np.mean([len(t) for t in texts]):,.0f} characters and "
        f"{np.mean(tokens):,.0f} SmolLM2 tokens each on average (median {np.median(tokens):,.0f})"
    )
    long = [t for t, n in zip(texts, tokens) if n >= LONG_TOKENS]
    rows, vectors = [], {}
    with threadpool_limits(1):
        for name in ("model2vec", "minilm"):
            embedder = Embedder(name)
            start = time.process_time()
            embedder.embed(texts[:1])  # loads (and for model2vec, distils once per machine) the model
            load_s = time.process_time() - start
            embedders.encoder.cache_clear()  # a fresh encoder: the static model's word memory empty
            embedder.embed(["warm-up"])
            vectors[name], cold = timed(embedder.embed, texts)
            _, warm = timed(embedder.embed, texts)
            embedders.encoder.cache_clear()
            embedder.embed(["warm-up"])
            _, cold_long = timed(embedder.embed, long)
            rows.append((name, load_s, cold, warm, cold_long, vectors[name].shape[1]))
        print(
            "\n| embedder | dims | load (CPU s) | docs / CPU-s, first pass | docs / CPU-s, again "
            f"| docs / CPU-s, first pass over the {len(long)} of >= {LONG_TOKENS} tokens |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name, load_s, cold, warm, cold_long, dims in rows:
            print(f"| {name} | {dims} | {load_s:.1f} | {cold:,.0f} | {warm:,.0f} | {cold_long:,.0f} |")
        print(
            f"\nstatic / MiniLM, first pass: {rows[0][2] / rows[1][2]:.0f}x; long documents: {rows[0][4] / rows[1][4]:.0f}x"
        )
        a, b = vectors["model2vec"], vectors["minilm"]
        ari = adjusted_rand_score(kmeans_labels(a, args.k, 0), kmeans_labels(b, args.k, 0))
        floor = adjusted_rand_score(kmeans_labels(b, args.k, 0), kmeans_labels(b, args.k, 1))
        floor_static = adjusted_rand_score(kmeans_labels(a, args.k, 0), kmeans_labels(a, args.k, 1))
    print(f"\n| agreement (k = {args.k}, {len(texts)} documents) | value |")
    print("|---|---:|")
    print(f"| k-means ARI, model2vec vs MiniLM | {ari:.3f} |")
    print(f"| k-means ARI, MiniLM seed 0 vs seed 1 | {floor:.3f} |")
    print(f"| k-means ARI, model2vec seed 0 vs seed 1 | {floor_static:.3f} |")
    print(f"| top-10 neighbour overlap, model2vec vs MiniLM | {neighbour_overlap(a, b):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
