"""Per-stage accounting read from the run directory alone: documents in, out, dropped by reason, errors.

Used at the end of ``curate run`` and by ``curate stats RUN``.
"""
from __future__ import annotations

from collections import Counter

from curation.rundir import RunDir

DOCUMENT_STAGES = ("extract", "filter", "dedup", "tokens", "climb/embeddings", "mixture")


def stage_totals(rundir: RunDir) -> list[dict]:
    rows = []
    for stage in DOCUMENT_STAGES:
        stats = rundir.stage_stats(stage)
        if not stats:
            continue
        dropped: Counter = Counter()
        for s in stats:
            dropped.update(s.get("dropped", {}))
        rows.append({"stage": stage, "tasks": len(stats), "in": sum(s.get("in", 0) for s in stats),
                     "out": sum(s.get("out", 0) for s in stats), "dropped": dict(sorted(dropped.items())),
                     "tokens": sum(s.get("tokens", 0) for s in stats) if stage == "mixture" else None,
                     "seconds": round(sum(s.get("seconds", 0) for s in stats), 1),
                     "errors": [e for s in stats for e in s.get("errors", [])]})
    return rows


def format_totals(rows: list[dict], max_errors: int = 10) -> str:
    lines = [f"{'stage':<17} {'tasks':>5} {'docs in':>9} {'docs out':>9} {'dropped':>8}  reasons",
             "-" * 78]
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"{r['stage']:<17} {r['tasks']:>5} {r['in']:>9} {r['out']:>9} "
                     f"{sum(r['dropped'].values()):>8}  {reasons}")
    errors = [e for r in rows for e in r["errors"]]
    if errors:
        lines.append(f"\n{len(errors)} input problem(s) reported (documents counted above under their reason):")
        lines.extend(f"  - {e}" for e in errors[:max_errors])
        if len(errors) > max_errors:
            lines.append(f"  ... and {len(errors) - max_errors} more (see the _stats files)")
    return "\n".join(lines)
