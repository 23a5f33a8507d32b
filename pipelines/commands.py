"""``curate run``, ``curate stats``, ``curate report``, ``curate extract-html`` and ``curate eval-extract``."""

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

    r = sub.add_parser("report", help="write RUN/report/index.html: the mixture report, one self-contained page")
    r.add_argument("run_dir")
    r.add_argument("--out", help="folder to write index.html into (default: RUN/report/)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_report)

    data = shared_data_dir()
    p = sub.add_parser("extract-html", help="print the maths-preserving text of one HTML page")
    p.add_argument("file", nargs="?", default="-", help="HTML file, or - for stdin")
    p.add_argument("--charset", default=None, help="declared charset (as an HTTP header would give)")
    p.add_argument("--no-main-content", action="store_true", help="keep boilerplate (render the whole page)")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--info", action="store_true", help="print maths detection on stderr")
    p.set_defaults(func=cmd_extract_html)

    p = sub.add_parser(
        "eval-extract",
        help="score extractors on the gold sets: one table of F1 per set and page type, formula recall per maths set",
    )
    p.add_argument(
        "--extractor",
        action="append",
        choices=["ours", "trafilatura", "resiliparse", "lynx"],
        help="repeatable; default: all four",
    )
    p.add_argument("--data", default=str(data), help="folder holding extraction/ and math/ (default: %(default)s)")
    p.add_argument("--scrapinghub", help="folder with ground-truth.json (default: under --data)")
    p.add_argument("--evaldata", help="trafilatura's evaldata.json (default: under --data)")
    p.add_argument("--cache", help="the pages evaldata names (default: under --data)")
    p.add_argument("--maths-warc", action="append", default=[], help="WARC of maths pages for set maths (repeatable)")
    p.add_argument("--limit", type=int, default=0, help="pages per set / WARC (0: all)")
    p.add_argument(
        "--sets",
        default="wcxb,cleaneval,daniel,scrapinghub,evaldata,math/mixed,math/threads,maths",
        help="comma-separated subset of %(default)s",
    )
    p.add_argument(
        "--per-page",
        metavar="FILE",
        help="write one row per extractor, set and page (.csv, else JSON lines) to sort out the worst pages",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
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
    from curation.rundir import RunDir

    from .config import ConfigError
    from .report import NotARunDir, format_totals, recorded_config, stage_totals
    from .report.rundata import recorded_stages

    rundir = RunDir(args.run_dir)
    try:  # the resolved config the run recorded (absolute paths), so the same stages are listed
        cfg = recorded_config(rundir)
    except (NotARunDir, ConfigError) as err:
        print(f"curate: {err}", file=sys.stderr)
        return 2
    rows = stage_totals(rundir, recorded_stages(cfg))
    if not rows:
        print(f"curate: {args.run_dir}: no stage has finished a task yet", file=sys.stderr)
        return 1
    print(format_totals(rows))
    if rundir.exists("search", "baselines.json"):
        from climb.baselines import format_judgement

        print("\n" + format_judgement(rundir.read_json("search", "baselines.json")))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .report import NotARunDir, write_report

    try:
        path = write_report(args.run_dir, args.out, progress=not args.quiet)
    except (NotARunDir, ConfigError, OSError) as err:
        print(f"curate: {err}", file=sys.stderr)
        return 2
    print(path)
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
    """Extract every page of the chosen sets once per extractor, score it, print the table, write per-page rows.

    Pages are extracted in small batches (ours starts one lynx per batch) and kept by content, so a page that
    two sets share is extracted once; a batch that raises is redone page by page, and a page that still raises
    scores as empty text with its error in the per-page rows, so one bad page does not end an hour's run."""
    import hashlib

    from tqdm.auto import tqdm

    from math_extract.baselines import EXTRACTORS
    from math_extract.evaluate import score_page, summary_table

    from .eval_data import ALL_SETS, load_sets

    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_SETS]
    if unknown:
        print(f"eval-extract: unknown set {', '.join(unknown)}; choose from {', '.join(ALL_SETS)}", file=sys.stderr)
        return 2
    sets = load_sets(names, args.data, args.limit, args.scrapinghub, args.evaldata, args.cache, args.maths_warc)
    pages = [page for set_pages in sets.values() for page in set_pages]
    by_content = {hashlib.sha1(p.html.encode("utf-8", "surrogatepass")).digest(): p.html for p in pages}
    extractors = args.extractor or list(EXTRACTORS)
    rows = []
    for name in extractors:
        extract = EXTRACTORS[name]()
        texts: dict[bytes, str] = {}
        errors: dict[bytes, str] = {}
        keys = list(by_content)
        with tqdm(total=len(keys), desc=name, unit="page", disable=args.quiet, file=sys.stderr) as bar:
            for start in range(0, len(keys), 8):
                batch = keys[start : start + 8]
                try:
                    texts.update(zip(batch, extract([by_content[k] for k in batch])))
                except Exception:  # noqa: BLE001 - find the page, below
                    for key in batch:
                        try:
                            texts[key] = extract([by_content[key]])[0]
                        except Exception as exc:  # noqa: BLE001 - the extractor's failure on this page
                            texts[key], errors[key] = "", f"{type(exc).__name__}: {exc}"
                bar.update(len(batch))
        for page in pages:
            key = hashlib.sha1(page.html.encode("utf-8", "surrogatepass")).digest()
            row = {"extractor": name, "set": page.set, "kind": page.kind, "id": page.id, "url": page.url}
            row.update(score_page(page, texts[key]))
            if key in errors:
                row["error"] = errors[key]
            rows.append(row)
    print(summary_table(rows, extractors), flush=True)
    if args.per_page:
        _write_rows(args.per_page, rows)
    return 0


def _write_rows(path: str, rows: list[dict]) -> None:
    """Per-page rows as CSV (by extension; the union of the rows' keys as columns) or JSON lines."""
    import csv
    import json

    with open(path, "w", newline="", encoding="utf-8") as fh:
        if path.endswith(".csv"):
            columns = list(dict.fromkeys(k for row in rows for k in row))
            writer = csv.DictWriter(fh, columns)
            writer.writeheader()
            writer.writerows(rows)
        else:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
