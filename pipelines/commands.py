"""``curate run`` and ``curate stats``."""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline config (WARC shards -> parquet mixture)")
    p.add_argument("config", help="YAML run config (see pipelines/configs/demo.yaml)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786; "
                                       "default: an embedded LocalCluster")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: CPU count, max 8)")
    p.add_argument("--run-dir", help="override the config's run_dir")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)

    s = sub.add_parser("stats", help="per-stage documents in/out and drop reasons of a run directory")
    s.add_argument("run_dir")
    s.set_defaults(func=cmd_stats)


def cmd_run(args) -> int:
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

    from .report import format_totals, stage_totals
    from .run import run_pipeline

    where = f"Dask scheduler {args.scheduler}" if args.scheduler else "a local Dask cluster"
    print(f"curate: running {args.config} into {cfg.run_dir} on {where}", file=sys.stderr)
    try:
        with Executor(scheduler=args.scheduler, workers=args.workers, progress=not args.quiet) as ex:
            if ex.client.dashboard_link:
                print(f"curate: Dask dashboard at {ex.client.dashboard_link}", file=sys.stderr)
            rundir = run_pipeline(cfg, ex, echo=lambda m: print(m, file=sys.stderr))
    except (StageFailed, SchedulerUnreachable) as err:
        print(f"curate: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as err:
        print(f"curate: {err}", file=sys.stderr)
        return 1
    print(format_totals(stage_totals(rundir)))
    manifest = rundir.read_json("mixture", "manifest.json")
    print(f"\nmixture: {manifest['documents']} documents, {manifest['tokens']} tokens in "
          f"{len(manifest['files'])} file(s) at {rundir.url('mixture')}/ (manifest.json beside them)")
    return 0


def cmd_stats(args) -> int:
    from curation.rundir import RunDir

    from .report import format_totals, stage_totals

    rundir = RunDir(args.run_dir)
    if not rundir.exists():
        print(f"curate: {args.run_dir}: no such run directory", file=sys.stderr)
        return 2
    rows = stage_totals(rundir)
    if not rows:
        print(f"curate: {args.run_dir}: no stage has finished a task yet", file=sys.stderr)
        return 1
    print(format_totals(rows))
    return 0
