"""Mixture: what was written. Tokens per cluster in the mixture beside what the cluster holds, how many times
its documents are repeated (epochs), and sample documents of each cluster as they appear in the mixture.

Reads ``mixture/manifest.json`` and the mixture parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rundata import RunData
from .section import Documents, Note, Plot, Section, Table, shorten
from .style import cluster_color, figure


def mixture_table(manifest: dict) -> pd.DataFrame:
    frame = pd.DataFrame(manifest["clusters"])
    total = max(int(manifest["tokens"]), 1)
    frame["share of mixture"] = (frame["tokens_in_mixture"] / total).round(4)
    return frame.rename(columns={"tokens_available": "tokens in cluster", "tokens_in_mixture": "tokens in mixture"})[
        ["cluster", "weight", "tokens in cluster", "tokens in mixture", "share of mixture", "epochs"]
    ]


def sample_documents(run: RunData, per_cluster: int) -> dict[int, pd.DataFrame]:
    """``per_cluster`` distinct documents of each cluster from the mixture parts, drawn with the run's seed."""
    rows = run.documents("mixture", ["id", "url", "text", "n_tokens", "cluster"])
    if rows is None or not len(rows):
        return {}
    unique = rows.drop_duplicates("id").sort_values("id", kind="stable")
    copies = rows["id"].value_counts()
    rng = np.random.default_rng(run.seed)
    out = {}
    for cluster, group in unique.groupby("cluster", sort=True):
        take = np.sort(rng.choice(len(group), size=min(per_cluster, len(group)), replace=False))
        picked = group.iloc[take].copy()
        picked["copies"] = picked["id"].map(copies)
        out[int(cluster)] = picked
    return out


def mixture_section(run: RunData, per_cluster: int = 1) -> Section:
    section = Section("mixture", "Mixture: what would be trained on")
    manifest = run.manifest
    if manifest is None:
        return section.missing("The mixture stage has not finished (no mixture/manifest.json): no mixture to show.")
    table = mixture_table(manifest)
    max_epochs = run.max_epochs
    section.add(
        Note(
            f"{manifest['documents']:,} rows ({manifest['unique_documents']:,} distinct documents), "
            f"{manifest['tokens']:,} tokens for a budget of {manifest['token_budget']:,}, in "
            f"{len(manifest['files'])} file(s); the most repeated cluster is seen {table['epochs'].max():.2f} "
            f"times (limit {max_epochs:g})."
        )
    )
    fig, (tok_ax, ep_ax) = figure(3.4, ncols=2)
    x = np.arange(len(table))
    colours = [cluster_color(c) for c in table["cluster"]]
    tok_ax.bar(x - 0.2, table["tokens in cluster"], 0.4, color="#dddddd", label="in the cluster")
    tok_ax.bar(x + 0.2, table["tokens in mixture"], 0.4, color=colours, label="in the mixture")
    tok_ax.set_xticks(x, [str(c) for c in table["cluster"]])
    tok_ax.set_xlabel("cluster")
    tok_ax.set_title("tokens per cluster")
    tok_ax.legend(frameon=False, fontsize=8)
    tok_ax.ticklabel_format(axis="y", style="plain")
    ep_ax.bar(x, table["epochs"], 0.6, color=colours)
    ep_ax.axhline(1, color="grey", lw=1, ls=":", label="seen once")
    if table["epochs"].max() > max_epochs / 3:
        ep_ax.axhline(max_epochs, color="#d62728", lw=1, ls="--", label=f"limit {max_epochs:g}")
    for i, v in zip(x, table["epochs"]):
        ep_ax.annotate(f"{v:.2f}", (i, v), ha="center", va="bottom", fontsize=7)
    ep_ax.set_xticks(x, [str(c) for c in table["cluster"]])
    ep_ax.set_xlabel("cluster")
    ep_ax.set_title("epochs: times each cluster's tokens are repeated")
    ep_ax.legend(frameon=False, fontsize=8)
    section.add(Plot("Tokens and epochs per cluster", fig))
    section.add(Table("Clusters in the mixture (manifest.json)", table))
    samples = sample_documents(run, per_cluster)
    if not samples:
        return section.missing("The mixture parts hold no documents: no samples to show.")
    section.add(
        Documents(
            "Sample documents per cluster, as written in the mixture",
            [
                {
                    "title": f"cluster {c} · {int(row['n_tokens'])} tokens · ×{int(row['copies'])} · {row['url']}",
                    "text": shorten(row["text"], 600),
                }
                for c, picked in samples.items()
                for _, row in picked.iterrows()
            ],
        )
    )
    return section
