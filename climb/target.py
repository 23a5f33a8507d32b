"""The target validation set the proxy is measured on: text files, jsonl or parquet (a ``text`` field).

A path may be a glob, a file or a folder; every text is one example (one document). The documents are split
once, by a seeded permutation, into the part the search sees and a held-out part on which the final mixtures
are judged (``climb.baselines``), so the winner is not chosen and reported on the same text.
"""

from __future__ import annotations

import json

import numpy as np


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


def split_target(texts: list[str], heldout_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(search part, held-out part), each in the files' order; both get at least one document."""
    if len(texts) < 2:
        raise ValueError(
            f"climb.search.target: {len(texts)} document(s); at least 2 are needed to hold some out for judging"
        )
    n_held = min(max(int(round(heldout_fraction * len(texts))), 1), len(texts) - 1)
    held = set(np.random.default_rng([seed, 13]).permutation(len(texts))[:n_held].tolist())
    return [t for i, t in enumerate(texts) if i not in held], [t for i, t in enumerate(texts) if i in held]
