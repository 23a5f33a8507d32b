"""Opening a local input shard safely: only regular files, never blocking, names taken literally.

A FIFO blocks its reader until someone writes, ``/dev/zero`` never ends, a directory has no bytes: each is refused
by name before anything blocks on it. Local paths are opened with ``os.open``, never through fsspec's URL parser,
so a ``::`` (fsspec's chaining separator) in a file name is just a character.
"""

from __future__ import annotations

import os
import stat
from typing import IO


def local_path(path: str) -> str | None:
    """The file-system path of a local shard (a plain path or ``file://``), None for any other URL."""
    if path.startswith("file://"):
        return path[len("file://") :]
    return None if "://" in path else path


def not_a_file(path: str) -> str | None:
    """Why an existing local path cannot be read as a shard (a FIFO blocks, ``/dev/zero`` never ends, a
    directory has no bytes), or None for a regular file or one that does not exist (opening it reports that)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return _kind_problem(path, mode)


def _kind_problem(path: str, mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"{path} is {kind}, not a file: only regular files are read as shards"


class NotAFile(OSError):
    """A local input that is not a regular file."""


def open_local(path: str) -> IO[bytes]:
    """Open a local file for reading without ever blocking: ``O_NONBLOCK`` makes opening a FIFO return at once,
    and the opened descriptor is checked, so a path swapped for a FIFO after a check is refused too."""
    problem = not_a_file(path)
    if problem:
        raise NotAFile(problem)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        problem = _kind_problem(path, os.fstat(fd).st_mode)
        if problem:
            raise NotAFile(problem)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
