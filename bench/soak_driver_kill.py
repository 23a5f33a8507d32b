#!/usr/bin/env python3
"""Soak: kill the driver (``kill -9`` on its process group: driver, Dask workers, lynx) at N random points of
one run, rerun after each, and check what a resume promises.

    python bench/soak_driver_kill.py [--config pipelines/configs/demo.yaml] [--points 10] [--seed 0]
                                     [--workers 2] [--out runs/soak] [--no-complete-each]

A clean run first gives the reference outputs and the number M of completion files a whole run writes (every
task's ``_done`` marker and the files that mark a global step done, e.g. ``dedup/duplicates.parquet``). The
kill points are N seeded draws from 0..M-1, sorted: the driver is killed once the run directory holds that many
completion files, after a random 0-1.5 s more, so kills land in every stage, inside tasks, global steps and
between them. The points are chained in one run directory: each rerun resumes what the kills before it left.

After every kill and at the end it checks:

- no completion file that existed at a kill is rewritten later (its modification time is unchanged): no
  finished task or global step is redone;
- with ``--complete-each`` (the default), a copy of the killed run directory (modification times kept) is run to
  completion at once: every rerun completes, with the mixture and manifest byte-identical to the clean run's;
- the last rerun completes with byte-identical outputs.

Exit status 0 when every check held; the table lists each point. ``tests/test_faults.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# files whose existence tells a rerun that a global step is done (written last by that step)
GLOBAL_DONE = (
    "dedup/duplicates.parquet",
    "dedup/clusters.parquet",
    "cluster/clusters.json",
    "search/pool.parquet",
    "search/best.json",
    "mixture/_selection.parquet",
    "mixture/manifest.json",
)


def completion_files(run_dir: Path) -> dict[str, int]:
    """Every completion file of a run directory, relative path -> modification time (ns)."""
    found = {}
    for marker in run_dir.glob("**/_done/*"):
        if ".tmp-" not in marker.name:
            found[str(marker.relative_to(run_dir))] = marker.stat().st_mtime_ns
    for rel in GLOBAL_DONE:
        path = run_dir / rel
        if path.exists():
            found[rel] = path.stat().st_mtime_ns
    return found


def outputs(run_dir: Path) -> dict[str, bytes]:
    """The mixture parts and the manifest, by name: what must be byte-identical across reruns."""
    files = sorted((run_dir / "mixture").glob("part-*.parquet")) + [run_dir / "mixture" / "manifest.json"]
    return {f.name: f.read_bytes() for f in files if f.exists()}


def curate_run(config: Path, run_dir: Path, workers: int, log: Path) -> subprocess.Popen:
    """``curate run`` in its own process group (so one kill reaches its workers and their children)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", str(config), "--run-dir", str(run_dir)]
            + ["--workers", str(workers), "--quiet"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_to_end(config: Path, run_dir: Path, workers: int, log: Path, timeout: float = 1800) -> None:
    proc = curate_run(config, run_dir, workers, log)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"curate run into {run_dir} took over {timeout:.0f} s (log: {log})") from None
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"curate run into {run_dir} exited {code} (log: {log}):\n{tail}")


def kill_when(config: Path, run_dir: Path, workers: int, log: Path, count: int, jitter: float) -> bool:
    """Start the run and ``kill -9`` its process group once ``count`` completion files exist, ``jitter`` seconds
    later. Returns False when the run ended by itself before that."""
    proc = curate_run(config, run_dir, workers, log)
    while proc.poll() is None and len(completion_files(run_dir)) < count:
        time.sleep(0.1)
    if jitter and proc.poll() is None:
        time.sleep(jitter)
    ended = proc.poll() is not None
    if not ended:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return not ended


@dataclass
class Point:
    target: int  # completion files present when the kill was due
    killed: bool = True
    found: int = 0  # completion files present after the kill
    completed_copy: bool | None = None  # the copy run to completion matched the reference (None: not tried)
    problems: list[str] = field(default_factory=list)


def changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Completion files of ``before`` that are gone or rewritten in ``after``."""
    return [f"{rel} redone" if rel in after else f"{rel} removed" for rel, t in before.items() if after.get(rel) != t]


def soak(
    config: Path,
    out: Path,
    points: int = 10,
    seed: int = 0,
    workers: int = 2,
    complete_each: bool = True,
    clean: Path | None = None,
    echo=print,
) -> tuple[list[Point], list[str]]:
    """The whole soak (see the module's docstring). ``clean``: a finished run directory of the same config to
    compare with (default: a clean run made first). Returns the points and every problem found ([] when none)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    log = out / "curate.log"
    if clean is None:
        clean = out / "clean"
        start = time.perf_counter()
        run_to_end(config, clean, workers, log)
        echo(f"clean run: {time.perf_counter() - start:.0f} s")
    reference = outputs(clean)
    total = len(completion_files(clean))
    rng = random.Random(seed)
    targets = sorted(rng.choices(range(total), k=points) if points > total else rng.sample(range(total), points))
    run_dir = out / "killed"
    seen: dict[str, int] = {}
    problems: list[str] = []
    done: list[Point] = []
    for i, target in enumerate(targets):
        point = Point(target)
        point.killed = kill_when(config, run_dir, workers, log, target, rng.uniform(0, 1.5))
        now = completion_files(run_dir)
        point.found = len(now)
        point.problems += changed(seen, now)
        seen.update(now)
        if complete_each:
            copy = out / f"point-{i:02d}"
            shutil.copytree(run_dir, copy)  # copy2: modification times kept
            run_to_end(config, copy, workers, log)
            point.problems += [f"copy: {p}" for p in changed(now, completion_files(copy))]
            point.completed_copy = outputs(copy) == reference
            if not point.completed_copy:
                point.problems.append(f"copy {copy.name}: mixture or manifest differs from the clean run's")
            shutil.rmtree(copy)
        problems += [f"point {i} (kill at {target}): {p}" for p in point.problems]
        done.append(point)
        echo(
            f"point {i}: kill at {target} completion files -> {'killed' if point.killed else 'ended first'} "
            f"with {point.found}; {'ok' if not point.problems else '; '.join(point.problems)}"
        )
    run_to_end(config, run_dir, workers, log)
    problems += [f"final rerun: {p}" for p in changed(seen, completion_files(run_dir))]
    if outputs(run_dir) != reference:
        problems.append("final rerun: mixture or manifest differs from the clean run's")
    return done, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=REPO / "pipelines/configs/demo.yaml")
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "runs/soak")
    ap.add_argument("--no-complete-each", dest="complete_each", action="store_false")
    args = ap.parse_args()
    if args.points < 1:
        ap.error("--points must be at least 1")
    start = time.perf_counter()
    points, problems = soak(args.config, args.out, args.points, args.seed, args.workers, args.complete_each)
    print("\n| point | kill at (completion files) | killed | files after | copy completed identical | problems |")
    print("|---:|---:|---|---:|---|---|")
    for i, p in enumerate(points):
        copy = "-" if p.completed_copy is None else ("yes" if p.completed_copy else "NO")
        print(f"| {i} | {p.target} | {'yes' if p.killed else 'ended first'} | {p.found} | {copy} | {len(p.problems)} |")
    print(
        f"\n{len(points)} points in {time.perf_counter() - start:.0f} s; final rerun byte-identical: "
        f"{'yes' if not any(p.startswith('final') for p in problems) else 'NO'}"
    )
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
