"""Search: what the CLIMB search tried and how sure its choice is. Every proxy run's bits per byte on the target
set by round; the predictor's predictions against the measured scores with their Spearman correlation per
round; the chosen weights beside each cluster's token share and the uniform mixture; and the baselines table
(each named mixture judged over several seeds) when the search wrote ``search/baselines.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rundata import RunData
from .section import Note, Plot, Section, Table
from .style import figure, palette


def _column(runs: pd.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in runs), None)


def best_run(best: dict) -> dict:
    """The best proxy run (round, run, bpb, weights): ``best_run`` where ``best`` is the final named mixture,
    ``best`` itself in runs made before the search judged baselines."""
    return best.get("best_run") or best["best"]


def _finite(value) -> bool:
    return value is not None and bool(np.isfinite(float(value)))


def _bpb(value) -> str:
    return f"{float(value):.4f}" if _finite(value) else "not finite"


def round_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per round: proxy runs, best and mean measured bits/byte, and the predictor's Spearman rho where it
    predicted (round 0 draws from the prior, unpredicted)."""
    from climb.predictor import spearman

    measured = _column(runs, "measured", "bpb")
    predicted = _column(runs, "predicted", "predicted_bpb")
    rows = []
    for r, group in runs.groupby("round", sort=True):
        pairs = (
            group[[predicted, measured]].replace([np.inf, -np.inf], np.nan).dropna() if predicted else pd.DataFrame()
        )
        rho = spearman(pairs[predicted], pairs[measured]) if predicted else None
        rows.append(
            {
                "round": int(r),
                "proxy runs": len(group),
                "best bits/byte": round(float(group[measured].min()), 4),
                "mean bits/byte": round(float(group[measured].mean()), 4),
                "predicted runs": len(pairs),
                "Spearman (predicted, measured)": None if rho is None else round(rho, 3),
            }
        )
    return pd.DataFrame(rows)


def weights_table(run: RunData) -> pd.DataFrame | None:
    """Per cluster: the weight of the mixture written, the cluster's token share (what sampling in proportion
    would give) and the uniform weight."""
    if run.best is None or run.clusters is None:
        return None
    weights = run.best["best"]["weights"]
    clusters = run.clusters["clusters"]
    return pd.DataFrame(
        {
            "cluster": [c["cluster"] for c in clusters],
            "chosen weight": [round(w, 4) for w in weights],
            "token share": [round(c["token_share"], 4) for c in clusters],
            "uniform": [round(1 / len(weights), 4)] * len(weights),
        }
    )


def baselines_table(baselines: dict) -> pd.DataFrame:
    """One row per judged mixture, best first: mean bits/byte over the seeds, their spread, each seed; the
    search proxy's own score beside it when the judge is a different model."""
    final = baselines.get("final")
    rows = []
    for m in baselines.get("mixtures", []):
        row = {
            "mixture": m["name"] + (" (final)" if m["name"] == final else ""),
            "bits/byte mean": float(m["bits_per_byte_mean"]),
            "std over seeds": float(m.get("bits_per_byte_std") or 0.0),
            "per seed": ", ".join(f"{float(v):.4f}" for v in m.get("per_seed") or []),
        }
        if "cheap_bits_per_byte_mean" in m:
            row["search proxy bits/byte"] = float(m["cheap_bits_per_byte_mean"])
        if "feasible" in m:
            row["feasible"] = bool(m["feasible"])
        rows.append(row)
    frame = pd.DataFrame(rows).sort_values("bits/byte mean", kind="stable").reset_index(drop=True)
    return frame.round({"bits/byte mean": 4, "std over seeds": 4, "search proxy bits/byte": 4})


