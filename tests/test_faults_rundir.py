"""The run directory's own answers to faults, without a whole run: a full disk names the file that did not
fit and leaves no temporary; a driver sees what workers in other processes wrote, on a real S3 API."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import uuid

import pytest

from curation.rundir import RunDir


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"needs a small tmpfs; mount is not permitted here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_names_the_target_and_leaves_no_temporary(small_tmpfs):
    rundir = RunDir(str(small_tmpfs / "run"))
    rundir.write_bytes(b"fits", "extract", "small.bin")
    with pytest.raises(OSError) as caught:
        rundir.write_bytes(os.urandom(256 * 1024), "extract", "part-00000.parquet")
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == rundir.url("extract", "part-00000.parquet")
    assert sorted(p.name for p in (small_tmpfs / "run" / "extract").iterdir()) == ["small.bin"]
    rundir.write_bytes(b"still room for small files", "extract", "_done", "part-00001")  # space was given back


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_a_driver_sees_what_other_processes_wrote_after_it_listed(s3_endpoint, monkeypatch):
    """s3fs keeps every listing it made; workers write parts, stats and markers from other processes (here:
    another filesystem instance, which shares no cache), and the driver must see them."""
    import s3fs

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    bucket = f"run-{uuid.uuid4().hex[:8]}"
    worker = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    worker.mkdir(bucket)
    driver = RunDir(f"s3://{bucket}/run")
    driver.fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    driver.write_json({"task": "part-00000"}, "extract", "_stats", "part-00000.json")
    assert driver.names("extract", "_stats") == ["part-00000.json"] and driver.parts("extract") == []
    worker.pipe(f"{bucket}/run/extract/part-00001.parquet", b"PAR1")
    worker.pipe(f"{bucket}/run/extract/_stats/part-00001.json", b'{"task": "part-00001"}')
    worker.pipe(f"{bucket}/run/extract/_done/part-00001", b"")
    assert driver.parts("extract") == ["part-00001.parquet"]
    assert driver.names("extract", "_stats") == ["part-00000.json", "part-00001.json"]
    assert driver.is_done("extract", "part-00001")
    assert [s["task"] for s in driver.stage_stats("extract")] == ["part-00000", "part-00001"]
