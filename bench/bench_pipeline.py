#!/usr/bin/env python3
"""Extract path throughput: this pipeline vs datatrove's own (WarcReader -> Trafilatura -> ParquetWriter).

Runs each on the same WARC shard, one after another in this process, and prints documents per second per
core. The pipeline's extract stage also counts tokens (datatrove's pipeline does not), so the maths path is
shown with and without that step. "Per core" divides by CPU seconds of this process *and its children* (lynx for the maths extractor,
datatrove's extractor sandbox for trafilatura), so a pipeline cannot look faster by hiding work in a
subprocess. Wall-clock rates are printed too.

    python bench/bench_pipeline.py [--shard FILE.warc.gz] [--max-mb 20]

Without --shard, a Debian-documentation shard is packed with ../shared/tools/debian_doc_warcs.py (maths-heavy
SymPy/SciPy/statsmodels/Maxima pages) and cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # _common, also when imported from elsewhere

from _common import cpu_seconds, datatrove_anchor  # noqa: E402

MATHS_PACKAGES = ("python-sympy-doc", "python-scipy-doc", "python-statsmodels-doc", "maxima-doc")


def debian_shard(max_mb: float, packages: tuple[str, ...] = MATHS_PACKAGES) -> Path:
    """The first WARC shard of the packages' HTML docs (packed once with the shared tool, cached in bench/.cache)."""
    name = f"debdoc-{max_mb:g}mb" if packages == MATHS_PACKAGES else f"debdoc-{'-'.join(packages)}-{max_mb:g}mb"
    cache = REPO / "bench" / ".cache" / name
    shards = sorted(cache.glob("*.warc.gz"))
    if not shards:
        from pipelines.shared_data import shared_dir

        tool = shared_dir() / "tools" / "debian_doc_warcs.py"
        subprocess.run(
            [
                sys.executable,
                str(tool),
                "--out",
                str(cache),
                "--max-mb",
                str(max_mb),
                "--shard-mb",
                str(max_mb + 1),
                "--packages",
                *packages,
            ],
            check=True,
        )
        shards = sorted(cache.glob("*.warc.gz"))
    return shards[0]


def measure(name: str, fn) -> dict:
    wall, cpu = time.perf_counter(), cpu_seconds()
    docs = fn()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"name": name, "docs": docs, "wall": wall, "cpu": cpu}


def ours(shard: Path, out: Path, extractor: str, count_tokens: bool = True) -> int:
    """The pipeline's extract stage, as ``pipelines.stages`` builds it, on one shard in this process."""
    from curation.extract import ExtractSettings, ExtractStage
    from curation.rundir import RunDir
    from curation.tokens import TokenSettings
    from pipelines.stages import make_extractor

    settings = ExtractSettings(extractor=extractor)
    stage = ExtractStage([str(shard)], settings, make_extractor(settings), TokenSettings() if count_tokens else None)
    return stage.task(RunDir(str(out)), str(shard), 0)["out"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shard", type=Path)
    ap.add_argument("--max-mb", type=float, default=20)
    args = ap.parse_args()
    from curation.executor import quiet_logs

    quiet_logs()
    shard = args.shard or debian_shard(args.max_mb)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        rows = [
            measure(
                "datatrove WarcReader+Trafilatura+ParquetWriter", lambda: datatrove_anchor(shard, tmp / "dt")[1]
            ),  # documents written, as ours counts
            measure("curate extract (trafilatura)", lambda: ours(shard, tmp / "t", "trafilatura")),
            measure("curate extract (math: lynx)", lambda: ours(shard, tmp / "m", "math")),
            measure(
                "curate extract (math), no token count", lambda: ours(shard, tmp / "n", "math", count_tokens=False)
            ),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0]["docs"] / rows[0]["cpu"]
    print(f"\nshard: {shard} ({shard.stat().st_size / 1e6:.1f} MB compressed)\n")
    print("| pipeline | docs out | wall s | CPU s | docs/s (wall) | docs/s per core | vs datatrove |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per_core = r["docs"] / r["cpu"]
        print(
            f"| {r['name']} | {r['docs']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['docs'] / r['wall']:.1f} "
            f"| {per_core:.1f} | {per_core / base:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
