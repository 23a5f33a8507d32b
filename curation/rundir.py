"""The run directory: the only interface between stages, and what makes a killed run resumable.

Layout (see ARCHITECTURE.md): ``RUN/<stage>/part-00000.parquet`` outputs, ``RUN/<stage>/_stats/<task>.json`` per-task
counts, ``RUN/<stage>/_done/<task>`` completion markers. Every output is written under a temporary name and
renamed when whole, and the marker is written last, so a task is either fully done or redone from scratch.
Paths may be local or any fsspec URL.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}


def part_name(index: int, suffix: str = ".parquet") -> str:
    return f"part-{index:05d}{suffix}"


class RunDir:
    """Paths, atomic writes, stats and completion markers inside one run directory."""

    def __init__(self, root: str):
        self.root = root.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.root)

    def __reduce__(self):  # ship to Dask workers by path, not by open filesystem handle
        return (RunDir, (self.root,))

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def _fresh(self, path: str) -> str:
        """``path``, with fsspec's cached listings of it and its parents dropped. Workers in other processes
        write into the run directory, and some filesystems (s3fs) keep every listing they made: without this a
        driver that once listed a folder would not see the parts, stats or markers written there since."""
        self.fs.invalidate_cache(path)
        return path

    def url(self, *parts: str) -> str:
        """The user-facing location (keeps the protocol of a remote run directory)."""
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self._fresh(self.path(*parts)))

    def makedirs(self, *parts: str) -> None:
        self.fs.makedirs(self.path(*parts), exist_ok=True)

    def names(self, *parts: str, suffix: str = "") -> list[str]:
        """Sorted file names (not paths) in a folder; an absent folder is empty."""
        folder = self._fresh(self.path(*parts))
        if not self.fs.exists(folder):
            return []
        names = [p.rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)]
        return sorted(n for n in names if n.endswith(suffix) and not n.startswith((".", "_")))

    def parts(self, stage: str) -> list[str]:
        """The stage's document parts (``part-NNNNN.parquet``), in order."""
        return [n for n in self.names(stage, suffix=".parquet") if n.startswith("part-")]

    # -- atomic writes --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def atomic_open(self, *parts: str) -> Iterator[IO[bytes]]:
        """A binary file to write ``parts`` through: a temporary name beside the target, flushed and fsynced
        (where the filesystem has a file descriptor) when the block ends, then renamed onto the target, so
        readers never see a half-written file. A block that raises removes its temporary (a killed process
        leaves it: ``sweep_temporaries`` removes it). A full disk, at any write, flush or fsync, raises
        ``OSError(ENOSPC)`` naming the target, so the driver can say which file did not fit."""
        target = self.path(*parts)
        tmp = f"{target}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            with self.fs.open(tmp, "wb") as f:
                yield f
                if hasattr(f, "flush"):
                    f.flush()
                    if hasattr(f, "fileno"):
                        try:
                            os.fsync(f.fileno())
                        except io.UnsupportedOperation:
                            pass  # not a real file (an in-memory or remote buffer)
                        except OSError as err:
                            if err.errno not in (errno.EINVAL, errno.ENOTSUP):  # fsync unsupported: fine
                                raise
            self.fs.mv(tmp, target)
        except BaseException as err:
            with contextlib.suppress(OSError, ValueError):  # best effort: frees the space a full disk needs
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT) and not err.filename:
                raise OSError(err.errno, os.strerror(err.errno), self.url(*parts)) from err
            raise

    def write_bytes(self, data: bytes, *parts: str) -> None:
        with self.atomic_open(*parts) as f:
            f.write(data)

    def write_json(self, obj: Any, *parts: str) -> None:
        self.write_bytes(json.dumps(obj, indent=1, sort_keys=True, default=str).encode() + b"\n", *parts)

    def read_json(self, *parts: str) -> Any:
        with self.fs.open(self._fresh(self.path(*parts)), "rb") as f:
            return json.load(f)

    def write_table(self, table: pa.Table, *parts: str) -> None:
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf, **PARQUET_OPTIONS)
        self.write_bytes(buf.getvalue().to_pybytes(), *parts)

    def read_table(self, *parts: str, columns: list[str] | None = None) -> pa.Table:
        with self.fs.open(self._fresh(self.path(*parts)), "rb") as f:
            return pq.read_table(f, columns=columns)

    def num_rows(self, *parts: str) -> int:
        """Rows of a parquet file, from its footer (no column is read)."""
        with self.fs.open(self._fresh(self.path(*parts)), "rb") as f:
            return pq.ParquetFile(f).metadata.num_rows

    def sweep_temporaries(self, stage: str) -> int:
        """Remove half-written outputs (``*.tmp-*``) a killed run left in a stage folder; returns how many."""
        self.fs.invalidate_cache()  # the whole cache: a glob lists every folder below the stage's
        stale = self.fs.glob(self.path(stage, "**", "*.tmp-*")) + self.fs.glob(self.path(stage, "*.tmp-*"))
        for path in set(stale):
            self.fs.rm(path)
        return len(set(stale))

    # -- tasks ----------------------------------------------------------------------------------------------
    def is_done(self, stage: str, task: str) -> bool:
        return self.exists(stage, "_done", task)

    def mark_done(self, stage: str, task: str, stats: dict) -> None:
        """Stats first, marker last: a marker always has its stats beside it."""
        self.write_json(stats, stage, "_stats", f"{task}.json")
        self.write_bytes(b"", stage, "_done", task)

    def stage_stats(self, stage: str) -> list[dict]:
        return [self.read_json(stage, "_stats", n) for n in self.names(stage, "_stats", suffix=".json")]


