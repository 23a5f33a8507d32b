#!/usr/bin/env python3
"""A measured gigabyte run: about 1 GB of real Debian-documentation HTML through the whole pipeline.

    python bench/bench_gigabyte.py [--gb 1] [--shard-mb 100] [--workers 2] [--snapshot-workers 100 1000]

Packs the HTML docs of ``../shared/tools/debian_doc_warcs.py``'s default packages plus python-pandas-doc,
python3.11-doc and rust-doc into WARC shards (``--shard-mb`` of HTML each, up to ``--gb``; cached under
``bench/.cache/``), runs ``curate run`` on them with the demo config's settings and ``--workers`` local workers,
and prints one table: per stage wall seconds, CPU seconds, documents and tokens in and out, and the peak RSS of
each process (driver, each Dask worker); then a cost model (wall and CPU seconds per GB of HTML per stage, how
each stage grows with data) and its extrapolation to one Common Crawl snapshot on N workers.

How it measures. Wall seconds per stage are the driver's own (the lines ``curate run`` prints as each stage
ends). CPU seconds are sampled from the process tree (driver, workers, and through their ``children`` times
the lynx processes they reaped) when each stage's line arrives, so a stage's CPU is the difference between its
end and the previous one; the total is exact (``getrusage`` of this script's reaped children). Peak RSS is each
process's ``VmHWM``, read every half second; per stage, the largest resident set seen in any one worker.
Documents and tokens come from the stages' ``_stats`` in the run directory. The run directory is fresh for each
measurement. The table goes to stdout and to ``--out`` (markdown).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # _common
from _common import debian_doc_shards, default_doc_packages, html_bytes, vm_hwm_mb  # noqa: E402

EXTRA_PACKAGES = ("python-pandas-doc", "python3.11-doc", "rust-doc")
# One Common Crawl snapshot, from Common Crawl's announcement of CC-MAIN-2024-22 (May 2024): 2.7 billion pages,
# 424.7 TiB of uncompressed content, stored as about 90,000 gzipped WARC files of about 1 GB (~100 TB).
SNAPSHOT: dict[str, Any] = {"name": "CC-MAIN-2024-22", "pages": 2.7e9, "gb": 424.7 * 1.099511627776e3}
# how each stage's cost grows with the data (see SCALE.md); "fixed": independent of the data size
GROWTH = {
    "extract": ("linear", "HTML bytes (one task per shard)"),
    "filter": ("linear", "documents extracted"),
    "dedup": ("linear", "documents kept (signatures and apply per shard; one global pass over band keys)"),
    "cleanup": ("linear", "documents routed to the LLM"),
    "classify": ("linear", "documents kept"),
    "embed": ("linear", "documents kept, plus one model load per worker"),
    "cluster": ("linear", "documents kept x clusters (k-means; fitted on a sample at scale)"),
    "search": ("fixed", "proxy runs x proxy_tokens, not the data"),
    "mixture": ("fixed", "the token budget, not the data"),
}
STAGE_LINE = re.compile(r"^\s+(\S+)\s+(?:([\d.]+) s|done)\s*$")


def pack(gb: float, shard_mb: float) -> list[Path]:
    """The shards: the shared tool's default packages plus ``EXTRA_PACKAGES`` (packed once, cached in bench/.cache)."""
    cache = REPO / "bench" / ".cache" / f"debdoc-gigabyte-{gb:g}gb-{shard_mb:g}mb"
    if not any(cache.glob("*.warc.gz")):  # the tool's own package list is only needed to pack
        return debian_doc_shards(cache, [*default_doc_packages(), *EXTRA_PACKAGES], gb * 1000, shard_mb)
    return sorted(cache.glob("*.warc.gz"))


def total_html(shards: list[Path]) -> tuple[int, int]:
    """(bytes of HTML, pages) over the shards; cached beside them (a gigabyte takes a while to read)."""
    cache = shards[0].parent / "_html_bytes.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return data["bytes"], data["pages"]
    counts = [html_bytes(shard) for shard in shards]
    total, pages = sum(c[0] for c in counts), sum(c[1] for c in counts)
    cache.write_text(json.dumps({"bytes": total, "pages": pages}))
    return total, pages


