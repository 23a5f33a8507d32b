#!/usr/bin/env python3
"""What progress inside a task costs extraction: the extract stage on the real executor (a LocalCluster, one
worker process) with the progress display on and off, alternating, in one process; and the cost of one
``report_progress`` call beside the time one document takes to extract.

With progress on, every document read calls ``curation.executor.report_progress`` (a counter and a clock read)
and once a second the task sends its count to the scheduler as a Dask event, which the driver shows beside the
stage's bar. Off (``--quiet``), nothing is counted or sent. Each repetition extracts the same shards into a
fresh run directory; the table gives, per side, the task seconds (the worker's own clock around each task) and
the worker's CPU seconds (its process and lynx, its children), and the ratios on/off of their medians. On a
shared machine the wall clock moves with the neighbours' load; the CPU seconds much less.

    python bench/bench_progress.py [--shard FILE.warc.gz ...] [--reps 3]

Default shards: the bundled sample's maths documentation and Common Crawl excerpt (sample/warc/).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SHARDS = [
    REPO / "sample/warc/debian-maths-docs.warc.gz",
    REPO / "sample/warc/cc-main-2020-34-excerpt.warc.gz",
]


def _worker_cpu() -> float:
    """CPU seconds of the calling worker process and its reaped children (lynx)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def extract_once(executor, shards: list[Path], progress: bool) -> tuple[float, float, int]:
    """Task seconds, the worker's CPU seconds and documents read for one extraction of ``shards`` into a fresh
    run directory."""
    from curation.extract import ExtractSettings, ExtractStage
    from curation.rundir import RunDir
    from pipelines.stages import make_extractor

    settings = ExtractSettings()
    stage = ExtractStage([str(s) for s in shards], settings, make_extractor(settings), tokens=None)
    executor.progress = progress
    before = sum(executor.client.run(_worker_cpu).values())
    with tempfile.TemporaryDirectory() as tmp:
        stats = stage.run(executor, RunDir(f"{tmp}/run"))
    cpu = sum(executor.client.run(_worker_cpu).values()) - before
    return sum(s["seconds"] for s in stats), cpu, sum(s["in"] or 0 for s in stats)


def call_cost(n: int = 2_000_000) -> float:
    """Nanoseconds per ``report_progress()`` call with a task's counter installed (the sends, one a second,
    go to a stand-in: their cost is per second, not per document)."""
    import curation.executor as ex

    class Sink:
        def log_event(self, topic, msg) -> None:
            pass

    ex._PROGRESS.task = ex._TaskProgress("bench", Sink())
    try:
        start = time.perf_counter()
        for _ in range(n):
            ex.report_progress()
        return (time.perf_counter() - start) / n * 1e9
    finally:
        ex._PROGRESS.task = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shard", action="append", type=Path, help="WARC shard (repeatable)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per side, alternating (default 3)")
    args = parser.parse_args()
    shards = args.shard or DEFAULT_SHARDS

    from curation.executor import Executor

    seconds: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    docs = 0
    with Executor(workers=1, progress=False) as executor:
        extract_once(executor, shards, False)  # warm-up: the worker's imports, lynx in the page cache
        for rep in range(args.reps):
            for progress in (True, False) if rep % 2 == 0 else (False, True):
                s, c, docs = extract_once(executor, shards, progress)
                seconds[progress].append(s)
                cpu[progress].append(c)
    ns = call_cost()
    off_cpu = statistics.median(cpu[False])
    per_doc_ms = off_cpu / max(docs, 1) * 1e3
    print(f"extract stage, {len(shards)} shard(s), {docs} documents read per run, 1 worker, {args.reps} runs per side")
    print(
        f"{'progress':<9} {'task seconds (each run)':<40} {'median':>7}   {'worker CPU s (each run)':<40} {'median':>7}"
    )
    for side, label in ((True, "on"), (False, "off")):
        walls = ", ".join(f"{x:.2f}" for x in seconds[side])
        cpus = ", ".join(f"{x:.2f}" for x in cpu[side])
        print(
            f"{label:<9} {walls:<40} {statistics.median(seconds[side]):>7.2f}   "
            f"{cpus:<40} {statistics.median(cpu[side]):>7.2f}"
        )
    wall_ratio = statistics.median(seconds[True]) / statistics.median(seconds[False])
    print(
        f"ratio on/off of the medians: task seconds {wall_ratio:.3f}, worker CPU {statistics.median(cpu[True]) / off_cpu:.3f}"
    )
    print(
        f"report_progress(): {ns:.0f} ns per call; extraction: {per_doc_ms:.1f} ms of worker CPU per document; "
        f"the counter is {ns / (per_doc_ms * 1e6):.1e} of a document's CPU"
    )


if __name__ == "__main__":
    main()
