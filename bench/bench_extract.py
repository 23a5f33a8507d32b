"""Benchmark: maths-preserving extraction beside trafilatura, resiliparse and plain lynx.

Prints one table: documents per CPU-second (lynx child processes included; WARC reading and decoding
included) on a Debian-doc WARC shard, beside the anchor pipeline datatrove WarcReader + Trafilatura +
ParquetWriter,
bag-of-words F1 on the ScrapingHub article benchmark, formula recall on real maths pages, and peak RSS;
with ratios against trafilatura.  Each extractor runs in its own worker process so that its peak RSS and CPU
time are its own.

    python bench/bench_extract.py [--quick] [--shard DEBDOC.warc.gz ...] [--maths-warc W ...]

Without --shard, the speed shard is bench_pipeline's (20 MB of SymPy, SciPy, statsmodels and Maxima docs);
without --maths-warc, formula recall also runs on 10 MB of each of those packages' pages.  Both are packed
once with ../shared/tools/debian_doc_warcs.py and cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from pipelines.shared_data import shared_data_dir  # noqa: E402

from _common import cpu_seconds, datatrove_anchor, peak_rss_mb  # noqa: E402  (bench/ is sys.path[0] for a script)

NAMES = ["ours", "trafilatura", "resiliparse", "lynx", "datatrove"]


def _datatrove_speed(args: argparse.Namespace) -> tuple[int, float, float]:
    """The anchor on the same shard(s): (documents WarcReader read, CPU seconds, wall seconds).

    Documents read, not written, because the other extractors count every page read too; the count comes
    from datatrove's own stats, so the timed window holds datatrove's work and nothing else.
    """
    import tempfile

    # imported before the clock starts, as the other extractors are warmed up before theirs
    import pyarrow.parquet  # noqa: F401
    from datatrove.executor import LocalPipelineExecutor  # noqa: F401
    from datatrove.pipeline.extractors import Trafilatura  # noqa: F401
    from datatrove.pipeline.readers import WarcReader  # noqa: F401
    from datatrove.pipeline.writers import ParquetWriter  # noqa: F401

    docs = 0
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        for i, shard in enumerate(args.shard):
            docs += datatrove_anchor(shard, os.path.join(tmp, str(i)), limit=args.speed_pages or -1)[0]
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    return docs, cpu, wall


def worker(name: str, args: argparse.Namespace) -> dict:
    from math_extract.baselines import EXTRACTORS
    from math_extract.evaluate import score_formulas, score_scrapinghub
    from pipelines.eval_data import load_scrapinghub, warc_pages

    if name == "datatrove":
        docs, cpu, wall = _datatrove_speed(args)
        rss = None  # datatrove runs its task in a child process: not measured here
        return {
            "name": "datatrove",
            "docs": docs,
            "docs_per_cpu_s": docs / max(cpu, 1e-9),
            "docs_per_wall_s": docs / max(wall, 1e-9),
            "f1": None,
            "f1_pages": 0,
            "formula_recall": None,
            "formula_pages": 0,
            "formulas": 0,
            "peak_rss_mb": rss,
        }
    extract = EXTRACTORS[name]()
    extract(["<html><body><p>warm up imports</p></body></html>"])
    # timed: reading the WARC and decoding each record, then extraction (what the datatrove anchor does)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    pages = []
    for shard in args.shard:
        pages.extend(html for _, html in warc_pages(shard, args.speed_pages))
    extract(pages)
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    sh = load_scrapinghub(args.scrapinghub)
    if args.f1_pages:
        sh = sh[: args.f1_pages]
    f1 = score_scrapinghub(extract, sh)["f1"]
    with open(args.maths_file) as fh:
        maths = score_formulas(extract, [tuple(p) for p in json.load(fh)])
    return {
        "name": name,
        "docs": len(pages),
        "docs_per_cpu_s": len(pages) / max(cpu, 1e-9),
        "docs_per_wall_s": len(pages) / max(wall, 1e-9),
        "f1": f1,
        "f1_pages": len(sh),
        "formula_recall": maths["recall"],
        "formula_pages": maths["pages"],
        "formulas": maths["formulas"],
        "peak_rss_mb": peak_rss_mb(),
    }


def _maths_pages(args: argparse.Namespace, path: str) -> None:
    """Pick the maths pages once (pages that carry TeX source), for every worker to score on."""
    from math_extract.detect import detect
    from math_extract.evaluate import gold_formulas
    from pipelines.eval_data import maths_pages

    pages = []
    per_warc: dict = {}
    for name, html in maths_pages(args.data, args.maths_warc, 150 if args.quick else 0):
        key = name.split("/")[2] if name.startswith("http") else "shared"
        if args.maths_pages and per_warc.get(key, 0) >= args.maths_pages:
            continue
        if detect(html).has_math and gold_formulas(html):
            pages.append((name, html))
            per_warc[key] = per_warc.get(key, 0) + 1
    with open(path, "w") as fh:
        json.dump(pages, fh)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small samples; finishes in about two minutes")
    ap.add_argument("--data", default=str(shared_data_dir()))
    ap.add_argument("--shard", action="append", help="Debian-doc WARC shard(s) for the speed test")
    ap.add_argument("--maths-warc", action="append", help="WARC(s) of maths pages for formula recall")
    ap.add_argument("--extractors", default=",".join(NAMES))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--maths-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.scrapinghub = os.path.join(args.data, "extraction", "scrapinghub")
    if not args.worker:
        from bench_pipeline import MATHS_PACKAGES, debian_shard

        args.shard = args.shard or [str(debian_shard(20))]
        args.maths_warc = args.maths_warc or [str(debian_shard(10, (p,))) for p in MATHS_PACKAGES]
    args.speed_pages = 50 if args.quick else 0
    args.f1_pages = 40 if args.quick else 0
    args.maths_pages = 5 if args.quick else 0
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return 0
    import tempfile

    rows = []
    args.maths_file = os.path.join(tempfile.mkdtemp(prefix="bench_extract_"), "maths.json")
    _maths_pages(args, args.maths_file)
    for name in args.extractors.split(","):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            "--data",
            args.data,
            "--maths-file",
            args.maths_file,
        ]
        cmd += sum((["--shard", s] for s in args.shard), []) + sum((["--maths-warc", w] for w in args.maths_warc), [])
        cmd += ["--quick"] if args.quick else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = next((r for r in rows if r["name"] == "trafilatura"), None)
    first = rows[0] if rows else {}
    print(
        f"speed: {first.get('docs', 0)} docs read from {', '.join(os.path.basename(s) for s in args.shard)} "
        f"(WARC reading and decoding included); F1: {first.get('f1_pages', 0)} ScrapingHub pages; "
        f"formula recall: {first.get('formulas', 0)} formulas on {first.get('formula_pages', 0)} maths pages"
    )
    head = (
        f"{'extractor':<12} {'docs/cpu-s':>10} {'x traf':>7} {'docs/wall-s':>11} {'F1':>6} {'x traf':>7} "
        f"{'formula rec':>11} {'x traf':>7} {'peak RSS MB':>11}"
    )
    print(head)
    print("-" * len(head))

    def ratio(row: dict, key: str) -> str:
        return f"{row[key] / base[key]:.2f}" if base and row[key] is not None and base[key] else "-"

    def num(value, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    for r in rows:
        print(
            f"{r['name']:<12} {r['docs_per_cpu_s']:>10.1f} {ratio(r, 'docs_per_cpu_s'):>7} {r['docs_per_wall_s']:>11.1f} "
            f"{num(r['f1'], '.3f'):>6} {ratio(r, 'f1'):>7} {num(r['formula_recall'], '.3f'):>11} "
            f"{ratio(r, 'formula_recall'):>7} {num(r['peak_rss_mb'], '.0f'):>11}"
        )
    anchor = next((r for r in rows if r["name"] == "datatrove"), None)
    ours = next((r for r in rows if r["name"] == "ours"), None)
    if anchor and ours:
        print(
            f"ours vs datatrove WarcReader+Trafilatura+ParquetWriter: {ours['docs_per_cpu_s'] / anchor['docs_per_cpu_s']:.1f}x "
            f"docs per CPU-second, {ours['docs_per_wall_s'] / anchor['docs_per_wall_s']:.1f}x docs per wall-second"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
