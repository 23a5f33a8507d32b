"""Issue 2: the whole path from WARC shards to a parquet mixture, locally, resumed after kill -9, and on a
real Dask cluster (scheduler + two workers on 127.0.0.1), with the outputs compared byte for byte."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CURATE, DATA, REPO, curate, make_config

pytestmark = pytest.mark.slow


def outputs(run_dir: Path) -> dict[str, bytes]:
    files = sorted((run_dir / "mixture").glob("*.parquet")) + [run_dir / "mixture" / "manifest.json"]
    return {f.name: f.read_bytes() for f in files}


@pytest.fixture(scope="session")
def local_run(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("local")
    cfg = make_config(tmp / "run.yaml", corpus, tmp / "run")
    proc = curate("run", str(cfg), "--workers", "2", "--quiet")
    return tmp / "run", proc


def test_outputs_load_in_pandas_pyarrow_and_datasets(local_run):
    run_dir, _ = local_run
    import datasets
    import pandas as pd
    import pyarrow.parquet as pq

    files = sorted(str(p) for p in (run_dir / "mixture").glob("part-*.parquet"))
    assert files
    df = pd.concat(pd.read_parquet(f) for f in files)
    table = pq.read_table(files[0])
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    manifest = json.loads((run_dir / "mixture" / "manifest.json").read_text())
    assert len(ds) == len(df) == manifest["documents"]
    assert {"id", "url", "text", "n_tokens", "cluster", "language", "warc_file", "warc_offset"} <= set(table.column_names)
    assert df["text"].str.len().min() > 0 and (df["language"] == "en").all()
    # weights are a distribution over the clusters and the budget is met without overshooting by a document
    weights = manifest["weights"]
    assert len(weights) == 3 and abs(sum(weights.values()) - 1) < 1e-4
    assert manifest["tokens"] == int(df["n_tokens"].sum())
    assert manifest["token_budget"] <= manifest["tokens"] <= manifest["token_budget"] + df["n_tokens"].max() * 3
    assert all(c["epochs"] <= 15 for c in manifest["clusters"])
    assert set(manifest) >= {"weights", "clusters", "seed", "config_hash", "inputs", "files"}


def test_every_bad_input_is_reported_and_counted(local_run):
    run_dir, proc = local_run
    stats = [json.loads(p.read_text()) for p in sorted((run_dir / "extract" / "_stats").glob("*.json"))]
    dropped = {}
    for s in stats:
        for reason, n in s["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + n
    errors = "\n".join(e for s in stats for e in s["errors"])
    for reason, name in [("malformed_record", "truncated.warc"), ("clipped_record", "clipped-record.warc.gz"),
                         ("not_a_warc", "not-a-warc.warc.gz"), ("empty_shard", "empty.warc.gz"),
                         ("unreadable_shard", "missing-shard.warc.gz")]:
        assert dropped.get(reason) == 1, (reason, dropped)
        assert name in errors and name in proc.stdout
    # bad-target-uri.warc.gz: the angle-bracketed URI is repaired and its page is kept
    urls = [s for s in stats if s["source"].endswith("bad-target-uri.warc.gz")][0]
    assert urls["out"] == 1
    # the two good shards were fully processed and the planted duplicate was removed
    good = [s for s in stats if s["source"].endswith(("shard-a.warc.gz", "shard-b.warc.gz"))]
    assert sum(s["in"] for s in good) == 41
    dedup = json.loads((run_dir / "dedup" / "_stats" / "part-00000.json").read_text())
    assert sum(json.loads(p.read_text())["dropped"].get("exact_duplicate", 0)
               for p in (run_dir / "dedup" / "_stats").glob("*.json")) >= 1, dedup
    for stage in ("extract", "filter", "dedup", "tokens", "mixture"):
        assert stage in proc.stdout


def test_stats_command_reads_the_run_directory_alone(local_run):
    run_dir, proc = local_run
    out = curate("stats", str(run_dir)).stdout
    assert out.splitlines()[2:7] == proc.stdout.splitlines()[2:7]


def test_same_config_and_seed_give_identical_bytes(local_run, corpus, tmp_path):
    run_dir, _ = local_run
    cfg = make_config(tmp_path / "run.yaml", corpus, tmp_path / "again")
    curate("run", str(cfg), "--workers", "1", "--quiet")
    assert outputs(tmp_path / "again") == outputs(run_dir)


def test_kill_minus_9_then_rerun_resumes_without_redoing_work(local_run, corpus, tmp_path):
    run_dir, _ = local_run
    target = tmp_path / "killed"
    cfg = make_config(tmp_path / "run.yaml", corpus, target)
    proc = subprocess.Popen([*CURATE, "run", str(cfg), "--workers", "2", "--quiet"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and not list((target / "tokens" / "_done").glob("*")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in target.glob("**/_done/*")}
    assert done_before, "the run was killed before finishing any task"
    assert not (target / "mixture" / "manifest.json").exists()
    curate("run", str(cfg), "--workers", "2", "--quiet")
    for marker, mtime in done_before.items():
        assert marker.stat().st_mtime_ns == mtime, f"{marker} was redone"
    assert outputs(target) == outputs(run_dir)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_existing_dask_cluster_gives_the_local_output(local_run, corpus, tmp_path):
    run_dir, _ = local_run
    dask = [sys.executable, "-m", "distributed.cli"]
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"], cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        cfg = make_config(tmp_path / "run.yaml", corpus, tmp_path / "dask")
        out = curate("run", str(cfg), "--scheduler", address, "--quiet")
        assert address in out.stderr
        assert outputs(tmp_path / "dask") == outputs(run_dir)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    del dask


def test_rerun_with_another_config_in_the_same_run_dir_is_refused(local_run, corpus, tmp_path):
    run_dir, _ = local_run
    cfg = make_config(tmp_path / "other.yaml", corpus, run_dir, seed=8)
    proc = curate("run", str(cfg), "--quiet", check=False)
    assert proc.returncode == 1 and "different config" in proc.stderr
