"""Claiming a run directory for one run: the same config, the same input files, one run at a time.

A run directory is resumable only if what decides its outputs has not changed since it started. The config hash
covers the settings and the input globs, not the files the globs matched, and the extract stage numbers its
tasks by the shard's position in the resolved list: a shard added to the folder after a kill would shift every
task after it, so one shard would be read twice and the new one never. The first run therefore records the
resolved inputs (``RUN/_inputs.json``: path, size, modification time) and every later run compares them.
"""

from __future__ import annotations

import fnmatch
import posixpath

import yaml

from curation.rundir import RunDir

from .config import RunConfig
from .inputs import is_url


class RunDirConflict(ValueError):
    """The run directory holds a run of another config or other inputs: resuming would mix their outputs."""


def claim_run_dir(rundir: RunDir, cfg: RunConfig, shards: list[str]) -> None:
    """First run: record the config and the inputs. Later runs: resume only if both decide the same outputs."""
    digest = cfg.content_hash()
    inputs = describe_inputs(shards)
    if rundir.exists("_run.json"):
        previous = rundir.read_json("_run.json").get("config_hash")
        if previous != digest:
            raise RunDirConflict(
                f"{rundir.url()} holds a run of a different config (hash {previous}, this one "
                f"{digest}); choose another run_dir or delete that one to start over"
            )
        if rundir.exists("_inputs.json"):
            changes = input_changes(rundir.read_json("_inputs.json"), inputs)
            if changes:
                raise RunDirConflict(
                    f"{rundir.url()}: the input files changed since this run started ({changes}); resuming would "
                    "read some shards twice and others never. Restore the inputs, or choose another run_dir"
                )
            return
    else:
        rundir.makedirs()
        rundir.write_bytes(yaml.safe_dump(cfg.model_dump(), sort_keys=False).encode(), "config.yaml")
    rundir.write_json(inputs, "_inputs.json")
    if not rundir.exists("_run.json"):  # written last: a run directory with it has its inputs recorded too
        rundir.write_json({"config_hash": digest}, "_run.json")


def describe_inputs(shards: list[str]) -> list[dict]:
    """Each shard's path, size and modification time (``missing`` where it cannot be listed), in task order.

    Sizes and times, not content hashes: hashing a terabyte of shards before every resume costs more than the
    run. A file rewritten in place with the same size within the same second is not noticed."""
    import fsspec

    described = []
    for path in shards:
        try:
            fs, local = fsspec.core.url_to_fs(path)
            info = fs.info(local)
        except (OSError, ValueError, ImportError):
            described.append({"path": path, "missing": True})
            continue
        modified = info.get("mtime") or info.get("LastModified") or info.get("ETag") or info.get("created")
        described.append({"path": path, "size": info.get("size"), "modified": str(modified)})
    return described


def input_changes(before: list[dict], now: list[dict]) -> str:
    """What differs between two input descriptions, in a few words ('' when nothing does)."""
    old = {d["path"]: d for d in before}
    new = {d["path"]: d for d in now}
    notes = [f"added {p}" for p in new if p not in old]
    notes += [f"removed {p}" for p in old if p not in new]
    notes += [f"changed {p}" for p in new if p in old and new[p] != old[p]]
    if not notes and [d["path"] for d in before] != [d["path"] for d in now]:
        notes.append("the same files in another order")
    shown = "; ".join(notes[:3])
    return shown + (f"; and {len(notes) - 3} more" if len(notes) > 3 else "")


def check_run_dir_outside_inputs(run_dir: str, inputs: list[str]) -> None:
    """Refuse a run directory that an input glob or path reaches into: the run would read its own outputs.

    Checked on the patterns, not on what they match today: on the first run the folder is still empty, and only
    a rerun would pick up its parquet parts and temporaries as shards."""
    root = _normal(run_dir)
    for spec in inputs:
        if is_url(spec) != is_url(run_dir):
            continue
        pattern = _normal(spec)
        if _reaches_into(pattern, root):
            raise RunDirConflict(
                f"run_dir {run_dir} lies inside the inputs ({spec}): the run would read its own outputs as "
                "shards; put the run directory outside the input folders"
            )


def _normal(path: str) -> str:
    return posixpath.normpath(path.split("://", 1)[-1]) if is_url(path) else posixpath.normpath(path)


def _reaches_into(pattern: str, root: str) -> bool:
    """Whether ``pattern`` (a path or glob, ``*`` within one component, ``**`` across) can match a file under
    ``root``. Files under ``root`` have more components than ``root``; a pattern without ``**`` matches paths
    of exactly its own length, so it reaches in when it is longer and its leading components match ``root``'s."""
    pat, base = pattern.strip("/").split("/"), root.strip("/").split("/")
    for i, part in enumerate(base):
        if i >= len(pat):
            return False
        if pat[i] == "**":
            return True
        if not fnmatch.fnmatchcase(part, pat[i]):
            return False
    return len(pat) > len(base)
