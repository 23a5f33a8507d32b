"""The whole path from WARC shards to a parquet mixture, locally, resumed after kill -9, and on a real Dask
cluster (scheduler + two workers on 127.0.0.1), with the outputs compared byte for byte."""

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

from conftest import CURATE, REPO, curate, make_config

pytestmark = pytest.mark.slow


def outputs(run_dir: Path) -> dict[str, bytes]:
    files = sorted((run_dir / "mixture").glob("*.parquet")) + [run_dir / "mixture" / "manifest.json"]
    return {f.name: f.read_bytes() for f in files}


@pytest.fixture(scope="session")
def benchmark(corpus, tmp_path_factory) -> Path:
    """A benchmark whose one item quotes 30 words of a news page in the corpus (so that page must go)."""
    import trafilatura

    from conftest import sample_pages

    news, _ = sample_pages()
    words = trafilatura.extract(news[5][1].decode("utf-8", "replace")).split()
    path = tmp_path_factory.mktemp("bench") / "quiz.jsonl"
    path.write_text(
        json.dumps({"question": "unrelated item about prime numbers and their gaps " * 2})
        + "\n"
        + json.dumps({"question": " ".join(words[40:70])})
        + "\n"
    )
    return path


def configure(tmp: Path, corpus: Path, benchmark: Path, name: str, **overrides) -> Path:
    return make_config(tmp / f"{name}.yaml", corpus, tmp / name, benchmark=benchmark, **overrides)


