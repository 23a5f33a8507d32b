"""Faults with real processes: a Dask worker and its nanny killed mid-stage, the driver killed at random points,
a full disk, the run directory and inputs on a real S3 API, and two runs started on one run directory.

Every run uses the same config (only the run directory differs; it is not part of the config's hash), so each
fault's outcome is compared byte for byte with one clean run's mixture and manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import CURATE, REPO, curate, make_config

sys.path.insert(0, str(REPO / "bench"))
import soak_driver_kill  # bench/ is not a package: imported by path

pytestmark = pytest.mark.slow
outputs = soak_driver_kill.outputs


def configure(tmp: Path, corpus: Path, name: str, run_dir: Path | str | None = None, **overrides) -> Path:
    """The tests' run config (``conftest.make_config``) with the mixture search's larger proxy at its smallest:
    the faults are about the run directory and the processes, and that proxy is the search's slowest part."""
    import yaml

    from climb.search import SearchSettings

    path = make_config(tmp / f"{name}.yaml", corpus, tmp / name if run_dir is None else run_dir, **overrides)
    cfg = yaml.safe_load(path.read_text())
    smallest = {"judge_tokens": 20000, "judge_seeds": 1}
    cfg["climb"]["search"].update({k: v for k, v in smallest.items() if k in SearchSettings.model_fields})
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """(config, run directory) of one uninterrupted run: the reference every fault is compared with."""
    tmp = tmp_path_factory.mktemp("faults")
    cfg = configure(tmp, corpus, "clean")
    curate("run", str(cfg), "--workers", "2", "--quiet")
    return cfg, tmp / "clean"


def start(cfg: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*CURATE, "run", str(cfg), "--quiet", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"curate run did not end within {timeout} s:\n{err[-3000:]}") from None
    return proc.returncode, out, err


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def assert_parts_whole(run_dir: Path) -> None:
    """Every parquet file a reader would see (not a temporary) reads whole, and every completion marker of a
    shard stage has its part: nothing half-written is visible, let alone marked done."""
    for part in run_dir.glob("**/*.parquet"):
        pq.read_table(part)
    for marker in run_dir.glob("*/_done/part-*"):
        stage = marker.parent.parent
        if stage.name in ("extract", "filter", "dedup"):
            assert (stage / f"{marker.name}.parquet").exists(), f"{marker} marks a part that is not there"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str, cwd: Path) -> subprocess.Popen:
    """The ``dask`` command-line tool of this environment (``dask scheduler``, ``dask worker``)."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dask"), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_and_its_nanny_killed_mid_stage_leave_the_mixture_unchanged(clean, corpus, tmp_path):
    from distributed import Client

    cfg_clean, clean_dir = clean
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", cwd=tmp_path)]
    nannies = {}
    try:
        for name in ("w0", "w1"):
            nannies[name] = _dask(
                "worker", address, "--nthreads", "1", "--no-dashboard", "--name", name, "--host", "127.0.0.1",
                cwd=tmp_path,
            )  # fmt: skip
            procs.append(nannies[name])
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            cfg = configure(tmp_path, corpus, "dask")
            run = start(cfg, "--scheduler", address)
            run_dir = tmp_path / "dask"

            def busy_worker() -> str | None:
                """A worker executing a task of a shard stage once the run has finished some extract task."""
                if not list((run_dir / "extract" / "_done").glob("*")):
                    return None
                names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
                for addr, keys in client.processing().items():
                    if any(str(k).startswith(("extract-", "filter-")) for k in keys) and addr in names:
                        return addr
                return None

            wait_for(lambda: busy_worker() is not None or run.poll() is not None, 600, "a worker busy with a task")
            assert run.poll() is None, "the run ended before a worker could be killed"
            victim = busy_worker()
            assert victim is not None
            name = client.scheduler_info()["workers"][victim]["name"]
            worker_pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(nannies[name].pid, signal.SIGKILL)  # the nanny first, so that it cannot restart the worker
            os.kill(worker_pid, signal.SIGKILL)
            nannies[name].wait()
            wait_for(lambda: len(client.scheduler_info()["workers"]) == 1, 60, "the scheduler to drop the worker")
            code, _, err = finish(run)
        assert code == 0, err[-3000:]
        assert outputs(run_dir) == outputs(clean_dir)
        assert_parts_whole(run_dir)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_driver_killed_at_random_points_resumes_without_redoing_finished_work(clean, tmp_path):
    """The short version of ``bench/soak_driver_kill.py`` (10 points there, 2 here, chained in one run
    directory): no completion file present at a kill is rewritten later, and the last rerun's mixture and
    manifest are byte-identical to a clean run's."""
    cfg, clean_dir = clean
    points, problems = soak_driver_kill.soak(
        cfg, tmp_path / "soak", points=2, seed=3, complete_each=False, clean=clean_dir
    )
    assert not problems, problems
    assert any(p.killed and p.found for p in points), "no kill landed after a finished task"


def _mount_tmpfs(path: Path, size_kb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"a disk-full test needs a small tmpfs; mount is not permitted here: {proc.stderr.strip()}")


