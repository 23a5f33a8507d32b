"""Hostile inputs, each in a fresh process: what the pipeline did with it, its wall time and peak memory.

Every case of ``bench/hostile/*.py`` (``CASES``: crafted WARCs, pages, configs, server requests, run-directory
misuse) runs alone in a new Python process, so one case's memory cannot hide in another's and a hang is
caught by the timeout. The bound is the issue's: no case over 60 s or 1 GB. The table's last column says
whether each case stayed inside it; the exit status is 1 if any did not.

    python bench/bench_hostile.py [--only warc,maths] [--timeout 120]
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MAX_SECONDS, MAX_MB = 60.0, 1024.0

# The case's process reports its own peak (VmHWM) and the largest child it waited for (lynx, a server).
CHILD = """
import json, resource, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from bench._common import peak_rss_mb
from bench.hostile.{area} import CASES
outcome = CASES[{name!r}](Path({work!r}))
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("\\n" + json.dumps({{"outcome": str(outcome), "mb": max(peak_rss_mb(), children)}}))
"""


def areas(only: set[str] | None) -> list[str]:
    import bench.hostile

    names = sorted(m.name for m in pkgutil.iter_modules(bench.hostile.__path__))
    return [n for n in names if not only or n in only]


def run_case(area: str, name: str, timeout: float) -> dict:
    """One case in a fresh process: its outcome line, wall seconds and peak RSS."""
    with tempfile.TemporaryDirectory(prefix=f"hostile-{area}-") as work:
        code = CHILD.format(repo=str(REPO), area=area, name=name, work=work)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return {"outcome": f"HUNG: killed after {timeout:.0f} s", "seconds": timeout, "mb": float("nan")}
        seconds = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"outcome"')]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"outcome": f"CRASHED ({proc.returncode}): {tail[:140]}", "seconds": seconds, "mb": float("nan")}
    return {**json.loads(lines[-1]), "seconds": seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated areas (modules of bench/hostile)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as hung")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    print("| area | case | outcome | s | peak RSS MB | inside bounds |\n|---|---|---|---:|---:|---|")
    for area in areas(only):
        module = importlib.import_module(f"bench.hostile.{area}")
        for name in module.CASES:
            result = run_case(area, name, args.timeout)
            ok = result["seconds"] <= MAX_SECONDS and result["mb"] <= MAX_MB  # NaN (hung, crashed) is not ok
            rows.append((area, name, result, ok))
            print(
                f"| {area} | {name} | {result['outcome']} | {result['seconds']:.1f} | {result['mb']:.0f} | "
                f"{'yes' if ok else '**NO**'} |",
                flush=True,
            )
    print(f"\n{sum(ok for *_, ok in rows)} of {len(rows)} cases inside {MAX_SECONDS:.0f} s and {MAX_MB:.0f} MB")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