@pytest.fixture(scope="session")
def local_run(corpus, benchmark, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("local")
    cfg = configure(tmp, corpus, benchmark, "run")
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
    assert {"id", "url", "text", "n_tokens", "cluster", "language", "warc_file", "warc_offset"} <= set(
        table.column_names
    )
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
    for reason, name in [
        ("malformed_record", "truncated.warc"),
        ("clipped_record", "clipped-record.warc.gz"),
        ("not_a_warc", "not-a-warc.warc.gz"),
        ("empty_shard", "empty.warc.gz"),
        ("unreadable_shard", "missing-shard.warc.gz"),
    ]:
        assert dropped.get(reason) == 1, (reason, dropped)
        assert name in errors and name in proc.stdout
    # bad-target-uri.warc.gz: the angle-bracketed URI is repaired and its page is kept
    urls = [s for s in stats if s["source"].endswith("bad-target-uri.warc.gz")][0]
    assert urls["out"] == 1
    # the two good shards were fully processed
    good = [s for s in stats if s["source"].endswith(("shard-a.warc.gz", "shard-b.warc.gz"))]
    assert sum(s["in"] for s in good) == 43
    for stage in ("extract", "filter", "dedup", "embed", "mixture"):
        assert stage in proc.stdout


def test_stats_command_reads_the_run_directory_alone(local_run):
    run_dir, proc = local_run
    out = curate("stats", str(run_dir)).stdout
    table = proc.stdout.split("\n\n")[0]
    assert out.startswith(table)
    assert "tokens in" in table


def test_same_config_and_seed_give_identical_bytes(local_run, corpus, benchmark, tmp_path):
    run_dir, _ = local_run
    cfg = configure(tmp_path, corpus, benchmark, "again")
    curate("run", str(cfg), "--workers", "1", "--quiet")
    assert outputs(tmp_path / "again") == outputs(run_dir)


def test_kill_minus_9_then_rerun_resumes_without_redoing_work(local_run, corpus, benchmark, tmp_path):
    run_dir, _ = local_run
    target = tmp_path / "killed"
    cfg = configure(tmp_path, corpus, benchmark, "killed")
    proc = subprocess.Popen(
        [*CURATE, "run", str(cfg), "--workers", "2", "--quiet"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 600
    while time.time() < deadline and not _completed(target / "filter"):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in _completed(target)}
    assert done_before, "the run was killed before finishing any task"
    assert not (target / "mixture" / "manifest.json").exists()
    curate("run", str(cfg), "--workers", "2", "--quiet")
    for marker, mtime in done_before.items():
        assert marker.stat().st_mtime_ns == mtime, f"{marker} was redone"
    assert not list(target.glob("**/*.tmp-*")), "a half-written file was left"
    assert outputs(target) == outputs(run_dir)


def _completed(folder: Path) -> list[Path]:
    """The completion markers under ``folder``: a marker being written when the run was killed is a temporary
    (``*.tmp-*``, swept by the rerun), not a finished task."""
    return [p for p in folder.glob("**/_done/*") if ".tmp-" not in p.name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_existing_dask_cluster_gives_the_local_output(local_run, corpus, benchmark, tmp_path):
    run_dir, _ = local_run
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                    ],
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        cfg = configure(tmp_path, corpus, benchmark, "dask")
        out = curate("run", str(cfg), "--scheduler", address, "--quiet")
        assert address in out.stderr
        assert outputs(tmp_path / "dask") == outputs(run_dir)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_bad_benchmark_file_stops_before_any_work(corpus, tmp_path):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(
        '{"q": "caf\xe9 cr\xe8me br\xfbl\xe9e and other desserts of the French kitchen"}\n'.encode("latin-1")
    )
    for benchmark, words in [(tmp_path / "absent.jsonl", "does not exist"), (bad, "UTF-8")]:
        cfg = make_config(tmp_path / "c.yaml", corpus, tmp_path / "run", benchmark=benchmark)
        proc = curate("run", str(cfg), "--quiet", check=False)
        assert proc.returncode == 1 and str(benchmark) in proc.stderr and words in proc.stderr, proc.stderr
        assert not (tmp_path / "run").exists()


def test_rerun_with_another_config_in_the_same_run_dir_is_refused(local_run, corpus, tmp_path):
    run_dir, _ = local_run
    cfg = make_config(tmp_path / "other.yaml", corpus, run_dir, seed=8)
    proc = curate("run", str(cfg), "--quiet", check=False)
    assert proc.returncode == 1 and "different config" in proc.stderr


def test_planted_duplicates_each_removed_by_their_pass(local_run, corpus):
    import pyarrow.parquet as pq

    from conftest import sample_pages

    run_dir, proc = local_run
    news, _ = sample_pages()
    dups = {r["id"]: r for r in pq.read_table(run_dir / "dedup" / "duplicates.parquet").to_pylist()}
    urls = {
        r["id"]: r["url"]
        for p in (run_dir / "filter").glob("part-*.parquet")
        for r in pq.read_table(p, columns=["id", "url"]).to_pylist()
    }
    by_url = {urls[i]: r for i, r in dups.items()}
    assert by_url[news[0][0] + "?again=1"]["reason"] == "exact_duplicate"
    assert urls[by_url[news[0][0] + "?again=1"]["duplicate_of"]] == news[0][0]
    # same capture date: the URL pass keeps the smaller id, whichever of the two URLs that is
    pair = {news[2][0], news[2][0] + "?utm_source=feed"}
    url_dup = [r for u, r in by_url.items() if u in pair]
    assert len(url_dup) == 1 and url_dup[0]["reason"] == "url_duplicate"
    assert urls[url_dup[0]["duplicate_of"]] in pair
    near = by_url.get(news[1][0] + "?v=2") or by_url.get(news[1][0])
    assert near["reason"] == "near_duplicate" and 0.8 <= near["similarity"] < 1.0
    for reason in ("exact_duplicate", "url_duplicate", "near_duplicate"):
        assert reason in proc.stdout


def test_contaminated_page_removed_with_the_benchmark_item(local_run):
    import pyarrow.parquet as pq

    from conftest import sample_pages

    run_dir, proc = local_run
    news, _ = sample_pages()
    aside = [r for p in (run_dir / "filter" / "_aside").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert [a["url"] for a in aside] == [news[5][0]]
    detail = json.loads(aside[0]["detail"])
    assert detail["benchmark"].endswith("quiz.jsonl") and detail["item"] == 1 and len(detail["ngram"].split()) == 13
    assert "decontamination:quiz.jsonl" in proc.stdout