def write_config(base: Path, shards: list[Path], run_dir: Path, token_budget: int, path: Path) -> Path:
    """The base config (paths resolved against its folder) with these inputs, run directory and budget."""
    from pipelines.config import load_config

    cfg = load_config(base).model_dump(mode="json")
    cfg.update(inputs=[str(s) for s in shards], run_dir=str(run_dir))
    cfg["mixture"]["token_budget"] = token_budget
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@dataclass
class Monitor:
    """Samples the run's process tree: cumulative CPU, each process's peak RSS, each stage's largest worker."""

    pid: int
    labels: dict[int, str] = field(default_factory=dict)
    peak: dict[int, float] = field(default_factory=dict)
    stage_rss: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def tree(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def label(self, proc) -> str:
        if proc.pid not in self.labels:
            try:
                cmd = " ".join(proc.cmdline())
            except Exception:  # noqa: BLE001 - a process that ended between listing and reading
                cmd = ""
            if proc.pid == self.pid:
                name = "driver"
            elif "spawn_main" in cmd or "forkserver" in cmd:
                name = f"worker {sum(v.startswith('worker') for v in self.labels.values()) + 1}"
            else:
                name = proc.name() if cmd else "?"
            self.labels[proc.pid] = name
        return self.labels[proc.pid]

    def cpu(self) -> float:
        """CPU seconds of the live tree, with the children each process has reaped (lynx)."""
        total = 0.0
        for proc in self.tree():
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except Exception:  # noqa: BLE001 - ended meanwhile: its time moves to its parent's children
                pass
        return total

    def sample(self) -> None:
        for proc in self.tree():
            try:
                name = self.label(proc)
                hwm = vm_hwm_mb(proc.pid) or 0.0
                self.peak[proc.pid] = max(self.peak.get(proc.pid, 0.0), hwm)
                if name.startswith("worker"):
                    self.stage_rss = max(self.stage_rss, proc.memory_info().rss / 2**20)
            except Exception:  # noqa: BLE001 - ended meanwhile
                pass

    def loop(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()


def stage_counts(run_dir: Path, stage: str) -> dict:
    """Documents and tokens in and out, summed over the stage's task stats (absent values stay None)."""
    sums: dict = {"in": None, "out": None, "tokens_in": None, "tokens_out": None}
    for path in sorted((run_dir / stage / "_stats").glob("*.json")):
        stats = json.loads(path.read_text())
        for key in sums:
            if isinstance(stats.get(key), int):
                sums[key] = (sums[key] or 0) + stats[key]
    return sums


def measure(config: Path, workers: int, log: Path) -> tuple[list[dict], dict]:
    """Run ``curate run`` and measure it; returns (one row per stage, totals)."""
    cmd = [sys.executable, "-m", "pipelines.cli", "run", str(config), "--workers", str(workers), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # packing the shards ran children too
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mon = Monitor(proc.pid)
    sampler = threading.Thread(target=mon.loop, daemon=True)
    sampler.start()
    rows: list[dict] = []
    last_cpu = 0.0
    out_lines: list[str] = []
    threading.Thread(target=lambda: out_lines.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
    with open(log, "w") as log_f:
        for line in proc.stderr:  # type: ignore[union-attr]
            log_f.write(line)
            log_f.flush()
            if line.startswith("curate: Dask dashboard"):  # the cluster is up: stages start now
                mon.sample()
                last_cpu = mon.cpu()
            m = STAGE_LINE.match(line)
            if not m:
                continue
            mon.sample()
            now_cpu = mon.cpu()
            rows.append(
                {
                    "stage": m.group(1),
                    "wall": float(m.group(2)) if m.group(2) else 0.0,
                    "cpu": now_cpu - last_cpu,
                    "rss": mon.stage_rss,
                }
            )
            last_cpu, mon.stage_rss = now_cpu, 0.0
    code = proc.wait()
    wall = time.perf_counter() - start
    mon.stop.set()
    if code != 0:
        raise SystemExit(f"bench_gigabyte: curate run exited {code}; see {log}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peaks: dict[str, float] = {}
    for pid, mb in mon.peak.items():
        name = mon.labels.get(pid, "?")
        key = name if name in ("driver",) or name.startswith("worker") else f"{name} (largest)"
        peaks[key] = max(peaks.get(key, 0.0), mb)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    totals = {"wall": wall, "cpu": cpu, "peaks": peaks, "stdout": "".join(out_lines)}
    return rows, totals


def hours(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def fmt(value, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def report(rows, totals, run_dir: Path, gb: float, pages: int, workers: int, snapshot_workers: list[int]) -> str:
    lines = [
        f"{gb:.3f} GB of HTML ({pages:,} pages), `--workers {workers}`\n",
        "| stage | wall s | CPU s | docs in | docs out | tokens in | tokens out | peak RSS of a worker, MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c = stage_counts(run_dir, r["stage"])
        lines.append(
            f"| {r['stage']} | {r['wall']:.1f} | {r['cpu']:.1f} | {fmt(c['in'])} | {fmt(c['out'])} | "
            f"{fmt(c['tokens_in'])} | {fmt(c['tokens_out'])} | {r['rss']:.0f} |"
        )
    stage_wall = sum(r["wall"] for r in rows)
    lines.append(
        f"| **total** | **{totals['wall']:.1f}** | **{totals['cpu']:.1f}** | | | | | |\n\n"
        f"Total wall includes start-up (config checks, the local Dask cluster: {totals['wall'] - stage_wall:.1f} s); "
        "total CPU is exact (every reaped process). Peak RSS (VmHWM) per process: "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(totals["peaks"].items()))
        + ".\n"
    )
    lines += [
        f"\nCost model, and one Common Crawl snapshot ({SNAPSHOT['name']}: {SNAPSHOT['pages'] / 1e9:.1f} billion "
        f"pages, ~{SNAPSHOT['gb'] / 1e3:,.0f} TB uncompressed), scaled by HTML bytes (by pages in brackets; these "
        "pages are larger than the web's average). Fixed stages are not scaled. Wall hours on N workers assume the "
        "shard stages spread evenly; extrapolated, not measured.\n",
        "| stage | grows with | wall s / GB | CPU s / GB | snapshot CPU-hours | "
        + " | ".join(f"wall h on {n} workers" for n in snapshot_workers)
        + " |",
        "|---|---|---:|---:|---:|" + "---:|" * len(snapshot_workers),
    ]
    by_bytes, by_pages = SNAPSHOT["gb"] / gb, SNAPSHOT["pages"] / pages
    sum_cpu = {n: 0.0 for n in ("bytes", "pages")}
    sum_wall = [0.0 for _ in snapshot_workers]
    for r in rows:
        kind, what = GROWTH.get(r["stage"], ("linear", "data"))
        cpu_b = r["cpu"] * (by_bytes if kind == "linear" else 1) / 3600
        cpu_p = r["cpu"] * (by_pages if kind == "linear" else 1) / 3600
        sum_cpu["bytes"] += cpu_b
        sum_cpu["pages"] += cpu_p
        walls = [cpu_b / n if kind == "linear" else r["wall"] / 3600 for n in snapshot_workers]
        sum_wall = [a + b for a, b in zip(sum_wall, walls)]
        lines.append(
            f"| {r['stage']} | {kind}: {what} | {r['wall'] / gb:,.0f} | {r['cpu'] / gb:,.0f} | "
            f"{hours(cpu_b)} ({hours(cpu_p)}) | " + " | ".join(hours(w) for w in walls) + " |"
        )
    lines.append(
        f"| **total** | | {totals['wall'] / gb:,.0f} | {totals['cpu'] / gb:,.0f} | "
        f"**{hours(sum_cpu['bytes'])}** ({hours(sum_cpu['pages'])}) | " + " | ".join(hours(w) for w in sum_wall) + " |"
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=1.0, help="GB of HTML to pack (default 1)")
    ap.add_argument("--shard-mb", type=float, default=100.0, help="MB of HTML per shard (default 100)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--config", type=Path, default=REPO / "pipelines/configs/demo.yaml", help="settings to run with")
    ap.add_argument("--token-budget", type=int, default=10_000_000)
    ap.add_argument("--snapshot-workers", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--out", type=Path, help="markdown file for the tables (default: bench/.cache/gigabyte-GB.md)")
    args = ap.parse_args()
    if args.gb <= 0 or args.shard_mb <= 0 or args.workers < 1:
        ap.error("--gb and --shard-mb must be positive, --workers at least 1")
    shards = pack(args.gb, args.shard_mb)
    n_bytes, pages = total_html(shards)
    cache = REPO / "bench" / ".cache"
    run_dir = cache / f"gigabyte-run-{args.gb:g}gb"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    config = write_config(args.config, shards, run_dir, args.token_budget, cache / f"gigabyte-{args.gb:g}gb.yaml")
    print(f"{len(shards)} shards, {n_bytes / 1e9:.3f} GB of HTML, {pages:,} pages; running {config}", file=sys.stderr)
    rows, totals = measure(config, args.workers, cache / f"gigabyte-{args.gb:g}gb.log")
    table = report(rows, totals, run_dir, n_bytes / 1e9, pages, args.workers, args.snapshot_workers)
    out = args.out or cache / f"gigabyte-{args.gb:g}gb.md"
    out.write_text(table)
    print(table)
    print(f"(written to {out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
