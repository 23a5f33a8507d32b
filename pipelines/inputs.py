"""The run's input shards: the config's paths and globs resolved to the list of files the extract stage reads.

Resolving happens once, in the driver, before any work; the extract stage numbers its tasks by position in
this list, so the list decides which output part belongs to which shard.
"""

from __future__ import annotations


def is_url(path: str) -> bool:
    return "://" in path


def expand_inputs(inputs: list[str]) -> list[str]:
    """Globs expanded (sorted); a path or glob matching nothing stays, so the reader reports it by name."""
    import fsspec

    shards: list[str] = []
    for spec in inputs:
        if any(ch in spec for ch in "*?["):
            fs, _ = fsspec.core.url_to_fs(spec)
            protocol = spec.split("://", 1)[0] + "://" if is_url(spec) else ""
            matches = sorted(protocol + m if protocol and not m.startswith(protocol) else m for m in fs.glob(spec))
            shards.extend(matches or [spec])
        else:
            shards.append(spec)
    return shards
