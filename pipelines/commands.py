"""``curate run``, ``curate stats``, ``curate extract-html`` and ``curate eval-extract``."""

from __future__ import annotations

import argparse
import sys

from .shared_data import shared_data_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline config (WARC shards -> parquet mixture)")
    p.add_argument("config", help="YAML run config (see pipelines/configs/demo.yaml)")
    p.add_argument(
        "--scheduler",
        help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786; default: an embedded LocalCluster",
    )
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: CPU count, max 8)")
    p.add_argument("--run-dir", help="override the config's run_dir")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)

    s = sub.add_parser("stats", help="per-stage documents in/out and drop reasons of a run directory")
    s.add_argument("run_dir")
    s.set_defaults(func=cmd_stats)

    data = shared_data_dir()
    p = sub.add_parser("extract-html", help="print the maths-preserving text of one HTML page")
    p.add_argument("file", nargs="?", default="-", help="HTML file, or - for stdin")
    p.add_argument("--charset", default=None, help="declared charset (as an HTTP header would give)")
    p.add_argument("--no-main-content", action="store_true", help="keep boilerplate (render the whole page)")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--info", action="store_true", help="print maths detection on stderr")
    p.set_defaults(func=cmd_extract_html)

    p = sub.add_parser("eval-extract", help="score extractors on gold sets (ScrapingHub, trafilatura, maths)")
    p.add_argument(
        "--extractor",
        action="append",
        choices=["ours", "trafilatura", "resiliparse", "lynx"],
        help="repeatable; default: ours",
    )
    p.add_argument("--scrapinghub", default=f"{data}/extraction/scrapinghub", help="folder with ground-truth.json")
    p.add_argument("--evaldata", default=f"{data}/extraction/trafilatura-evaldata.json")
    p.add_argument("--cache", default=f"{data}/extraction/trafilatura-cache")
    p.add_argument("--maths-warc", action="append", default=[], help="WARC of maths pages (repeatable)")
    p.add_argument("--limit", type=int, default=0, help="pages per gold set / WARC (0: all)")
    p.add_argument("--sets", default="scrapinghub,evaldata,maths", help="comma-separated subset")
    p.set_defaults(func=cmd_eval_extract)


def cmd_run(args: argparse.Namespace) -> int:
    import logging
    import os

    from .config import ConfigError, load_config

    overrides = {"run_dir": os.path.abspath(args.run_dir)} if args.run_dir else None
    try:
        cfg = load_config(args.config, overrides)
    except ConfigError as err:
        print(f"curate: config error: {err}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("curate: --workers must be at least 1", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from curation.executor import Executor, SchedulerUnreachable, StageFailed
    from curation.rundir import RunDirBusy

    from .report import format_totals, stage_totals
    from .run import DiskFull, claimed_run, run_stages

    where = f"Dask scheduler {args.scheduler}" if args.scheduler else "a local Dask cluster"
    print(f"curate: running {args.config} into {cfg.run_dir} on {where}", file=sys.stderr)
    try:
        with (
            claimed_run(cfg) as (rundir, stages),
            Executor(scheduler=args.scheduler, workers=args.workers, progress=not args.quiet) as ex,
        ):
            if ex.client.dashboard_link:
                print(f"curate: Dask dashboard at {ex.client.dashboard_link}", file=sys.stderr)
            run_stages(stages, rundir, ex, echo=lambda m: print(m, file=sys.stderr))
    except (StageFailed, SchedulerUnreachable, RunDirBusy, DiskFull, ValueError, OSError) as err:
        print(f"curate: {err}", file=sys.stderr)
        return 1
    print(format_totals(stage_totals(rundir, stages)))
    manifest = rundir.read_json("mixture", "manifest.json")
    print(
        f"\nmixture: {manifest['documents']} documents, {manifest['tokens']} tokens in "
        f"{len(manifest['files'])} file(s) at {rundir.url('mixture')}/ (manifest.json beside them)"
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from pathlib import Path

    from curation.rundir import RunDir

    from .config import MAX_CONFIG_BYTES, ConfigError, parse_config, parse_yaml
    from .report import format_totals, stage_totals
    from .stages import build_stages

    rundir = RunDir(args.run_dir)
    if not rundir.exists("config.yaml"):
        what = "no such run directory" if not rundir.exists() else "no config.yaml: not a run directory"
        print(f"curate: {args.run_dir}: {what}", file=sys.stderr)
        return 2
    with rundir.fs.open(rundir.path("config.yaml"), "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    try:  # the resolved config the run recorded (absolute paths), so the same stages are listed
        source = rundir.url("config.yaml")
        cfg = parse_config(parse_yaml(raw, source), Path.cwd(), source=source)
    except ConfigError as err:
        print(f"curate: {err}", file=sys.stderr)
        return 2
    rows = stage_totals(rundir, build_stages(cfg, cfg.inputs))  # names only: the inputs are not listed
    if not rows:
        print(f"curate: {args.run_dir}: no stage has finished a task yet", file=sys.stderr)
        return 1
    print(format_totals(rows))
    return 0


def cmd_extract_html(args: argparse.Namespace) -> int:
    from curation.decode import DecodeError, decode_html
    from math_extract import MathExtractor

    try:
        payload = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as err:
        print(f"extract-html: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    try:
        html = decode_html(payload, args.charset)
    except DecodeError as err:
        print(f"extract-html: {args.file}: {err.reason}", file=sys.stderr)
        return 1
    result = MathExtractor(main_content=not args.no_main_content, width=args.width).extract(html)
    if args.info:
        print(
            f"has_math={result.has_math} formats={','.join(result.formats)} n_formulas={result.n_formulas}",
            file=sys.stderr,
        )
    if result.reason:
        print(f"extract-html: {args.file}: {result.reason}", file=sys.stderr)
        return 1
    sys.stdout.write(result.text + "\n")
    return 0


def cmd_eval_extract(args: argparse.Namespace) -> int:
    from math_extract.baselines import EXTRACTORS
    from math_extract.evaluate import score_evaldata, score_formulas, score_scrapinghub

    from .eval_data import load_evaldata, load_scrapinghub, maths_pages

    sets = set(args.sets.split(","))
    lim = (lambda xs: xs[: args.limit]) if args.limit else (lambda xs: xs)
    gold: dict[str, list] = {}
    if "scrapinghub" in sets:
        gold["scrapinghub"] = lim(load_scrapinghub(args.scrapinghub))
    if "evaldata" in sets:
        gold["evaldata"] = lim(load_evaldata(args.evaldata, args.cache))
    if "maths" in sets:
        gold["maths"] = maths_pages(shared_data_dir(), args.maths_warc, args.limit)
    print(f"{'extractor':<12} {'set':<12} {'n':>5}  scores")
    for name in args.extractor or ["ours"]:
        extract = EXTRACTORS[name]()
        for set_name, pages in gold.items():
            if set_name == "scrapinghub":
                r = score_scrapinghub(extract, pages)
                detail = f"P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f}"
            elif set_name == "evaldata":
                r = score_evaldata(extract, pages)
                detail = f"with-found={r['with_found']:.3f} without-absent={r['without_absent']:.3f} F1={r['f1']:.3f}"
            else:
                r = score_formulas(extract, pages)
                r["n"] = r["pages"]
                detail = f"formulas={r['formulas']} recall={r['recall']:.3f} macro={r['macro_recall']:.3f}"
            print(f"{name:<12} {set_name:<12} {r['n']:>5}  {detail}", flush=True)
    return 0
