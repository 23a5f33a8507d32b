"""The cluster stage, as CLIMB builds its clusters: k-means into many fine clusters, the low-quality ones
pruned, the rest merged by Ward linkage into the super-clusters the search weighs.

1. **K-means** (scikit-learn, one thread, seeded) over the embed stage's vectors, with
   ``k = min(climb.k_init, documents // climb.min_cluster_docs)`` (at least 1): CLIMB starts from 1,000 clusters
   of 400M documents; a small run gets fewer, so that a cluster's mean quality is a mean over enough documents.
2. **Pruning**: a fine cluster whose mean document quality is below ``climb.prune_below`` is left out of the
   mixture. Quality, on a 0-1 scale: classify's ``quality_score`` / 5 when that stage ran; otherwise the larger
   of two confidences the filter stage already stored per document, ``language_score`` (the language
   identifier's, high on fluent prose) and ``math_score`` (the maths scorer's), so that menus, link lists,
   tables of numbers and garbled text score low while neither prose nor formula-dense maths does. A threshold
   that would prune every cluster is an error naming the range seen.
3. **Ward merging** of the kept centroids, each weighted by its document count: merging clusters *a* and *b*
   costs ``n_a n_b / (n_a + n_b) |c_a - c_b|^2``, the growth of the within-cluster sum of squares had the
   documents themselves been merged. (scikit-learn's ``AgglomerativeClustering`` takes no weights; unweighted,
   a 3-document cluster would pull as hard as a 3,000-document one.) Merging stops at
   ``min(climb.super_clusters, kept // 2)`` super-clusters (at least 1; half the kept clusters, so that small
   runs merge too), or, when ``climb.merge_threshold`` is set, once the cheapest merge costs more than it.

Outputs (``cluster/``): ``assignments.parquet`` (kept documents: id, part, row, n_tokens, ``cluster`` = the
super-cluster 0..S-1 the search and mixture work on, ``fine_cluster``); ``pruned.parquet`` (documents of pruned
clusters: id, part, row, n_tokens, fine_cluster, quality); ``table.parquet`` (one row per fine cluster:
documents, tokens, mean_quality, kept, super_cluster (-1 when pruned), top_terms (TF-IDF over a sample of the
cluster's text), examples (the three URLs nearest the centroid)); and, last, ``clusters.json`` (per
super-cluster: documents, tokens, token share, examples, mean_quality, fine_clusters, top_terms). Everything is
a function of the vectors, the documents and the seed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation.embed import load_embeddings
from curation.executor import Executor
from curation.rundir import RunDir
from curation.settings import Fraction, Settings
from curation.stage import Stage

#: k-means centres at most; CLIMB starts from 1000 (K_init) and merges them down
MAX_CLUSTERS = 4096
#: annotation scale of classify's ``quality_score`` (0-5), brought to 0-1 like the fallback signal
QUALITY_SCORE_MAX = 5.0
#: documents per fine cluster whose text (first ``TERM_CHARS`` characters) feeds its top terms
TERM_DOCS, TERM_CHARS = 64, 2000
TOP_TERMS = 8


class ClusterSettings(Settings):
    """The clustering settings; they sit directly in the run config's ``climb`` section."""

    k_init: int = Field(256, ge=1, le=MAX_CLUSTERS, description="k-means clusters at most (the paper: 1000)")
    min_cluster_docs: int = Field(10, ge=1, le=10**9, description="k is at most documents / this")
    prune_below: Fraction = Field(0.3, description="fine clusters of lower mean quality (0-1) are pruned")
    super_clusters: int = Field(20, ge=1, le=MAX_CLUSTERS, description="super-clusters after Ward merging, at most")
    merge_threshold: float | None = Field(
        None, gt=0, description="Ward merge cost at which merging stops (instead of the super_clusters count)"
    )


