"""The token proxies: a token n-gram model with interpolated modified Kneser-Ney smoothing, on the run's tokens.

On a large sample (``judge_tokens``, several draws) it is the larger proxy, which calibrates the search's
ranking and judges the final mixtures; on a small one (``proxy_tokens``, one draw) it is the default cheap
proxy, a small model of the judge's kind as CLIMB's proxies are small models of the target's. It reads the
run's tokenizer ids, smooths with modified Kneser-Ney (three discounts per order from the count-of-counts,
lower orders on continuation counts; Chen and Goodman 1998), and scores bits per byte of the target, on the
byte proxy's scale (``climb.proxy``). On the Debian-doc bench (three seeds, 56 search runs each) the token
proxy on 200K tokens ranked the runs as the judge on 500K did at Spearman 0.88-0.92, the byte 4-gram at
0.78-0.83, with a third to a seventh of its spread over sample draws. Counting is vectorised like the byte
model's: n-grams of token ids (< 2^16) are packed into uint64 keys (up to four tokens), sorted in place and
counted by runs, one order's keys at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from curation.memory import released_after_stage

#: token ids are packed 16 bits each into a uint64 key
ID_BITS = 16
MAX_ORDER = 4


def _keys(ids: np.ndarray, n: int) -> np.ndarray:
    """Key of every n-gram, built in place: one uint64 array, no temporaries of its size."""
    length = len(ids) - n + 1
    keys = ids[:length].astype(np.uint64)
    for j in range(1, n):
        keys <<= np.uint64(ID_BITS)
        keys |= ids[j : length + j]
    return keys


def _sorted_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_counts=True)``, sorting ``keys`` in place (the caller's array is consumed)
    rather than a copy of it: the fit's largest arrays are these keys."""
    keys.sort()
    starts = _run_starts(keys)
    counts = np.diff(np.append(starts, len(keys)))
    return keys[starts], counts


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Index of the first of each run of equal values (``np.unique``'s ``return_index`` for sorted input)."""
    change = np.empty(len(sorted_keys), bool)
    change[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=change[1:])
    return np.flatnonzero(change)


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(query), values.dtype)
    idx = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
    return np.where(sorted_keys[idx] == query, values[idx], 0)


def _as_ids(ids: np.ndarray) -> np.ndarray:
    """Token ids as uint16 (what the pool stores), without a copy when they are already; larger ids would not
    fit their 16 bits in a key."""
    ids = np.asarray(ids)
    if ids.dtype == np.uint16:
        return ids
    if len(ids) and (ids.min() < 0 or ids.max() >= 1 << ID_BITS):
        raise ValueError(f"token ids must be below 2^{ID_BITS} for the token proxies' keys")
    return ids.astype(np.uint16)


#: KenLM's ``--discount_fallback``: the discounts used when the count-of-counts give estimates out of range
FALLBACK_DISCOUNTS = np.array([0.5, 1.0, 1.5])


def _discounts(counts: np.ndarray) -> np.ndarray:
    """D1, D2, D3+ from the count-of-counts n1..n4 (Chen and Goodman's estimates). A sample that repeats its
    documents (a small cluster drawn many times) has few singletons, and the estimates then fall to zero or
    below, which would leave no mass for unseen tokens: as KenLM does on request, fixed discounts replace them."""
    n = [int(np.count_nonzero(counts == i)) for i in range(1, 5)]
    if min(n) == 0:
        return FALLBACK_DISCOUNTS
    y = n[0] / (n[0] + 2 * n[1])
    d = np.array([1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]])
    return d if np.all((d > 0) & (d < [1.0, 2.0, 3.0])) else FALLBACK_DISCOUNTS


