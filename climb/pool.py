"""The proxies' text pool (``search/pool.parquet``): per cluster, a seeded subset of its documents, cut into
pieces of about ``piece_tokens`` tokens at line ends, with their text and token ids.

Proxy samples are drawn piece by piece (``climb.proxy.draw_sample``). Drawn by whole documents, a sample's
content jumped with its weights: one 45K-token page is a tenth of a 500K-token sample, so whether a
cluster's weight reached past it decided much of the score. On the Debian-doc bench, pieces of 512 tokens cut
the cheap proxy's spread over sample draws (same weights) from 0.044 to 0.018 bits per byte, against a spread
of 0.046 between mixtures, and its rank agreement with the larger proxy over the search's 56 runs rose from
0.78 to 0.87 (``bench/bench_climb.py``). CLIMB's proxies train on fixed-length sequences of the mixture for
the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from curation.rundir import RunDir

from .cluster import ClusterStage
from .proxy_kn import token_encoder
from .proxy_runs import POOL


def _segments(text: str, max_chars: int) -> Iterator[str]:
    """The text's lines, a line longer than ``max_chars`` cut at its last space before the limit."""
    for line in text.splitlines(keepends=True):
        while len(line) > max_chars:
            cut = line.rfind(" ", 0, max_chars) + 1 or max_chars
            yield line[:cut]
            line = line[cut:]
        if line:
            yield line


def split_pieces(text: str, n_tokens: int, piece_tokens: int) -> list[str]:
    """``text`` (``n_tokens`` tokens) as consecutive pieces of about ``piece_tokens`` tokens each, cut at line
    ends where a line allows; they join back to ``text``. The cut is by characters at the document's own
    characters per token, so no tokenizer runs twice."""
    if n_tokens <= piece_tokens or not text:
        return [text]
    max_chars = max(1, round(len(text) * piece_tokens / n_tokens))
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for segment in _segments(text, max_chars):
        if current and size + len(segment) > max_chars:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(segment)
        size += len(segment)
    pieces.append("".join(current))
    return pieces


def build_pool(rundir: RunDir, source: str, pool_tokens: int, piece_tokens: int, seed: int, tokenizer: str) -> None:
    """Per cluster, a seeded shuffle of its documents up to ``pool_tokens`` tokens (no proxy needs more), cut
    into pieces and tokenized once here rather than in every run."""
    import pandas as pd

    a = rundir.read_table(ClusterStage.name, "assignments.parquet").to_pandas()
    rng = np.random.default_rng([seed, 7])
    picked = []
    for _cluster, group in a.groupby("cluster", sort=True):
        order = group.iloc[rng.permutation(len(group))]
        cum = order["n_tokens"].cumsum().to_numpy()
        picked.append(order.iloc[: int(np.searchsorted(cum, pool_tokens)) + 1])
    docs = pd.concat(picked)
    names = rundir.parts(source)  # an assignment's part is an index into this list (climb.cluster)
    texts: dict[Any, str] = {}
    for part, rows in docs.groupby("part", sort=True):
        column = rundir.read_table(source, names[int(part)], columns=["text"]).column("text")
        texts.update(zip(rows.index, column.take(pa.array(rows["row"].to_numpy(), pa.int64())).to_pylist()))
    clusters: list[int] = []
    pieces: list[str] = []
    for i, cluster, n_tokens in zip(docs.index, docs["cluster"], docs["n_tokens"]):
        split = split_pieces(texts[i], int(n_tokens), piece_tokens)
        clusters.extend([int(cluster)] * len(split))
        pieces.extend(split)
    ids = token_encoder(tokenizer)(pieces)
    rundir.write_table(
        pa.table(
            {
                "cluster": np.array(clusters, np.int32),
                "n_tokens": np.array([len(x) for x in ids], np.int64),
                "text": pieces,
                "ids": pa.array(ids, pa.list_(pa.uint16())),
            }
        ),
        *POOL,
    )
