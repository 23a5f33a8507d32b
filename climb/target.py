"""The target validation set the proxy is measured on: text files, jsonl or parquet (a ``text`` field).

A path may be a glob, a file or a folder; every text is one example.
"""

from __future__ import annotations

import json


def read_target_texts(path: str) -> list[str]:
    """Every non-blank example; errors name the config field (``climb.search.target``) and the file."""
    import fsspec

    fs, _ = fsspec.core.url_to_fs(path)
    if any(ch in path for ch in "*?["):
        files = sorted(fs.glob(path))
    elif fs.isdir(path):
        files = sorted(fs.find(path))
    else:
        files = [path] if fs.exists(path) else []  # so an absent file is named with the field, not as errno 2
    if not files:
        raise FileNotFoundError(f"climb.search.target: no file matches {path}")
    texts: list[str] = []
    for f in files:
        if f.endswith(".parquet"):
            import pyarrow.parquet as pq

            with fs.open(f, "rb") as fh:
                texts.extend(t for t in pq.read_table(fh, columns=["text"]).column("text").to_pylist() if t)
            continue
        with fs.open(f, "rb") as fh:
            raw = fh.read().decode("utf-8", errors="replace")
        if f.endswith((".jsonl", ".json")):
            for n, line in enumerate(raw.splitlines(), 1):
                if line.strip():
                    try:
                        texts.append(json.loads(line)["text"])
                    except (ValueError, KeyError, TypeError) as err:
                        raise ValueError(
                            f"climb.search.target: {f} line {n}: expected a JSON object with 'text' ({err})"
                        ) from None
        else:
            texts.append(raw)
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError(f"climb.search.target: {path} holds no text")
    return texts