class KneserNeyLM:
    """Interpolated modified Kneser-Ney over token ids; ``vocab`` sizes the uniform floor under the unigrams."""

    def __init__(self, order: int = 3, vocab: int = 1 << ID_BITS):
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"climb.search.judge_order must be between 1 and {MAX_ORDER}, got {order}")
        self.order, self.vocab = order, vocab

    def fit(self, ids: np.ndarray) -> KneserNeyLM:
        """Count every order's n-grams of ``ids`` (token ids below 2^16). Memory: the keys of one order at a
        time (8 bytes a token) and what is kept, sorted in place; on 2M tokens of the Debian-doc pool the fit
        peaked at 46 MB (22 MB of it the model) where building keys with temporaries and ``np.unique`` on
        copies took 81, and it runs in a sixth of the CPU time."""
        ids = _as_ids(ids)
        self.levels = []  # per order m: gram keys, adjusted counts, ctx keys, ctx totals, ctx gammas' numerator
        for m in range(1, self.order + 1):
            if len(ids) < m:
                break
            if m == self.order:
                grams, counts = _sorted_counts(_keys(ids, m))
            else:  # continuation count: distinct tokens seen before the m-gram
                longer, _ = _sorted_counts(_keys(ids, m + 1))
                longer &= np.uint64((1 << (ID_BITS * m)) - 1)
                grams, counts = _sorted_counts(longer)
                del longer
            d = _discounts(counts)
            disc = d[np.minimum(counts, 3) - 1]
            ctx_of = grams >> np.uint64(ID_BITS)  # sorted, since the grams are
            first = _run_starts(ctx_of)
            ctx = ctx_of[first]
            del ctx_of
            total = np.add.reduceat(counts, first).astype(np.float64)
            gamma = np.add.reduceat(disc, first)
            self.levels.append((grams, counts.astype(np.float64) - disc, ctx, total, gamma))
        return self

    def bits(self, ids: np.ndarray) -> float:
        """Total bits of the sequence (every token after the first ``order - 1`` scored with a full history,
        the first ones with what history they have)."""
        return float(self.token_bits(ids).sum())

    def token_bits(self, ids: np.ndarray) -> np.ndarray:
        """Bits of each token of the sequence, so that a text's documents can be scored apart."""
        ids = _as_ids(ids)
        if not len(ids):
            return np.zeros(0)
        p = np.full(len(ids), 1.0 / self.vocab)
        for m, (grams, adj, ctx, total, gamma) in enumerate(self.levels, start=1):
            if len(ids) < m:
                break
            q = _keys(ids, m)
            c_ctx = q >> np.uint64(ID_BITS)
            tot = _lookup(ctx, total, c_ctx)
            g = _lookup(ctx, gamma, c_ctx)
            a = _lookup(grams, adj, q)
            lower = p[m - 1 :]
            seen = tot > 0
            mixed = np.where(seen, (a + g * lower) / np.maximum(tot, 1.0), lower)
            p = np.concatenate([p[: m - 1], mixed])
        return -np.log2(p)


@released_after_stage
@functools.lru_cache(maxsize=4)
def token_encoder(name: str) -> Callable[[list[str]], list[np.ndarray]]:
    """``encode(texts) -> [uint16 id arrays]`` with the run's tokenizer (``tokens.tokenizer``: ``smollm2``, a
    tokenizer.json or folder, a .gguf file or an offline Hugging Face name); no special tokens added."""
    from curation.tokens import tokenizer_json

    path = tokenizer_json(name)
    if path is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        size = tok.get_vocab_size()

        def encode(texts: list[str]) -> list[np.ndarray]:
            return [np.array(e.ids, np.uint16) for e in tok.encode_batch_fast(texts, add_special_tokens=False)]
    else:
        from curation.tokens import hf_tokenizer

        hf = hf_tokenizer(name)
        size = len(hf)

        def encode(texts: list[str]) -> list[np.ndarray]:
            return [np.array(hf.encode(t, add_special_tokens=False), np.uint16) for t in texts]

    if size > 1 << ID_BITS:
        raise ValueError(f"tokens.tokenizer: {name} has {size} tokens; the token proxies pack ids in {ID_BITS} bits")
    return encode
