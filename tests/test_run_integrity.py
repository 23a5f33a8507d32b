"""Nothing lost, nothing mixed: one copy of a record read twice, a run directory bound to its inputs, one run
per directory, a full disk named by stage. Every input is made here from the bundled sample shard."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from curation.executor import Executor
from curation.rundir import RunDir, RunDirBusy, RunLock
from curation.stage import Stage
from pipelines.claim import RunDirConflict, _reaches_into, check_run_dir_outside_inputs
from pipelines.config import load_config
from pipelines.run import DiskFull, claimed_run, run_stages

from conftest import CURATE, REPO, make_config, write_warc

SAMPLE = REPO / "sample/warc/debian-maths-docs.warc.gz"


def sample_records(n: int) -> list[tuple[str, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    with open(SAMPLE, "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "response" and len(pages) < n:
                pages.append((rec.rec_headers.get_header("WARC-Target-URI"), rec.content_stream().read()))
    return pages


def config(tmp: Path, inputs: list[str], run_dir: Path) -> Path:
    return make_config(tmp / "run.yaml", tmp, run_dir, inputs=inputs)


# -- 1. a record read twice keeps exactly one copy ------------------------------------------------------------
@pytest.mark.slow
def test_a_shard_copied_under_another_name_and_id_less_records_keep_exactly_one_copy(tmp_path):
    pages = sample_records(12)
    shards = tmp_path / "shards"
    shards.mkdir()
    write_warc(shards / "a.warc.gz", pages[:10])
    shutil.copy(shards / "a.warc.gz", shards / "b.warc.gz")  # the same records again, under another name
    url, body = pages[10]
    write_warc(shards / "c.warc.gz", [(url, body), (url, body + b"<!-- recrawl -->")], record_ids=False)
    cfg = load_config(config(tmp_path, [str(shards / "*.warc.gz")], tmp_path / "run"))
    with claimed_run(cfg) as (rundir, stages), Executor(workers=1, progress=False) as ex:
        run_stages(stages[:3], rundir, ex, echo=lambda m: None)  # extract, filter, dedup
        tables = [rundir.read_table("dedup", p, columns=["id", "url", "warc_file"]) for p in rundir.parts("dedup")]
        filtered = [rundir.read_table("filter", p, columns=["id", "url"]) for p in rundir.parts("filter")]
        dups = rundir.read_table("dedup", "duplicates.parquet").to_pylist()
    ids = [i for t in tables for i in t["id"].to_pylist()]
    assert ids
    urls = [u for t in tables for u in t["url"].to_pylist()]
    assert len(ids) == len(set(ids))
    survivors_of_a = {u for t in filtered[:1] for u in t["url"].to_pylist()}
    assert survivors_of_a, "the filter kept nothing of shard a: the test shard needs other pages"
    assert sorted(u for u in urls if u in survivors_of_a) == sorted(survivors_of_a)  # each once, none lost
    assert urls.count(url) == 1
    assert all(d["id"] != d["duplicate_of"] for d in dups)
    assert {d["reason"] for d in dups} <= {"url_duplicate", "exact_duplicate", "near_duplicate"}


# -- 2. the run directory is bound to the files the globs matched ---------------------------------------------
@pytest.fixture
def two_shards(tmp_path) -> Path:
    shards = tmp_path / "shards"
    shards.mkdir()
    pages = sample_records(4)
    write_warc(shards / "a.warc.gz", pages[:2])
    write_warc(shards / "b.warc.gz", pages[2:])
    return shards


def claim_once(cfg_path: Path) -> None:
    with claimed_run(load_config(cfg_path)):
        pass


def test_a_shard_added_after_the_run_started_is_refused_by_name(tmp_path, two_shards):
    cfg = config(tmp_path, [str(two_shards / "*.warc.gz")], tmp_path / "run")
    claim_once(cfg)
    claim_once(cfg)  # the same inputs: resumes
    write_warc(two_shards / "a2.warc.gz", sample_records(5)[4:])  # sorts between a and b: shifts b's task
    with pytest.raises(RunDirConflict, match=r"input files changed.*added .*a2\.warc\.gz"):
        claim_once(cfg)


def test_a_shard_rewritten_or_removed_is_refused(tmp_path, two_shards):
    cfg = config(tmp_path, [str(two_shards / "*.warc.gz")], tmp_path / "run")
    claim_once(cfg)
    with open(two_shards / "b.warc.gz", "ab") as f:
        f.write(b"\0")
    with pytest.raises(RunDirConflict, match=r"changed .*b\.warc\.gz"):
        claim_once(cfg)
    (two_shards / "b.warc.gz").unlink()
    with pytest.raises(RunDirConflict, match=r"removed .*b\.warc\.gz"):
        claim_once(cfg)


@pytest.mark.parametrize("pattern", ["*/*", "**", "*/*/*.parquet", "run/extract/part-00000.parquet"])
def test_a_run_dir_inside_the_input_globs_is_refused_before_any_write(tmp_path, two_shards, pattern):
    run_dir = two_shards / "run"
    cfg = config(tmp_path, [str(two_shards / "*.warc.gz"), str(two_shards / pattern)], run_dir)
    with pytest.raises(RunDirConflict, match="inside the inputs"):
        claim_once(cfg)
    assert not run_dir.exists()


def test_globs_that_cannot_reach_into_the_run_dir_are_accepted(tmp_path):
    assert not _reaches_into("/data/*.warc.gz", "/data/run")
    assert not _reaches_into("/data/*", "/data/run")  # matches the folder itself, which is not a shard
    assert not _reaches_into("/other/**", "/data/run")
    assert _reaches_into("/data/r*/*/*", "/data/run")
    assert _reaches_into("/data/**/*.warc.gz", "/data/run")
    check_run_dir_outside_inputs("/data/run", ["/data/*.warc.gz", "s3://bucket/**"])


# -- 3. one run per directory ------------------------------------------------------------------------------
def test_a_second_run_on_a_busy_directory_is_refused_naming_the_holder(tmp_path, two_shards):
    cfg = config(tmp_path, [str(two_shards / "*.warc.gz")], tmp_path / "run")
    with RunLock(RunDir(str(tmp_path / "run"))):
        with pytest.raises(RunDirBusy, match=rf"in use by another run \(pid {os.getpid()}"):
            claim_once(cfg)
        proc = subprocess.run([*CURATE, "run", str(cfg), "--quiet"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "in use by another run" in proc.stderr and "Traceback" not in proc.stderr
    claim_once(cfg)  # free again once the holder let go


def test_a_lock_holder_killed_with_kill_9_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from curation.rundir import RunDir, RunLock; "
            f"RunLock(RunDir({str(tmp_path / 'run')!r})).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(RunDirBusy):
        RunLock(RunDir(str(tmp_path / "run"))).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with RunLock(RunDir(str(tmp_path / "run"))):  # non-blocking: a stale lock would raise RunDirBusy here
        pass


# -- 4. a full disk in the driver's own writes ---------------------------------------------------------------
class WritesToFullDisk(Stage):
    """A stage whose own (driver-side) write meets a full disk: /dev/full answers every write with ENOSPC."""

    name = "fullness"
    outputs = ("out.bin",)

    def done(self, rundir: RunDir) -> bool:
        return False

    def run(self, executor, rundir: RunDir) -> None:
        with open("/dev/full", "wb") as f:
            f.write(b"x" * 65536)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full to produce a real ENOSPC")
def test_a_full_disk_in_a_driver_write_is_one_error_naming_the_stage(tmp_path):
    rundir = RunDir(str(tmp_path / "run"))
    where = tmp_path / "run" / "fullness"  # a failed write() names no file: the stage's folder is named instead
    with pytest.raises(DiskFull, match=rf"stage fullness: no space left writing {where}; .*rerun the same command"):
        run_stages([WritesToFullDisk(None)], rundir, executor=None, echo=lambda m: None)  # type: ignore[arg-type]


def test_on_an_object_store_the_lock_is_a_file_naming_its_holder(memory_rundir):
    with RunLock(memory_rundir):
        assert memory_rundir.exists(".lock")
        with pytest.raises(RunDirBusy, match=rf"pid {os.getpid()}"):
            RunLock(memory_rundir).acquire()
    assert not memory_rundir.exists(".lock")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    memory_rundir.write_bytes(f'{{"host": "{os.uname().nodename}", "pid": {dead.stdout.strip()}}}'.encode(), ".lock")
    with RunLock(memory_rundir):  # left by a dead process of this host: taken over
        pass
