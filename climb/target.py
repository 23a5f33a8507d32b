"""The target validation set the proxy is measured on: text files, jsonl or parquet (a ``text`` field).

A path may be a glob, a file or a folder; every text is one example.
"""
from __future__ import annotations

import json


def read_target_texts(path: str) -> list[str]:
    import fsspec

    fs, _ = fsspec.core.url_to_fs(path)
    files = sorted(fs.glob(path)) if any(ch in path for ch in "*?[") else (
        sorted(fs.find(path)) if fs.isdir(path) else [path])
    if not files:
        raise FileNotFoundError(f"climb.target: no file matches {path}")
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
                        raise ValueError(f"climb.target: {f} line {n}: expected a JSON object with 'text' ({err})")
        else:
            texts.append(raw)
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError(f"climb.target: {path} holds no text")
    return texts
