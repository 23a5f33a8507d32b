"""Measurement helpers the benchmarks share, so that every table counts CPU, memory and the anchor alike."""

from __future__ import annotations

import resource
from pathlib import Path


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children: work hidden in a subprocess (lynx, datatrove's
    extractor sandbox) still counts."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> float:
    """VmHWM of this process. Not ru_maxrss: Linux carries that over exec from the parent's fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def datatrove_anchor(shard: Path, out: Path, limit: int = -1) -> tuple[int, int]:
    """The anchor: datatrove's WarcReader -> Trafilatura -> ParquetWriter on one shard, one task, one worker.

    Returns (documents read, documents written). Both come from the run itself (the reader's own
    ``documents`` stat, the parquet footers), so a caller timing this call times datatrove's work only, not
    a second pass over the shard. ``limit`` is WarcReader's (-1: the whole shard).
    """
    import pyarrow.parquet as pq
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    shard, out = Path(shard), Path(out)
    stats = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(shard.parent), glob_pattern=shard.name, limit=limit),
            Trafilatura(favour_precision=True, timeout=10),
            ParquetWriter(str(out / "data")),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(out / "logs"),
    ).run()
    if stats is None:  # datatrove skips a task its logging_dir marks done: the counts would be someone else's
        raise RuntimeError(f"{out / 'logs'} already holds a completed run; give datatrove_anchor() a fresh directory")
    read = int(stats.stats[0]["documents"].total)
    written = sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("*.parquet"))
    return read, written
