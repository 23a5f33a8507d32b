"""Clusters: a 2-D map of a sample of the document embeddings (PCA, scikit-learn) coloured by cluster, and the
cluster table: size, tokens, quality, kept or pruned, top terms, example URLs.

Reads ``cluster/assignments.parquet`` (one row per embedded document, in embedding order), the embeddings
(``embed/part-NNNNN.npy``), and ``cluster/table.parquet`` (one row per fine k-means cluster) when the run wrote
it, else ``cluster/clusters.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.embed import read_part_embeddings

from .rundata import RunData
from .section import Note, Plot, Section, Table
from .style import cluster_color, figure

#: documents drawn on the map (a seeded sample: enough to see the clusters, cheap to project)
MAP_SAMPLE = 3000


def embedding_map(run: RunData, assignments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """2-D PCA coordinates of a seeded sample of the clustered documents, and the sample's rows in
    ``assignments``; ``None`` when the embeddings are absent or do not hold the assigned rows.

    A document's vector is row ``row`` of ``embed/part-NNNNN.npy`` for its ``part`` (embed writes one array per
    part of the stage it reads, and a stage after it keeps rows one for one)."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(run.seed)
    rows = np.sort(rng.choice(len(assignments), size=min(MAP_SAMPLE, len(assignments)), replace=False))
    if len(rows) < 3:
        return None
    sample = assignments.iloc[rows]
    names = run.rundir.parts(run.documents_stage)
    vectors = []
    for part, group in sample.groupby("part", sort=False):
        name = names[int(part)] if int(part) < len(names) else None
        if name is None or not run.rundir.exists("embed", name.replace(".parquet", ".npy")):
            return None
        X = read_part_embeddings(run.rundir, name)
        if len(X) <= int(group["row"].max()):
            return None
        vectors.append((group.index, X[group["row"].to_numpy()]))
    order = {label: i for i, label in enumerate(sample.index)}
    X = np.zeros((len(sample), vectors[0][1].shape[1]))
    for labels, block in vectors:
        X[[order[label] for label in labels]] = block
    coords = PCA(n_components=2, svd_solver="full").fit_transform(X)
    # PCA's signs are arbitrary across library versions: fix them so the largest coordinate is positive
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    return coords * np.where(signs == 0, 1, signs), rows


def _joined(frame: pd.DataFrame) -> pd.DataFrame:
    """List cells (examples, top terms, fine clusters) as short text."""
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            sep, keep = ("\n", 2) if column == "examples" else (", ", 6)
            frame[column] = frame[column].map(
                lambda v, sep=sep, keep=keep: sep.join(str(x) for x in v[:keep]) if v is not None else ""
            )
    return frame


def cluster_tables(run: RunData) -> list[tuple[str, pd.DataFrame]]:
    """The clusters the search weighs (``clusters.json``: super-clusters where the run merged them), then, when
    the run wrote ``cluster/table.parquet``, one row per fine k-means cluster with its quality and fate."""
    tables = []
    if run.clusters is not None:
        tables.append(
            ("Clusters the search weighs (cluster/clusters.json)", _joined(pd.DataFrame(run.clusters["clusters"])))
        )
    fine = run.table("cluster", "table.parquet")
    if fine is not None:
        tables.append(
            ("Fine k-means clusters: quality, kept or pruned, super-cluster (cluster/table.parquet)", _joined(fine))
        )
    return tables


def clusters_section(run: RunData) -> Section:
    section = Section("clusters", "Clusters: what the embeddings group together")
    assignments = run.table("cluster", "assignments.parquet")
    if assignments is None or run.clusters is None:
        return section.missing("The cluster stage has not finished (no cluster/clusters.json): no clusters to show.")
    n = int(assignments["cluster"].nunique())
    how = f"k-means over their embeddings, seed {run.seed}"
    if "fine_cluster" in assignments:
        pruned = run.table("cluster", "pruned.parquet")
        how = (
            f"{int(assignments['fine_cluster'].nunique())} kept fine k-means clusters over their embeddings "
            f"(seed {run.seed}) merged by Ward linkage; {0 if pruned is None else len(pruned):,} documents "
            "left out in pruned clusters"
        )
    section.add(Note(f"{len(assignments):,} documents of stage {run.documents_stage} in {n} clusters ({how})."))
    mapped = embedding_map(run, assignments)
    if mapped is None:
        section.missing("The embeddings are absent or do not match cluster/assignments.parquet: no map drawn.")
    else:
        coords, rows = mapped
        colour_by = ["cluster", "fine_cluster"] if "fine_cluster" in assignments else ["cluster"]
        fig, axes = figure(4.6 if len(colour_by) == 1 else 4.2, ncols=len(colour_by), width=10.0)
        for ax, column in zip(axes, colour_by):
            labels = assignments[column].to_numpy()[rows]
            for c in np.unique(labels):
                at = labels == c
                ax.scatter(coords[at, 0], coords[at, 1], s=12, color=cluster_color(c), label=str(c), alpha=0.8)
                centre = np.median(coords[at], axis=0)
                ax.annotate(str(c), centre, fontsize=9, weight="bold", ha="center", va="center")
            what = {"cluster": "cluster (what the search weighs)", "fine_cluster": "fine k-means cluster"}[column]
            ax.set_title(f"coloured by {what}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if len(np.unique(labels)) <= 20:
                ax.legend(frameon=False, fontsize=7, markerscale=1.2, title=column, ncols=2, loc="best")
        section.add(Plot(f"{len(rows):,} documents' embeddings on their first two principal components (PCA)", fig))
    for caption, table in cluster_tables(run):
        section.add(Table(caption, table))
    return section
