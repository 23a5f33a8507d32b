"""The byte proxy (``proxy_model: bytes``): bits per byte of a smoothed byte n-gram language model on the
target set, and the draw of every proxy's training sample from the search's text pool.

CLIMB scores a candidate mixture by training a small proxy model on data drawn by its weights and measuring
it on a target validation set. This proxy is a byte-level n-gram model with Witten-Bell interpolation
(each order backs off to the one below in proportion to how many distinct bytes followed the context), so a
run costs a second, not a GPU-hour, while still rewarding mixtures whose text predicts the target. Counting
is vectorised: n-grams are packed into int64 keys and counted with ``np.unique``.

A sample is drawn per cluster from a seeded permutation of that cluster's pieces in the pool
(``climb.pool``), walked (again from the start when exhausted) until the cluster's share of the sample's
tokens is met. The search draws every
candidate with one seed, so two candidates differ only by their weights (common random numbers); the noise of
a proxy is measured by drawing the same weights with other seeds (``climb.proxy_runs.judge_run``).
"""

from __future__ import annotations

import numpy as np


def _keys(data: np.ndarray, n: int) -> np.ndarray:
    """Key of every n-gram ending at positions n-1.. (bytes packed base 256; n <= 7 fits in int64)."""
    keys = np.zeros(len(data) - n + 1, dtype=np.int64)
    for j in range(n):
        keys = (keys << 8) | data[j : len(data) - n + 1 + j]
    return keys


def _lookup(sorted_keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(sorted_keys, query)
    idx_c = np.minimum(idx, len(sorted_keys) - 1)
    found = (idx < len(sorted_keys)) & (sorted_keys[idx_c] == query) if len(sorted_keys) else np.zeros(len(query), bool)
    return np.where(found, counts[idx_c] if len(sorted_keys) else 0, 0)


def draw_sample(
    clusters: np.ndarray, tokens: np.ndarray, weights: list[float], budget: int, seed: list[int]
) -> list[int]:
    """Pool rows (indices) of a sample of about ``budget`` tokens drawn by ``weights`` with the given seed."""
    picked: list[int] = []
    for c, w in enumerate(weights):
        idx = np.flatnonzero(clusters == c)
        if not len(idx) or w <= 0:
            continue
        order = idx[np.random.default_rng([*seed, c]).permutation(len(idx))]
        cum = np.cumsum(np.maximum(tokens[order], 1))
        full, rest = divmod(w * budget, float(cum[-1]))
        picked.extend(order.tolist() * int(full))
        picked.extend(order[: int(np.searchsorted(cum, rest, side="left")) + (1 if rest > 0 else 0)].tolist())
    return picked


class TargetGrams:
    """A target's distinct n-grams of every order up to ``order``, and where each position's n-gram and context
    are among them. A search scores the same target with every proxy model: a target's n-grams repeat (924 KB
    of SymPy documentation hold 117K distinct 5-grams), so looking up the distinct ones once per model is about
    six times faster than looking up every position."""

    def __init__(self, text: bytes, order: int):
        self.order = order
        self.data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
        if len(self.data) == 0:
            raise ValueError("the target validation set is empty")
        self.grams = []  # per order n >= 2: distinct grams, position -> gram, distinct contexts, position -> ctx
        for n in range(2, min(order, len(self.data)) + 1):
            u, inv = np.unique(_keys(self.data, n), return_inverse=True)  # grams ending at positions n-1..
            u_ctx, gram_ctx = np.unique(u >> 8, return_inverse=True)
            self.grams.append((u, inv, u_ctx, gram_ctx[inv]))


class NGramLM:
    """Byte n-gram LM, Witten-Bell interpolated down to an add-one unigram."""

    def __init__(self, order: int = 5):
        if not 1 <= order <= 7:
            raise ValueError(f"proxy.order must be between 1 and 7, got {order}")
        self.order = order

    def fit(self, text: bytes) -> NGramLM:
        data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
        self.unigram = np.bincount(data, minlength=256).astype(np.float64)
        self.n_bytes = len(data)
        self.tables = []  # per order n >= 2: (gram keys, gram counts, ctx keys, ctx counts, ctx distinct followers)
        for n in range(2, self.order + 1):
            if len(data) < n:
                break
            grams, gram_counts = np.unique(_keys(data, n), return_counts=True)
            ctx_of_gram = grams >> 8
            ctx, first = np.unique(ctx_of_gram, return_index=True)
            ctx_total = np.add.reduceat(gram_counts, first)
            ctx_types = np.diff(np.append(first, len(grams)))
            self.tables.append((grams, gram_counts, ctx, ctx_total, ctx_types))
        return self

    def bits_per_byte(self, text: bytes | TargetGrams) -> float:
        """Bits per byte of ``text``; a ``TargetGrams`` of it (made once for many models) gives the same
        number faster."""
        target = text if isinstance(text, TargetGrams) else TargetGrams(text, self.order)
        if target.order < self.order:
            raise ValueError(f"the target's n-grams go to order {target.order}, the model's to {self.order}")
        data = target.data
        p = (self.unigram[data] + 1.0) / (self.n_bytes + 256.0)
        for n, (grams, gram_counts, ctx, ctx_total, ctx_types) in enumerate(self.tables, start=2):
            if len(data) < n:
                break
            u, inv, u_ctx, ctx_inv = target.grams[n - 2]
            c_gram = _lookup(grams, gram_counts, u)[inv].astype(np.float64)
            c_ctx = _lookup(ctx, ctx_total, u_ctx)[ctx_inv].astype(np.float64)
            t_ctx = _lookup(ctx, ctx_types, u_ctx)[ctx_inv].astype(np.float64)
            lower = p[n - 1 :]
            seen = c_ctx > 0
            mixed = np.where(seen, (c_gram + t_ctx * lower) / np.maximum(c_ctx + t_ctx, 1.0), lower)
            p = np.concatenate([p[: n - 1], mixed])
        return float(-np.log2(p).sum() / len(data))
