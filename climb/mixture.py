"""The mixture stage: documents sampled per cluster by the search's final weights up to a token budget.

For each cluster, a seeded permutation of its documents is walked (again from the start when exhausted, so a
small cluster is repeated, never beyond the search's epoch cap) until the cluster's share of the budget is
reached. The selection is decided once, globally (``mixture/_selection.parquet``); then every source part
writes its selected rows, with their cluster, as ``mixture/part-NNNNN.parquet``; ``manifest.json`` comes last.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation.documents import SCHEMA
from curation.executor import Executor
from curation.rundir import RunDir, part_name
from curation.settings import Settings
from curation.stage import ShardStage

from .cluster import ClusterStage
from .search import SearchStage

#: a quadrillion tokens, past any corpus; a larger budget is a typo (and no cluster could reach its share)
MAX_TOKEN_BUDGET = 10**15


class MixtureSettings(Settings):
    token_budget: int = Field(..., ge=1, le=MAX_TOKEN_BUDGET)


def select(assignments: pa.Table, weights: list[float], budget: int, seed: int) -> pa.Table:
    """(part, row, copies, cluster, n_tokens) for every selected document, sorted by part and row: all that the
    per-part writers and the manifest need, so neither rereads the assignments."""
    cluster = assignments.column("cluster").to_numpy()
    tokens = np.maximum(assignments.column("n_tokens").to_numpy(), 1)
    copies = np.zeros(len(cluster), dtype=np.int32)
    for c, w in enumerate(weights):
        members = np.flatnonzero(cluster == c)
        if not len(members) or w <= 0:
            continue
        order = members[np.random.default_rng([seed, 11, c]).permutation(len(members))]
        want = w * budget
        epoch_tokens = tokens[order].sum()
        full, rest = divmod(want, epoch_tokens)
        copies[order] += int(full)
        cum = np.cumsum(tokens[order])
        copies[order[: int(np.searchsorted(cum, rest, side="left")) + (1 if rest > 0 else 0)]] += 1
    keep = np.flatnonzero(copies)
    return pa.table(
        {
            "part": assignments.column("part").take(keep),
            "row": assignments.column("row").take(keep),
            "copies": copies[keep],
            "cluster": assignments.column("cluster").take(keep),
            "n_tokens": assignments.column("n_tokens").take(keep),
        }
    )


class MixtureStage(ShardStage):
    """``provenance`` (config hash, inputs, source stage) is written into the manifest as it is."""

    name = "mixture"
    outputs = ("_selection.parquet", "part-NNNNN.parquet", "manifest.json", "_stats/", "_done/")

    def __init__(self, source: str, settings: MixtureSettings, seed: int, provenance: dict[str, Any]):
        super().__init__(source)
        self.budget, self.seed, self.provenance = settings.token_budget, seed, provenance

    def done(self, rundir: RunDir) -> bool:
        return rundir.exists(self.name, "manifest.json")

    def tasks(self, rundir: RunDir) -> dict[str, dict]:
        return self._tasks_of(rundir.read_table(self.name, "_selection.parquet"), rundir)

    def _tasks_of(self, sel: pa.Table, rundir: RunDir) -> dict[str, dict]:
        """Each part's task gets its own selected rows (the selection is sorted by part, so a slice), instead of
        every task reading the whole selection to keep a sliver of it."""
        cols = {c: sel.column(c).to_numpy() for c in ("row", "copies", "cluster")}
        parts = self.inputs(rundir)
        bounds = np.searchsorted(sel.column("part").to_numpy(), np.arange(len(parts) + 1), side="left")
        return {
            part_name(i, ""): {
                "source": p,
                "index": i,
                "selected": {c: v[bounds[i] : bounds[i + 1]] for c, v in cols.items()},
            }
            for i, p in enumerate(parts)
        }

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        """The selection is decided once (a rerun reads it back), then serves the part tasks and the manifest."""
        best = rundir.read_json(SearchStage.name, "best.json")["best"]
        if rundir.exists(self.name, "_selection.parquet"):
            sel = rundir.read_table(self.name, "_selection.parquet")
        else:
            assignments = rundir.read_table(ClusterStage.name, "assignments.parquet")
            sel = select(assignments, best["weights"], self.budget, self.seed)
            rundir.write_table(sel, self.name, "_selection.parquet")
        stats = executor.run(rundir, self.name, self.task, self._tasks_of(sel, rundir), desc=self.name)
        rundir.write_json(self.manifest(rundir, best, sel), self.name, "manifest.json")
        return stats

    def task(self, rundir: RunDir, source: str, index: int, selected: dict[str, np.ndarray] | None = None) -> dict:
        """Write the part's ``selected`` rows (``row``), each ``copies`` times, with its ``cluster``."""
        assert selected is not None, "a mixture task is given its rows by tasks()"
        row, copies, cluster = selected["row"], selected["copies"], selected["cluster"]
        table = rundir.read_table(self.source_stage, source)
        out = table.take(pa.array(np.repeat(row, copies), pa.int64()))
        out = out.set_column(
            out.schema.get_field_index("cluster"), "cluster", pa.array(np.repeat(cluster, copies), pa.int32())
        )
        out = out.cast(SCHEMA)
        if out.num_rows:
            rundir.write_table(out, self.name, source)
        not_sampled = table.num_rows - len(row)
        return {
            "in": table.num_rows,
            "out": int(out.num_rows),
            "tokens_in": int(pc.sum(table.column("n_tokens")).as_py() or 0),
            "tokens_out": int(pc.sum(out.column("n_tokens")).as_py() or 0),
            "dropped": {"not_sampled": not_sampled} if not_sampled else {},
        }

    def manifest(self, rundir: RunDir, best: dict, selection: pa.Table) -> dict:
        clusters = rundir.read_json(ClusterStage.name, "clusters.json")["clusters"]
        s = selection.to_pandas()
        s["tokens"] = s["copies"] * s["n_tokens"]
        per_cluster = s.groupby("cluster")["tokens"].sum().to_dict()
        return {
            **self.provenance,
            "token_budget": self.budget,
            "seed": self.seed,
            "weights": {str(c["cluster"]): w for c, w in zip(clusters, best["weights"])},
            "clusters": [
                {
                    "cluster": c["cluster"],
                    "weight": w,
                    "tokens_available": c["tokens"],
                    "tokens_in_mixture": int(per_cluster.get(c["cluster"], 0)),
                    "epochs": round(per_cluster.get(c["cluster"], 0) / c["tokens"], 4) if c["tokens"] else 0.0,
                }
                for c, w in zip(clusters, best["weights"])
            ],
            "tokens": int(s["tokens"].sum()),
            "documents": int(s["copies"].sum()),
            "unique_documents": len(s),
            "search_choice": best.get("name"),  # climb_predicted or climb_best_run (search/baselines.json)
            "proxy_bpb": best["bpb"],  # the larger proxy's held-out bits per byte, mean over its draws
            "files": rundir.parts(self.name),
        }