def search_section(run: RunData) -> Section:
    section = Section("search", "Search: how the weights were chosen")
    runs = run.table("search", "runs.parquet")
    if runs is None or run.best is None:
        return section.missing(
            "The search stage has not finished (no search/runs.parquet, best.json): nothing to show."
        )
    measured = _column(runs, "measured", "bpb") or "bpb"
    predicted = _column(runs, "predicted", "predicted_bpb")
    best = best_run(run.best)
    chosen = run.best["best"]
    prior = runs.loc[runs["round"] == runs["round"].min(), measured]
    section.add(
        Note(
            f"{len(runs)} proxy runs in {runs['round'].nunique()} rounds; the best measured "
            f"{_bpb(best['bpb'])} bits/byte on the target set (round {best['round']}, run {best['run']}), against "
            f"{_bpb(prior[np.isfinite(prior)].mean())} on average over the prior's draws (round 0). Lower is better."
            + (f" The mixture written is '{chosen['name']}'." if "name" in chosen else "")
        )
    )
    rounds = sorted(runs["round"].unique())
    colours = dict(zip(rounds, palette(len(rounds))))
    fig, (bpb_ax, pred_ax) = figure(3.8, ncols=2)
    for r in rounds:
        group = runs[(runs["round"] == r) & np.isfinite(runs[measured])]
        bpb_ax.scatter(group.index, group[measured], color=colours[r], s=22, label=f"round {r}")
    at = runs.index[(runs["round"] == best["round"]) & (runs["run"] == best["run"])]
    if len(at):
        bpb_ax.scatter(at, runs.loc[at, measured], marker="*", s=180, color="black", label="best run", zorder=3)
    bpb_ax.set_xlabel("proxy run (in order)")
    bpb_ax.set_ylabel("target bits/byte")
    bpb_ax.set_title("every proxy run, by round")
    bpb_ax.legend(frameon=False, fontsize=7)
    table = round_table(runs)
    if predicted and runs[predicted].notna().any():
        for r in rounds:
            group = runs[(runs["round"] == r) & np.isfinite(runs[predicted]) & np.isfinite(runs[measured])]
            if len(group):
                rho = table.loc[table["round"] == r, "Spearman (predicted, measured)"].iloc[0]
                label = f"round {r}" + (f" (ρ {rho:+.2f})" if rho is not None else "")
                pred_ax.scatter(group[predicted], group[measured], color=colours[r], s=22, label=label)
        span = runs[[predicted, measured]].replace([np.inf, -np.inf], np.nan).dropna().to_numpy()
        lo, hi = float(span.min()), float(span.max())
        pred_ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--", label="predicted = measured")
        pred_ax.legend(frameon=False, fontsize=7)
    else:
        pred_ax.text(0.5, 0.5, "no predicted runs", ha="center", transform=pred_ax.transAxes)
    pred_ax.set_xlabel("predicted bits/byte")
    pred_ax.set_ylabel("measured bits/byte")
    pred_ax.set_title("the predictor: predicted vs measured")
    section.add(Plot("Proxy runs by round; predicted against measured", fig))
    section.add(Table("Rounds", table))

    weights = weights_table(run)
    if weights is not None:
        fig, (ax,) = figure(3.2)
        x = np.arange(len(weights))
        for offset, column, colour in (
            (-0.27, "chosen weight", "#d62728"),
            (0.0, "token share", "#9ecae1"),
            (0.27, "uniform", "#cccccc"),
        ):
            ax.bar(x + offset, weights[column], 0.27, label=column, color=colour)
        ax.set_xticks(x, [f"cluster {c}" for c in weights["cluster"]], rotation=0, fontsize=8)
        ax.set_ylabel("share of the mixture's tokens")
        ax.set_title("chosen weights beside token share and uniform")
        ax.legend(frameon=False, fontsize=8)
        section.add(Plot("Chosen weights per cluster", fig))
        section.add(Table("Weights per cluster", weights))

    baselines = run.json("search", "baselines.json")
    if baselines is None:
        section.add(Note("No search/baselines.json in this run (made before the search judged baselines).", "missing"))
    else:
        target = baselines.get("target") or {}
        seeds = baselines.get("seeds")
        n_seeds = len(seeds) if seeds else max((len(m.get("per_seed") or []) for m in baselines["mixtures"]), default=0)
        held = f"on {target['heldout_docs']} held-out target documents ({target.get('search_docs', '?')} used by the search)"
        judge = baselines.get("judge") or {}
        section.add(
            Note(
                f"Baselines judged over {n_seeds} seed(s){f' {seeds}' if seeds else ''} "
                + (held if "heldout_docs" in target else "on the held-out target")
                + "; judge: "
                + ", ".join(f"{k} {v}" for k, v in sorted(judge.items()))
                + f". Final mixture: {baselines.get('final')}."
                + (
                    f" The search proxy ranks {baselines['calibration'].get('mixtures')} mixtures with Spearman "
                    f"{baselines['calibration'].get('spearman')} against the judge."
                    if isinstance(baselines.get("calibration"), dict)
                    else ""
                )
            )
        )
        section.add(
            Table("Baselines (bits/byte on held-out target documents, lower is better)", baselines_table(baselines))
        )
        if baselines.get("final_versus"):
            versus = pd.DataFrame(baselines["final_versus"]).rename(
                columns={
                    "name": "baseline",
                    "mean_difference": "final minus baseline, mean",
                    "difference_std": "std over draws",
                    "draws_ahead": "draws where the final is better",
                    "document_resample_std": "std over resampled held-out documents",
                    "document_resamples_ahead": "share of resamples where the final is better",
                }
            )
            section.add(Table("The final mixture against each baseline, draw by draw (negative: final better)", versus))
    return section
