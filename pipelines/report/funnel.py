"""The funnel: documents and tokens in and out of every stage, and why documents were dropped, from the
per-task stats each stage leaves in ``RUN/<stage>/_stats/``.

``stage_totals`` is also the table at the end of ``curate run`` and ``curate stats RUN`` (``format_totals``);
stages without per-document tasks (cluster, search) have no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from curation.rundir import RunDir
from curation.stage import Stage

from .rundata import RunData
from .section import Note, Plot, Section, Table
from .style import figure, palette

#: drop reasons drawn by name in the stacked bars; the rest of a stage's drops are one "other" block
TOP_REASONS = 9


def stage_totals(rundir: RunDir, stages: Sequence[Stage | str]) -> list[dict]:
    """One row per stage (a ``Stage`` or its name) that has task stats, in the order given."""
    rows = []
    for stage in (s if isinstance(s, str) else s.name for s in stages):
        stats = rundir.stage_stats(stage)
        if not stats:
            continue
        dropped: Counter = Counter()
        flagged: Counter = Counter()
        for s in stats:
            dropped.update(s.get("dropped", {}))
            flagged.update(s.get("flagged", {}))
        rows.append(
            {
                "stage": stage,
                "tasks": len(stats),
                "in": _total(stats, "in"),
                "out": _total(stats, "out"),
                "tokens_in": _total(stats, "tokens_in"),
                "tokens_out": _total(stats, "tokens_out"),
                "dropped": dict(sorted(dropped.items())),
                "flagged": dict(sorted(flagged.items())),
                "seconds": round(sum(s.get("seconds", 0) for s in stats), 1),
                "errors": [e for s in stats for e in s.get("errors", [])],
            }
        )
    return rows


def _total(stats: list[dict], key: str) -> int | None:
    values: list[int] = [s[key] for s in stats if s.get(key) is not None]
    return sum(values) if values else None


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _largest_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Reasons and their counts, the largest first, ties by name."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _by_count(counts: dict[str, int]) -> str:
    """``"reason count, ..."``, the largest first."""
    return ", ".join(f"{k} {v}" for k, v in _largest_first(counts))


def format_totals(rows: list[dict], max_errors: int = 10) -> str:
    header = (
        f"{'stage':<17} {'tasks':>5} {'docs in':>8} {'docs out':>8} {'tokens in':>10} {'tokens out':>10} "
        f"{'dropped':>7}  reasons"
    )
    lines = [header, "-" * 100]
    for r in rows:
        reasons = _by_count(r["dropped"])
        if r["flagged"]:
            reasons += ("; " if reasons else "") + "flagged (kept): " + _by_count(r["flagged"])
        lines.append(
            f"{r['stage']:<17} {r['tasks']:>5} {_num(r['in']):>8} {_num(r['out']):>8} "
            f"{_num(r['tokens_in']):>10} {_num(r['tokens_out']):>10} {sum(r['dropped'].values()):>7}  {reasons}"
        )
    errors = [e for r in rows for e in r["errors"]]
    if errors:
        lines.append(f"\n{len(errors)} input problem(s) reported (documents counted above under their reason):")
        lines.extend(f"  - {e}" for e in errors[:max_errors])
        if len(errors) > max_errors:
            lines.append(f"  ... and {len(errors) - max_errors} more (see the _stats files)")
    return "\n".join(lines)


def funnel_table(rows: list[dict]) -> pd.DataFrame:
    """One row per stage: documents and tokens in and out, dropped, flagged, input problems, task seconds."""
    return pd.DataFrame(
        [
            {
                "stage": r["stage"],
                "tasks": r["tasks"],
                "docs in": r["in"],
                "docs out": r["out"],
                "tokens in": r["tokens_in"],
                "tokens out": r["tokens_out"],
                "dropped": sum(r["dropped"].values()),
                "flagged": sum(r["flagged"].values()),
                "input problems": len(r["errors"]),
                "task seconds": r["seconds"],
            }
            for r in rows
        ]
    ).astype({"docs in": "Int64", "docs out": "Int64", "tokens in": "Int64", "tokens out": "Int64"})


def drop_table(rows: list[dict]) -> pd.DataFrame:
    """Per stage that dropped documents: how many, and every reason with its count, largest first."""
    out = [
        {
            "stage": r["stage"],
            "dropped": sum(r["dropped"].values()),
            "reasons": _by_count(r["dropped"]),
        }
        for r in rows
        if r["dropped"]
    ]
    return pd.DataFrame(out, columns=["stage", "dropped", "reasons"])


def _flow_figure(rows: list[dict]):
    """Documents and tokens in and out per stage, side by side (a stage that does not count tokens has none)."""
    from matplotlib.ticker import FuncFormatter  # here: ``curate run`` and ``stats`` use this module's tables

    fig, axes = figure(3.6, ncols=2)
    names = [r["stage"] for r in rows]
    x = np.arange(len(rows))
    for ax, key, label in zip(axes, ("", "tokens_"), ("documents", "tokens")):
        ins = np.array([r[f"{key}in"] if r[f"{key}in"] is not None else np.nan for r in rows], dtype=float)
        outs = np.array([r[f"{key}out"] if r[f"{key}out"] is not None else np.nan for r in rows], dtype=float)
        ax.bar(x - 0.2, ins, 0.4, label="in", color="#9ecae1")
        ax.bar(x + 0.2, outs, 0.4, label="out", color="#3182bd")
        for i, v in zip(x, outs):
            if np.isfinite(v):
                ax.annotate(f"{v:,.0f}", (i + 0.2, v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, names)
        ax.set_title(f"{label} in / out per stage")
        ax.legend(frameon=False, fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return fig


def _drops_figure(rows: list[dict]):
    """One horizontal bar per stage that dropped documents, stacked by reason; the legend names the largest
    ``TOP_REASONS`` reasons of the run and lumps the rest as "other"."""
    dropping = [r for r in rows if r["dropped"]]
    totals: Counter = Counter()
    for r in dropping:
        totals.update(r["dropped"])
    top = [reason for reason, _ in _largest_first(totals)[:TOP_REASONS]]
    blocks = [*top, "other"] if len(totals) > len(top) else top
    fig, (ax,) = figure(0.9 + 0.45 * len(dropping))
    y = np.arange(len(dropping))[::-1]
    lefts = np.zeros(len(dropping))
    for reason, colour in zip(blocks, palette(len(blocks))):
        counts = np.array(
            [
                r["dropped"].get(reason, 0)
                if reason != "other"
                else sum(v for k, v in r["dropped"].items() if k not in top)
                for r in dropping
            ]
        )
        ax.barh(y, counts, 0.6, left=lefts, label=f"{reason} ({counts.sum():,})", color=colour)
        lefts += counts
    for yi, total in zip(y, lefts):
        ax.annotate(f"{total:,.0f}", (total, yi), va="center", fontsize=8, xytext=(3, 0), textcoords="offset points")
    ax.set_yticks(y, [r["stage"] for r in dropping])
    ax.set_xlabel("documents dropped")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def funnel_section(run: RunData) -> Section:
    section = Section("funnel", "Funnel: what each stage kept and dropped")
    rows = stage_totals(run.rundir, run.stage_names)
    if not rows:
        return section.missing("No stage has finished a task in this run directory: no funnel to show.")
    first, last = rows[0], rows[-1]
    section.add(
        Note(
            f"{_fmt(first['in'])} records read from {first['tasks']} input shard(s) became "
            f"{_fmt(last['out'])} mixture documents ({_fmt(last['tokens_out'])} tokens); "
            f"{sum(len(r['errors']) for r in rows)} input problem(s) were reported."
        )
    )
    section.add(Plot("Documents and tokens in and out of each stage", _flow_figure(rows)))
    if any(r["dropped"] for r in rows):
        section.add(Plot("Why documents were dropped (the largest reasons by name)", _drops_figure(rows)))
    section.add(Table("Per stage", funnel_table(rows)))
    drops = drop_table(rows)
    if len(drops):
        section.add(Table("Every drop reason", drops))
    errors = [e for r in rows for e in r["errors"]]
    if errors:
        section.add(Table("Input problems (file@offset: what)", pd.DataFrame({"problem": errors[:50]})))
    return section


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
