#!/usr/bin/env python3
"""Extract path throughput: this pipeline vs datatrove's own (WarcReader -> Trafilatura -> ParquetWriter).

Runs each on the same WARC shards, one after another, and prints per shard and pipeline: documents read and
written, documents per CPU-second, MB of HTML per CPU-second, CPU seconds per MB and peak RSS. The pipeline's
extract stage also counts tokens (datatrove's pipeline does not), so the maths path is shown with and without
that step.

Why both rates: documents per CPU-second depends on what each side reads. datatrove's WarcReader sniffs each
payload with libmagic when the WARC has no payload-type header and skips pages it takes for non-HTML (a quarter
of some Debian-doc shards), so it can look fast by reading less. MB per CPU-second divides the same number,
the HTML bytes of every response record in the shard, by each side's CPU seconds: the ratio of the work each
needs for the same input, whatever it skips or drops.

"CPU-second" counts CPU of the measuring process *and its children* (lynx for the maths extractor, datatrove's
extractor sandbox for trafilatura), so a pipeline cannot look faster by hiding work in a subprocess. Each
measurement runs in a fresh Python process, timed from after its set-up (the imports either side needs and, for
the pipelines that count tokens, loading the tokenizer: what a worker does once however many shards it is
given; its CPU seconds are printed apart), so peak RSS is that one worker's and no pipeline inherits another's
memory or warm caches.

    python bench/bench_pipeline.py [--shard FILE.warc.gz ...] [--max-mb 20] [--no-trafilatura]

With several shards, the last table gives the maths path's CPU seconds per MB of HTML on each and the slowest
shard's over the median's: one class of page that costs many times the rest shows there. Without --shard, a
Debian-documentation shard is packed with ../shared/tools/debian_doc_warcs.py (maths-heavy
SymPy/SciPy/statsmodels/Maxima pages) and cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # _common, also when imported from elsewhere

from _common import cpu_seconds, datatrove_anchor, debian_doc_shards, html_bytes, peak_rss_mb  # noqa: E402

MATHS_PACKAGES = ("python-sympy-doc", "python-scipy-doc", "python-statsmodels-doc", "maxima-doc")


def debian_shard(max_mb: float, packages: tuple[str, ...] = MATHS_PACKAGES) -> Path:
    """The first WARC shard of the packages' HTML docs (packed once, cached in bench/.cache)."""
    name = f"debdoc-{max_mb:g}mb" if packages == MATHS_PACKAGES else f"debdoc-{'-'.join(packages)}-{max_mb:g}mb"
    return debian_doc_shards(REPO / "bench" / ".cache" / name, list(packages), max_mb, max_mb + 1)[0]


def ours(
    shard: Path, out: Path, extractor: Literal["math", "trafilatura"], count_tokens: bool = True
) -> tuple[int, int]:
    """The pipeline's extract stage, as ``pipelines.stages`` builds it, on one shard in this process: (documents
    read, documents written)."""
    from curation.extract import ExtractSettings, ExtractStage
    from curation.rundir import RunDir
    from curation.tokens import TokenSettings
    from pipelines.stages import make_extractor

    settings = ExtractSettings(extractor=extractor)
    stage = ExtractStage([str(shard)], settings, make_extractor(settings), TokenSettings() if count_tokens else None)
    stats = stage.task(RunDir(str(out)), str(shard), 0)
    return stats["in"], stats["out"]


#: the pipelines compared: label -> how the child process runs it on (shard, output folder)
PIPELINES = {
    "datatrove WarcReader+Trafilatura+ParquetWriter": lambda shard, out: datatrove_anchor(shard, out),
    "curate extract (trafilatura)": lambda shard, out: ours(shard, out, "trafilatura"),
    "curate extract (math: lynx)": lambda shard, out: ours(shard, out, "math"),
    "curate extract (math), no token count": lambda shard, out: ours(shard, out, "math", count_tokens=False),
}
ANCHOR, MATHS = "datatrove WarcReader+Trafilatura+ParquetWriter", "curate extract (math: lynx)"


#: the pipelines that count tokens: their tokenizer is loaded before the timer, as their modules are imported
COUNTS_TOKENS = ("curate extract (trafilatura)", "curate extract (math: lynx)")