class ClusterStage(Stage):
    """One global task on a worker: read the vectors and the columns it needs, cluster, write the four files."""

    name = "cluster"
    outputs = ("assignments.parquet", "pruned.parquet", "table.parquet", "clusters.json")

    def __init__(self, source: str, settings: ClusterSettings, seed: int):
        super().__init__(source)
        self.settings, self.seed = settings, seed

    def done(self, rundir: RunDir) -> bool:
        return rundir.exists(self.name, "clusters.json")

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        executor.submit_call(cluster_documents, rundir, self.source_stage, self.settings, self.seed)
        return []


def fine_k(n_docs: int, settings: ClusterSettings) -> int:
    return max(1, min(settings.k_init, n_docs // settings.min_cluster_docs))


def document_quality(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """Per-document quality on 0-1 and the name of the signal it came from (module docstring, step 2)."""
    score = columns["quality_score"]
    if len(score) and not np.isnan(score).any():
        return np.clip(score / QUALITY_SCORE_MAX, 0.0, 1.0), "quality_score / 5"
    language = np.nan_to_num(columns["language_score"], nan=0.0)
    maths = np.nan_to_num(columns["math_score"], nan=0.0)
    return np.clip(np.maximum(language, maths), 0.0, 1.0), "max(language_score, math_score)"


def ward_merge(centroids: np.ndarray, weights: np.ndarray, n_groups: int, threshold: float | None = None):
    """Weighted Ward agglomeration of ``centroids`` (each standing for ``weights`` documents).

    Merges the pair whose merge least increases the within-group sum of squares, until ``n_groups`` remain or,
    when ``threshold`` is given, until the cheapest merge costs more than it (and at least one group remains).
    Ties go to the lowest indices, so the result is a function of the input. Returns one label per centroid,
    groups numbered by their lowest member.
    """
    n = len(centroids)
    c = np.asarray(centroids, dtype=np.float64).copy()
    w = np.asarray(weights, dtype=np.float64).copy()
    members = [[i] for i in range(n)]  # a merged group's members, under its lower index
    alive = np.ones(n, bool)

    def costs_to(i: int) -> np.ndarray:
        d2 = ((c - c[i]) ** 2).sum(axis=1)
        out = w * w[i] / (w + w[i]) * d2
        out[~alive] = np.inf
        out[i] = np.inf
        return out

    cost = np.full((n, n), np.inf)
    for i in range(n):
        cost[i] = costs_to(i)
    # each row's minimum, kept up to date, so a merge costs O(n d) rather than an O(n^2) search of ``cost``;
    # the first row holding the smallest minimum, then its first column, is the first minimum of ``cost``
    row_min = cost.min(axis=1)
    groups = n
    while groups > 1:
        i = int(np.argmin(row_min))
        j = int(np.argmin(cost[i]))
        if threshold is None and groups <= n_groups:
            break
        if threshold is not None and cost[i, j] > threshold:
            break
        i, j = min(i, j), max(i, j)
        # rows whose minimum lay in column i or j must be searched again; the others can only gain column i
        stale = alive & ((cost[:, i] == row_min) | (cost[:, j] == row_min))
        c[i] = (w[i] * c[i] + w[j] * c[j]) / (w[i] + w[j])
        w[i] += w[j]
        members[i] += members[j]
        alive[j] = False
        cost[j, :] = np.inf
        cost[:, j] = np.inf
        cost[i] = costs_to(i)
        cost[:, i] = cost[i]
        row_min = np.minimum(row_min, cost[:, i])
        row_min[stale] = cost[stale].min(axis=1)
        row_min[j] = np.inf
        groups -= 1
    labels = np.empty(n, np.int32)
    for g, m in enumerate(sorted((sorted(m) for m, a in zip(members, alive) if a), key=lambda m: m[0])):
        labels[m] = g
    return labels


def super_count(kept: int, settings: ClusterSettings) -> int:
    return max(1, min(settings.super_clusters, kept // 2))


def top_terms(texts: list[str], n: int = TOP_TERMS) -> list[list[str]]:
    """The ``n`` terms of highest TF-IDF weight in each text (one text per cluster), weighted against the others."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(t.strip() for t in texts):
        return [[] for _ in texts]
    vectorizer = TfidfVectorizer(
        stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w-]{2,}\b", sublinear_tf=True, max_features=50_000
    )
    try:
        weights = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # nothing but stop words and digits
        return [[] for _ in texts]
    vocab = vectorizer.get_feature_names_out()
    out = []
    # row by row over the sparse matrix: a dense one is clusters x 50,000 terms of float64 (100 MB at 256)
    for start, end in zip(weights.indptr[:-1], weights.indptr[1:]):
        terms, values = weights.indices[start:end], weights.data[start:end]
        order = np.lexsort((vocab[terms], -values))[:n]  # by weight, then alphabetically: ties cannot reorder
        out.append([str(vocab[terms[i]]) for i in order if values[i] > 0])
    return out


def cluster_documents(rundir: RunDir, source: str, settings: ClusterSettings, seed: int, n_init: int = 3) -> dict:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    parts = rundir.parts(source)
    wanted = ["id", "url", "n_tokens", "quality_score", "language_score", "math_score"]
    tables = [rundir.read_table(source, p, columns=wanted) for p in parts]
    X = load_embeddings(rundir, parts, [t.num_rows for t in tables]).astype(np.float64)
    n_docs = len(X)
    if n_docs == 0:
        raise ValueError(f"no documents reached the climb stage (stage '{source}' is empty): nothing to cluster")
    col = {name: _column(tables, name) for name in wanted}
    tokens = col["n_tokens"].astype(np.int64)
    quality, signal = document_quality(col)
    part_of = np.concatenate([np.full(t.num_rows, i, np.int32) for i, t in enumerate(tables)])
    row_of = np.concatenate([np.arange(t.num_rows, dtype=np.int32) for t in tables])

    k = fine_k(n_docs, settings)
    with threadpool_limits(1):  # OpenMP partial sums in another order could move a centre, whatever the seed
        km = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(X)
    fine = km.labels_.astype(np.int32)
    sizes = np.bincount(fine, minlength=k)
    mean_quality = np.bincount(fine, weights=quality, minlength=k) / np.maximum(sizes, 1)
    kept = (mean_quality >= settings.prune_below) & (sizes > 0)
    if not kept.any():
        raise ValueError(
            f"climb.prune_below: {settings.prune_below} prunes all {k} clusters: their mean quality "
            f"({signal}) ranges {mean_quality[sizes > 0].min():.3f} .. {mean_quality[sizes > 0].max():.3f}; "
            "set it below the highest"
        )
    kept_ids = np.flatnonzero(kept)
    centres = km.cluster_centers_
    super_of_kept = ward_merge(
        centres[kept_ids], sizes[kept_ids], super_count(len(kept_ids), settings), settings.merge_threshold
    )
    super_of = np.full(k, -1, np.int32)
    super_of[kept_ids] = super_of_kept
    doc_super = super_of[fine]
    keep_doc = doc_super >= 0
    ids = col["id"]

    def rows(mask: np.ndarray, **extra: np.ndarray) -> pa.Table:
        columns = {"id": ids[mask].tolist(), "part": part_of[mask], "row": row_of[mask], "n_tokens": tokens[mask]}
        return pa.table({**columns, **{name: values[mask] for name, values in extra.items()}})

    rundir.write_table(rows(keep_doc, cluster=doc_super, fine_cluster=fine), ClusterStage.name, "assignments.parquet")
    rundir.write_table(
        rows(~keep_doc, fine_cluster=fine, quality=quality.astype(np.float32)), ClusterStage.name, "pruned.parquet"
    )

    fine_distance = km.transform(X)[np.arange(n_docs), fine]
    urls = col["url"]
    fine_members = [np.flatnonzero(fine == c) for c in range(k)]
    fine_examples = [[urls[i] for i in m[np.argsort(fine_distance[m], kind="stable")[:3]]] for m in fine_members]
    n_super = int(super_of_kept.max()) + 1
    super_members = [np.flatnonzero(doc_super == s) for s in range(n_super)]
    super_centres = np.stack([X[m].mean(axis=0) for m in super_members])
    super_examples = []
    for s, m in enumerate(super_members):
        d = ((X[m] - super_centres[s]) ** 2).sum(axis=1)
        super_examples.append([urls[i] for i in m[np.argsort(d, kind="stable")[:3]]])

    term_texts = _term_texts(rundir, source, parts, fine_members, fine_distance, part_of, row_of)
    fine_terms = top_terms(term_texts)
    super_terms = top_terms([" ".join(term_texts[c] for c in kept_ids[super_of_kept == s]) for s in range(n_super)])
    fine_tokens = np.bincount(fine, weights=tokens, minlength=k).astype(np.int64)
    rundir.write_table(
        pa.table(
            {
                "fine_cluster": np.arange(k, dtype=np.int32),
                "documents": sizes.astype(np.int64),
                "tokens": fine_tokens,
                "mean_quality": np.round(mean_quality, 4),
                "kept": kept,
                "super_cluster": super_of,
                "top_terms": pa.array(fine_terms, pa.list_(pa.string())),
                "examples": pa.array(fine_examples, pa.list_(pa.string())),
            }
        ),
        ClusterStage.name,
        "table.parquet",
    )
    total = int(tokens[keep_doc].sum())
    clusters = []
    for s, m in enumerate(super_members):
        s_tokens = int(tokens[m].sum())
        clusters.append(
            {
                "cluster": s,
                "documents": len(m),
                "tokens": s_tokens,
                "token_share": round(s_tokens / total, 6) if total else 0.0,
                "examples": super_examples[s],
                "mean_quality": round(float(quality[m].mean()), 4),
                "fine_clusters": [int(c) for c in kept_ids[super_of_kept == s]],
                "top_terms": super_terms[s],
            }
        )
    summary = {
        "n_clusters": n_super,
        "n_documents": int(keep_doc.sum()),
        "tokens": total,
        "seed": seed,
        "inertia": round(float(km.inertia_), 4),
        "k_init": k,
        "quality_signal": signal,
        "prune_below": settings.prune_below,
        "pruned_clusters": int(k - len(kept_ids)),
        "pruned_documents": int((~keep_doc).sum()),
        "pruned_tokens": int(tokens[~keep_doc].sum()),
        "clusters": clusters,
    }
    rundir.write_json(summary, ClusterStage.name, "clusters.json")
    return summary


def _column(tables: list[pa.Table], name: str) -> np.ndarray:
    """One column over all parts: numbers as float64 with NaN for nulls, strings as an object array."""
    chunks = [t.column(name) for t in tables]
    if pa.types.is_string(chunks[0].type):
        return np.array([v for c in chunks for v in c.to_pylist()], dtype=object)
    return np.concatenate([c.to_numpy(zero_copy_only=False).astype(np.float64) for c in chunks])


def _term_texts(rundir, source, parts, fine_members, distance, part_of, row_of) -> list[str]:
    """Per fine cluster, the text of its ``TERM_DOCS`` documents nearest the centre (``TERM_CHARS`` each),
    read one part at a time so that the whole collection's text is never in memory."""
    chosen: dict[int, list[tuple[int, int]]] = {}  # part -> [(row, cluster)]
    for c, m in enumerate(fine_members):
        for i in m[np.argsort(distance[m], kind="stable")[:TERM_DOCS]]:
            chosen.setdefault(int(part_of[i]), []).append((int(row_of[i]), c))
    pieces: list[list[str]] = [[] for _ in fine_members]
    for p, picks in sorted(chosen.items()):
        picks.sort()
        rows = pa.array([r for r, _ in picks], pa.int64())
        texts = rundir.read_table(source, parts[p], columns=["text"]).column("text").take(rows).to_pylist()
        for (_, c), text in zip(picks, texts):
            pieces[c].append((text or "")[:TERM_CHARS])
    return [" ".join(p) for p in pieces]
