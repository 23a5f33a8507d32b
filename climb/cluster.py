"""The cluster stage: k-means over the document embeddings (scikit-learn), the clusters CLIMB searches a
mixture over.

Writes ``cluster/assignments.parquet`` (one row per document: id, part, row, n_tokens, cluster) and, last,
``cluster/clusters.json`` (per cluster: documents, tokens, token share, example URLs nearest the centroid).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.embed import load_embeddings
from curation.executor import Executor
from curation.rundir import RunDir
from curation.stage import Stage


class ClusterStage(Stage):
    """One global task on a worker: read the embeddings of the source's parts, fit k-means, write both files."""

    name = "cluster"
    outputs = ("assignments.parquet", "clusters.json")

    def __init__(self, source: str, n_clusters: int, seed: int):
        super().__init__(source)
        self.n_clusters, self.seed = n_clusters, seed

    def done(self, rundir: RunDir) -> bool:
        return rundir.exists(self.name, "clusters.json")

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        executor.submit_call(cluster_documents, rundir, self.source_stage, self.n_clusters, self.seed)
        return []


def cluster_documents(rundir: RunDir, source: str, n_clusters: int, seed: int, n_init: int = 4) -> dict:
    from sklearn.cluster import KMeans

    parts = rundir.parts(source)
    tables = [rundir.read_table(source, p, columns=["id", "url", "n_tokens"]) for p in parts]
    X = load_embeddings(rundir, parts).astype(np.float64)
    n_docs = len(X)
    if n_docs == 0:
        raise ValueError(f"no documents reached the climb stage (stage '{source}' is empty): nothing to cluster")
    k = min(n_clusters, n_docs)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # OpenMP partial sums in another order could move a centre, whatever the seed
        km = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(X)
    labels = km.labels_.astype(np.int32)
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    urls = [u for t in tables for u in t.column("url").to_pylist()]
    tokens = np.concatenate([t.column("n_tokens").to_numpy(zero_copy_only=False) for t in tables]).astype(np.int64)
    part_of = np.concatenate([np.full(t.num_rows, i, np.int32) for i, t in enumerate(tables)])
    row_of = np.concatenate([np.arange(t.num_rows, dtype=np.int32) for t in tables])
    rundir.write_table(
        pa.table({"id": ids, "part": part_of, "row": row_of, "n_tokens": tokens, "cluster": labels}),
        ClusterStage.name,
        "assignments.parquet",
    )
    distances = km.transform(X)[np.arange(n_docs), labels]
    total = int(tokens.sum())
    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        nearest = members[np.argsort(distances[members], kind="stable")[:3]]
        c_tokens = int(tokens[members].sum())
        clusters.append(
            {
                "cluster": c,
                "documents": len(members),
                "tokens": c_tokens,
                "token_share": round(c_tokens / total, 6) if total else 0.0,
                "examples": [urls[i] for i in nearest],
            }
        )
    summary = {
        "n_clusters": k,
        "n_documents": n_docs,
        "tokens": total,
        "seed": seed,
        "inertia": round(float(km.inertia_), 4),
        "clusters": clusters,
    }
    rundir.write_json(summary, ClusterStage.name, "clusters.json")
    return summary