def child(name: str, shard: Path) -> dict:
    """One pipeline on one shard, timed in this (fresh) process after its set-up; its numbers as a dict.

    Set-up is what a worker does once whatever the number of shards it is given: import the modules either side
    uses (with PYTHONDONTWRITEBYTECODE every import compiles its sources again) and, for the pipelines that count
    tokens, load the tokenizer (``load_counter`` is cached per process). Its CPU seconds are reported apart
    (``setup_cpu``), not in the rates. The imports include those made lazily on first use, which would otherwise
    land in the first shard's seconds: both extractors (trafilatura, imported in datatrove's sandbox process
    unless its parent has it; the maths extractor's modules and ftfy) and pandas, which pyarrow imports when
    either writer first builds a table from Python rows (over a CPU-second without byte-compiled files).
    Every pipeline imports the same set."""
    setup = cpu_seconds()
    import datatrove.executor
    import datatrove.pipeline.extractors
    import datatrove.pipeline.readers
    import datatrove.pipeline.writers  # noqa: F401
    import ftfy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import trafilatura  # noqa: F401

    import curation.extract
    import curation.rundir
    import curation.tokens  # noqa: F401
    import math_extract.boilerplate
    import math_extract.prepass
    import math_extract.render  # noqa: F401
    import pipelines.stages  # noqa: F401
    from curation.executor import quiet_logs

    quiet_logs()
    if name in COUNTS_TOKENS:
        from curation.tokens import TokenSettings, load_counter

        load_counter(TokenSettings().tokenizer)
    setup = cpu_seconds() - setup
    out = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        wall, cpu = time.perf_counter(), cpu_seconds()
        read, written = PIPELINES[name](shard, out / "run")
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "name": name,
        "read": read,
        "docs": written,
        "wall": wall,
        "cpu": cpu,
        "setup_cpu": setup,
        "rss_mb": peak_rss_mb(),
    }


def measure(name: str, shard: Path) -> dict:
    """``child`` in a fresh interpreter, so that peak RSS and CPU are this pipeline's alone."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, "--shard", str(shard)], check=True, capture_output=True, text=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shard", type=Path, nargs="+", help="WARC shards, one table row group each")
    ap.add_argument("--max-mb", type=float, default=20)
    ap.add_argument("--no-trafilatura", action="store_true", help="skip this pipeline with trafilatura (faster)")
    ap.add_argument("--child", choices=sorted(PIPELINES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.shard[0])))
        return 0
    shards = args.shard or [debian_shard(args.max_mb)]
    names = [n for n in PIPELINES if not (args.no_trafilatura and n == "curate extract (trafilatura)")]
    print(
        "| shard | pipeline | docs read | docs out | wall s | CPU s | docs/CPU-s | vs datatrove | MB/CPU-s "
        "| vs datatrove | CPU s/MB | peak RSS MB | set-up CPU s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    s_per_mb = {}
    for shard in shards:
        mb = html_bytes(shard)[0] / 1e6
        rows = [measure(name, shard) for name in names]
        base = rows[0]
        for r in rows:
            rate, mb_rate = r["docs"] / r["cpu"], mb / r["cpu"]
            print(
                f"| {shard.parent.name}/{shard.name} ({mb:.1f} MB HTML) | {r['name']} | {r['read']} | {r['docs']} "
                f"| {r['wall']:.1f} | {r['cpu']:.1f} | {rate:.1f} | {rate / (base['docs'] / base['cpu']):.2f}x "
                f"| {mb_rate:.2f} | {mb_rate / (mb / base['cpu']):.2f}x | {r['cpu'] / mb:.3f} | {r['rss_mb']:.0f} | {r['setup_cpu']:.1f} |",
                flush=True,
            )
        s_per_mb[shard] = next(r for r in rows if r["name"] == MATHS)["cpu"] / mb
    if len(s_per_mb) > 1:
        median = statistics.median(s_per_mb.values())
        slowest = max(s_per_mb, key=s_per_mb.__getitem__)
        print(
            f"\nmaths path, CPU s per MB of HTML: median {median:.3f}, slowest {s_per_mb[slowest]:.3f} "
            f"({slowest.parent.name}/{slowest.name}): {s_per_mb[slowest] / median:.2f}x the median"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