class RunDirBusy(RuntimeError):
    """Another live run holds the run directory: two runs in one folder would sweep each other's temporaries."""


class RunLock:
    """One run per run directory, held by the driver from claiming the folder until the run ends.

    Locally an ``flock`` on ``RUN/.lock``: the kernel releases it when the holder dies, so a run killed with
    ``kill -9`` never leaves a stale lock and its rerun resumes at once. Object stores have no locks; there the
    holder writes ``RUN/.lock`` with its host and pid, and a later run takes it over only when it was left by a
    process of the same host that is no longer alive (a lock from another host must be removed by hand)."""

    def __init__(self, rundir: RunDir):
        self.rundir = rundir
        self._fd: int | None = None
        self._remote = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _owner(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def _busy(self, owner: dict) -> RunDirBusy:
        who = f"pid {owner.get('pid')} on {owner.get('host')} since {owner.get('since')}" if owner else "another run"
        return RunDirBusy(
            f"{self.rundir.url()} is in use by another run ({who}); wait for it to end, or choose another run_dir"
        )

    def acquire(self) -> None:
        import fcntl

        from fsspec.implementations.local import LocalFileSystem

        self.rundir.makedirs()
        path = self.rundir.path(".lock")
        if not isinstance(self.rundir.fs, LocalFileSystem):
            self._acquire_remote(path)
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                owner = {}
            os.close(fd)
            raise self._busy(owner) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self._owner()).encode(), 0)
        self._fd = fd

    def _acquire_remote(self, path: str) -> None:
        fs = self.rundir.fs
        if fs.exists(path):
            with fs.open(path, "rb") as f:
                owner = json.loads(f.read() or b"{}")
            if not (owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", 0)))):
                raise self._busy(owner)
        with fs.open(path, "wb") as f:
            f.write(json.dumps(self._owner()).encode())
        self._remote = True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, empty of meaning
            self._fd = None
        if self._remote:
            self.rundir.fs.rm(self.rundir.path(".lock"))
            self._remote = False


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_parquet_stream(rundir: RunDir, tables: Iterable[pa.Table], schema: pa.Schema, *parts: str) -> int:
    """Stream record batches into one parquet file under a temporary name, renamed when whole.

    Row groups follow the batches, so the same batches give byte-identical files. Returns the row count."""
    rows = 0
    with rundir.atomic_open(*parts) as f, pq.ParquetWriter(f, schema, **PARQUET_OPTIONS) as writer:
        for table in tables:
            if table.num_rows:
                writer.write_table(table)
                rows += table.num_rows
    return rows
