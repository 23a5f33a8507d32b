"""Benchmark: maths-preserving extraction beside trafilatura, resiliparse and plain lynx.

Prints one table: documents per CPU-second (lynx child processes included) on a Debian-doc WARC shard,
bag-of-words F1 on the ScrapingHub article benchmark, formula recall on real maths pages, and peak RSS;
with ratios against trafilatura.  Each extractor runs in its own worker process so that its peak RSS and CPU
time are its own.

    python bench/bench_extract.py [--quick] [--shard DEBDOC.warc.gz ...] [--maths-warc W ...]

Make the shards with /work/shared/tools/debian_doc_warcs.py (see the data README).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
NAMES = ["ours", "trafilatura", "resiliparse", "lynx"]


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def worker(name: str, args: argparse.Namespace) -> dict:
    from math_extract.baselines import EXTRACTORS, maths_pages, warc_pages
    from math_extract.evaluate import load_scrapinghub, score_formulas, score_scrapinghub

    extract = EXTRACTORS[name]()
    pages = []
    for shard in args.shard:
        pages.extend(html for _, html in warc_pages(shard, args.speed_pages))
    extract(pages[:3])  # warm imports and caches outside the timed part
    cpu0, wall0 = _cpu(), time.perf_counter()
    extract(pages)
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    sh = load_scrapinghub(args.scrapinghub)
    if args.f1_pages:
        sh = sh[: args.f1_pages]
    f1 = score_scrapinghub(extract, sh)["f1"]
    maths = score_formulas(extract, maths_pages(args.data, args.maths_warc, args.maths_pages))
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"name": name, "docs": len(pages), "docs_per_cpu_s": len(pages) / max(cpu, 1e-9),
            "docs_per_wall_s": len(pages) / max(wall, 1e-9), "f1": f1, "f1_pages": len(sh),
            "formula_recall": maths["recall"], "formula_pages": maths["pages"], "formulas": maths["formulas"],
            "peak_rss_mb": max(rss_self, rss_kids) / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small samples; finishes in about two minutes")
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--shard", action="append", help="Debian-doc WARC shard(s) for the speed test")
    ap.add_argument("--maths-warc", action="append", help="WARC(s) of maths pages for formula recall")
    ap.add_argument("--extractors", default=",".join(NAMES))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.scrapinghub = os.path.join(args.data, "extraction", "scrapinghub")
    args.shard = args.shard or sorted(glob.glob("/tmp/debdoc/DEBDOC-*.warc.gz"))[:1]
    args.maths_warc = args.maths_warc or sorted(glob.glob("/tmp/debdoc*/DEBDOC-*.warc.gz"))
    args.speed_pages = 80 if args.quick else 0
    args.f1_pages = 60 if args.quick else 0
    args.maths_pages = 40 if args.quick else 0
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return 0
    rows = []
    for name in args.extractors.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--data", args.data]
        cmd += sum((["--shard", s] for s in args.shard), []) + sum((["--maths-warc", w] for w in args.maths_warc), [])
        cmd += ["--quick"] if args.quick else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = next((r for r in rows if r["name"] == "trafilatura"), None)
    print(f"speed: {rows[0]['docs'] if rows else 0} docs from {', '.join(os.path.basename(s) for s in args.shard)}; "
          f"F1: {rows[0]['f1_pages'] if rows else 0} ScrapingHub pages; formula recall: "
          f"{rows[0]['formulas'] if rows else 0} formulas on {rows[0]['formula_pages'] if rows else 0} pages")
    head = f"{'extractor':<12} {'docs/cpu-s':>10} {'x traf':>7} {'docs/wall-s':>11} {'F1':>6} {'x traf':>7} " \
           f"{'formula rec':>11} {'x traf':>7} {'peak RSS MB':>11}"
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = (lambda k: f"{r[k] / base[k]:.2f}" if base and base[k] else "-")
        print(f"{r['name']:<12} {r['docs_per_cpu_s']:>10.1f} {ratio('docs_per_cpu_s'):>7} {r['docs_per_wall_s']:>11.1f} "
              f"{r['f1']:>6.3f} {ratio('f1'):>7} {r['formula_recall']:>11.3f} {ratio('formula_recall'):>7} "
              f"{r['peak_rss_mb']:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
