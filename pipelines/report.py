"""Per-stage accounting read from the run directory alone: documents in, out, dropped by reason, flagged
(kept but marked, e.g. decontamination in flag mode), errors.

Used at the end of ``curate run`` and by ``curate stats RUN``, over the run's own list of stages
(``pipelines.stages.build_stages``); stages without per-document tasks (cluster, search) have no row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from curation.rundir import RunDir
from curation.stage import Stage


def stage_totals(rundir: RunDir, stages: Sequence[Stage]) -> list[dict]:
    rows = []
    for stage in (s.name for s in stages):
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


def format_totals(rows: list[dict], max_errors: int = 10) -> str:
    header = (
        f"{'stage':<17} {'tasks':>5} {'docs in':>8} {'docs out':>8} {'tokens in':>10} {'tokens out':>10} "
        f"{'dropped':>7}  reasons"
    )
    lines = [header, "-" * 100]
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
        if r["flagged"]:
            reasons += (
                ("; " if reasons else "")
                + "flagged (kept): "
                + ", ".join(f"{k} {v}" for k, v in sorted(r["flagged"].items(), key=lambda kv: (-kv[1], kv[0])))
            )
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
