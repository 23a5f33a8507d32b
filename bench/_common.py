"""Measurement helpers the benchmarks share, so that every table counts CPU, memory and the anchor alike."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children: work hidden in a subprocess (lynx, datatrove's
    extractor sandbox) still counts."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """VmHWM (peak resident set) of a process in MB, from Linux ``/proc``; None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """VmHWM of this process. Not ru_maxrss: Linux carries that over exec from the parent's fork."""
    hwm = vm_hwm_mb()
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _packing_tool() -> Path:
    """``../shared/tools/debian_doc_warcs.py`` (``$CURATION_SHARED`` elsewhere), which packs the Debian-doc shards."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pipelines.shared_data import shared_dir

    tool = shared_dir() / "tools" / "debian_doc_warcs.py"
    if not tool.exists():
        raise SystemExit(f"{tool} not found: it packs the Debian-doc shards (../shared/tools)")
    return tool


def default_doc_packages() -> list[str]:
    """The packing tool's default packages (read from the tool: a script, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("debian_doc_warcs", _packing_tool())
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.DEFAULT_PACKAGES)


def debian_doc_shards(out: Path, packages: list[str], max_mb: float | None = None, shard_mb: float = 100) -> list[Path]:
    """The WARC shards of the packages' HTML docs in ``out``, packed once with the packing tool and reused while
    ``out`` holds them."""
    shards = sorted(out.glob("*.warc.gz"))
    if shards:
        return shards
    tool = _packing_tool()
    cmd = [sys.executable, str(tool), "--out", str(out), "--shard-mb", f"{shard_mb:g}", "--packages", *packages]
    subprocess.run(cmd + (["--max-mb", f"{max_mb:g}"] if max_mb else []), check=True)
    return sorted(out.glob("*.warc.gz"))


def html_bytes(shard: Path) -> tuple[int, int]:
    """(bytes of HTML, pages): the payloads of the shard's response records, the input every side is given."""
    from warcio.archiveiterator import ArchiveIterator

    total = pages = 0
    with open(shard, "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type == "response":
                total += len(record.content_stream().read())
                pages += 1
    return total, pages


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
