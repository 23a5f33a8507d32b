"""The run's input shards: the config's paths and globs resolved to the list of files the extract stage reads.

Resolving happens once, in the driver, before any work; the extract stage numbers its tasks by position in
this list, so the list decides which output part belongs to which shard.

Rules, in order, for each entry of ``inputs``:

- a local path that exists is that file, even if its name has glob characters (``a[1].warc.gz``) or fsspec's
  chaining separator (``x::y.warc``); only a path that does not exist is expanded as a glob (Python's ``glob``
  for local paths, fsspec's for URLs; sorted). A glob matching nothing, or a missing path, stays in the list so
  that the reader reports it by name;
- a local input that is not a regular file (a FIFO, a device such as ``/dev/zero``, a socket, a directory) is
  refused with :class:`InputError` before any work: reading it would block or never end. A directory matched
  by a glob is left out with a note instead (``data/*`` commonly matches folders);
- a shard listed twice (the same path, a symlink to it, an overlapping glob) is read once: the first mention
  is kept and a note says which later one was left out. Local paths are compared by their real path, URLs as
  written.
"""

from __future__ import annotations

import glob
import logging
import os

from curation.shard_files import local_path, not_a_file

log = logging.getLogger("curation")
_GLOB_CHARS = "*?["


class InputError(ValueError):
    """An input that cannot be read as a shard; the message names it."""


def is_url(path: str) -> bool:
    return "://" in path


def expand_inputs(inputs: list[str], notes: list[str] | None = None) -> list[str]:
    """The shards to read, in order, each once (see the module's rules). Raises :class:`InputError` for a local
    input that is not a regular file. Notes on what was left out are logged and, given ``notes``, appended to
    it, so that the driver can print them: ``notes = []; shards = expand_inputs(cfg.inputs, notes)``."""
    shards: list[str] = []
    seen: dict[str, str] = {}
    found: list[str] = []

    def note(message: str) -> None:
        log.warning(message)
        found.append(message)

    for spec in inputs:
        for shard in _matches(spec, note):
            key = _identity(shard)
            if key in seen:
                same = "listed again" if shard == seen[key] else f"the same file as {seen[key]}"
                note(f"input {shard} is {same}: read once")
                continue
            seen[key] = shard
            shards.append(shard)
    if notes is not None:
        notes.extend(found)
    return shards


def _matches(spec: str, note) -> list[str]:
    """The shards one entry names: itself when it exists (or is not a glob), else its sorted glob matches."""
    local = local_path(spec)
    if local is None:  # a URL
        if not any(ch in spec for ch in _GLOB_CHARS):
            return [spec]
        import fsspec

        fs, _ = fsspec.core.url_to_fs(spec)
        if fs.isfile(spec):
            return [spec]
        protocol = spec.split("://", 1)[0] + "://"
        found = fs.glob(spec, detail=True)  # with each match's type: no request per match to leave folders out
        files = (m for m, info in found.items() if info.get("type") != "directory")
        return sorted(m if m.startswith(protocol) else protocol + m for m in files) or [spec]
    if os.path.lexists(local) or not any(ch in local for ch in _GLOB_CHARS):
        _refuse_if_not_a_file(local)
        return [spec]
    matches = []
    for match in sorted(glob.glob(local, recursive=True)):
        if os.path.isdir(match):
            note(f"input {spec}: {match} is a directory, left out")
            continue
        _refuse_if_not_a_file(match)
        matches.append(match)
    return matches or [spec]


def _refuse_if_not_a_file(local: str) -> None:
    problem = not_a_file(local)
    if problem:
        raise InputError(f"input {problem}")


def _identity(shard: str) -> str:
    local = local_path(shard)
    return os.path.realpath(local) if local is not None else shard