def test_full_disk_stops_with_one_clear_error_and_the_rerun_after_freeing_space_completes(clean, corpus, tmp_path):
    _, clean_dir = clean
    used_kb = int(subprocess.run(["du", "-sk", str(clean_dir)], capture_output=True, text=True).stdout.split()[0])
    mount = tmp_path / "small"
    _mount_tmpfs(mount, max(used_kb // 3, 64))
    try:
        run_dir = mount / "run"
        cfg = configure(tmp_path, corpus, "full", run_dir)
        code, _, err = finish(start(cfg, "--workers", "2"))
        assert code == 1, err[-3000:]
        lines = [line for line in err.splitlines() if "no space left" in line]
        assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
        assert lines[0].startswith("curate: stage ") and str(run_dir) in lines[0], lines[0]
        assert not (run_dir / "mixture" / "manifest.json").exists()
        assert_parts_whole(run_dir)
        done_before = soak_driver_kill.completion_files(run_dir)
        subprocess.run(["mount", "-o", f"remount,size={used_kb * 4}k", str(mount)], check=True)
        curate("run", str(cfg), "--workers", "2", "--quiet")
        assert not soak_driver_kill.changed(done_before, soak_driver_kill.completion_files(run_dir))
        assert outputs(run_dir) == outputs(clean_dir)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def s3_server():
    """A real S3 API (moto's server) on loopback; yields the environment a run needs to reach it through s3fs."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # fsspec reads FSSPEC_<PROTOCOL>_<ARGUMENT> in every process: the driver and each Dask worker
        "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    try:
        yield env
    finally:
        server.stop()


#: columns made from the shard's path: the document id, the file it was read from, the id of its duplicate cluster
LOCATION_COLUMNS = ("id", "warc_file", "dup_cluster")


def _mixture(run_dir: str, env: dict) -> tuple[list[dict], dict]:
    """The mixture's rows and manifest, read through fsspec (local or on the S3 server)."""
    import fsspec

    remote = {"endpoint_url": env["FSSPEC_S3_ENDPOINT_URL"], "key": "testing", "secret": "testing"}
    fs, base = fsspec.core.url_to_fs(run_dir, **(remote if "://" in run_dir else {}))
    rows = []
    for path in sorted(fs.glob(f"{base}/mixture/part-*.parquet")):
        with fs.open(path, "rb") as f:
            rows += pq.read_table(f).to_pylist()
    with fs.open(f"{base}/mixture/manifest.json", "rb") as f:
        return rows, json.load(f)


def assert_same_mixture_elsewhere(a: tuple[list[dict], dict], b: tuple[list[dict], dict]) -> None:
    """The same documents, text and weights, apart from what names where the inputs were (the location
    columns, the manifest's inputs and files); the message names every column that differs."""
    (rows_a, man_a), (rows_b, man_b) = a, b
    assert len(rows_a) == len(rows_b)
    differing = sorted({k for x, y in zip(rows_a, rows_b) for k in x if k not in LOCATION_COLUMNS and x[k] != y.get(k)})
    assert not differing, f"mixture columns differ: {differing}"
    for key in ("documents", "tokens", "weights", "clusters"):
        assert man_a.get(key) == man_b.get(key), key


def test_run_directory_and_inputs_on_s3_give_the_local_output(clean, corpus, s3_server, tmp_path):
    import s3fs

    _, clean_dir = clean
    fs = s3fs.S3FileSystem(endpoint_url=s3_server["FSSPEC_S3_ENDPOINT_URL"], key="testing", secret="testing")
    fs.mkdir("inputs")
    fs.mkdir("runs")
    for shard in sorted(corpus.iterdir()):
        fs.put_file(str(shard), f"inputs/corpus/{shard.name}")
    inputs = ["s3://inputs/corpus/*.warc*", "s3://inputs/corpus/missing-shard.warc.gz"]
    cfg = configure(tmp_path, corpus, "s3", "s3://runs/run", inputs=inputs)
    code, out, err = finish(start(cfg, "--workers", "2", env=s3_server))
    assert code == 0, err[-3000:]
    assert "s3://runs/run/mixture" in out
    assert_same_mixture_elsewhere(_mixture("s3://runs/run", s3_server), _mixture(str(clean_dir), s3_server))
    assert not fs.exists("runs/run/.lock"), "the run left its lock behind"
    assert not [p for p in fs.find("runs/run") if ".tmp-" in p], "temporaries left in the run directory"


def test_two_runs_started_on_one_run_directory_never_corrupt_it(clean, corpus, tmp_path):
    _, clean_dir = clean
    cfg = configure(tmp_path, corpus, "twice")
    first, second = start(cfg, "--workers", "1"), start(cfg, "--workers", "1")
    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 1]), [err[-2000:] for _, _, err in results]
    for code, _, err in results:
        if code == 1:
            lines = [line for line in err.splitlines() if line.startswith("curate: ")]
            assert "in use by another run" in lines[-1] and str(tmp_path / "twice") in lines[-1], err[-2000:]
    assert outputs(tmp_path / "twice") == outputs(clean_dir)
    assert_parts_whole(tmp_path / "twice")
    shutil.rmtree(tmp_path / "twice")
