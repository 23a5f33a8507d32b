"""Proxy runs as worker tasks: the cheap proxy that the search ranks mixtures with, and the larger one that
calibrates it and judges the final mixtures on the held-out target.

Each task reads the search's text pool (``climb.pool``: cluster, tokens, text and token ids of pieces of a
seeded subset of every cluster's documents) and the target once per worker process, draws its sample
(``climb.proxy.draw_sample``) and returns its scores; the executor writes its completion marker, so a resumed
search reruns only the missing runs. ``draw`` is the seed of the sample: the search draws every candidate with
the run's seed; the judge draws each mixture with several.
"""

from __future__ import annotations

import functools

import numpy as np

from curation.memory import released_after_stage
from curation.rundir import RunDir

from .proxy import NGramLM, TargetGrams, draw_sample
from .proxy_kn import KneserNeyLM, token_encoder
from .target import read_target_texts, split_target

POOL = ("search", "pool.parquet")


@released_after_stage
@functools.lru_cache(maxsize=2)
def load_pool(root: str) -> tuple:
    """Each piece's cluster, token count and token ids: what every proxy draws from and the token proxies train
    on. The pieces' text, which only the byte proxy reads, is loaded apart (``pool_texts``)."""
    t = RunDir(root).read_table(*POOL, columns=["cluster", "n_tokens", "ids"])
    ids = [np.asarray(a, np.uint16) for a in t.column("ids").to_numpy(zero_copy_only=False)]
    return t.column("cluster").to_numpy(), t.column("n_tokens").to_numpy(), ids


@released_after_stage
@functools.lru_cache(maxsize=2)
def pool_texts(root: str) -> list[bytes]:
    """Each piece's text as UTF-8, for the byte proxy."""
    column = RunDir(root).read_table(*POOL, columns=["text"]).column("text")
    return [s.encode("utf-8", "surrogatepass") for s in column.to_pylist()]


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_part(path: str, heldout_fraction: float, seed: int, heldout: bool) -> str:
    search, held = split_target(read_target_texts(path), heldout_fraction, seed)
    return "\n\n".join(held if heldout else search)


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_bytes(path: str, heldout_fraction: float, seed: int, heldout: bool) -> bytes:
    return target_part(path, heldout_fraction, seed, heldout).encode("utf-8", "surrogatepass")


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_ids(path: str, heldout_fraction: float, seed: int, heldout: bool, tokenizer: str) -> np.ndarray:
    return token_encoder(tokenizer)([target_part(path, heldout_fraction, seed, heldout)])[0]


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_grams(path: str, heldout_fraction: float, seed: int, heldout: bool, order: int) -> TargetGrams:
    """The target part's n-grams, indexed once per worker for every cheap run that scores it."""
    return TargetGrams(target_bytes(path, heldout_fraction, seed, heldout), order)


def cheap_bpb(root: str, weights: list[float], spec: dict, draw: list[int], heldout: bool) -> float:
    if spec["proxy_model"] == "tokens":
        return _token_bpb(root, weights, spec, draw, heldout, spec["proxy_tokens"], spec["proxy_order"])
    clusters, n_tokens, _ = load_pool(root)
    texts = pool_texts(root)
    sample = b"\n\n".join(texts[i] for i in draw_sample(clusters, n_tokens, weights, spec["proxy_tokens"], draw))
    target = target_grams(spec["target"], spec["heldout_fraction"], spec["seed"], heldout, spec["proxy_order"])
    return NGramLM(spec["proxy_order"]).fit(sample).bits_per_byte(target)


def judge_bpb(root: str, weights: list[float], spec: dict, draw: list[int], heldout: bool) -> float:
    return _token_bpb(root, weights, spec, draw, heldout, spec["judge_tokens"], spec["judge_order"])


def _token_bpb(
    root: str, weights: list[float], spec: dict, draw: list[int], heldout: bool, tokens: int, order: int
) -> float:
    """Bits per byte of the target part under a Kneser-Ney token model trained on ``tokens`` drawn by ``weights``."""
    clusters, n_tokens, ids = load_pool(root)
    picked = draw_sample(clusters, n_tokens, weights, tokens, draw)
    train = np.concatenate([ids[i] for i in picked]) if picked else np.zeros(0, np.uint16)
    key = (spec["target"], spec["heldout_fraction"], spec["seed"], heldout)
    target = target_ids(*key, spec["tokenizer"])
    n_bytes = len(target_bytes(*key))
    return KneserNeyLM(order).fit(train).bits(target) / n_bytes


def rounded(x: float) -> float:
    return float(np.round(x, 8))


def search_run(rundir: RunDir, weights: list[float], spec: dict, round: int, run: int) -> dict:
    """One candidate of the search: the cheap proxy on the search part of the target, the search's draw."""
    bpb = cheap_bpb(rundir.root, weights, spec, [spec["seed"], 29], heldout=False)
    return {"in": 1, "out": 1, "round": round, "run": run, "weights": list(weights), "bpb": rounded(bpb)}


def calibration_run(rundir: RunDir, weights: list[float], spec: dict, run: int) -> dict:
    """The larger proxy on a search candidate, with the search's draw and target part: the cheap proxy's
    ranking of the same runs is compared with this one."""
    bpb = judge_bpb(rundir.root, weights, spec, [spec["seed"], 29], heldout=False)
    return {"in": 1, "out": 1, "run": run, "judge_bpb": rounded(bpb)}


def judge_run(rundir: RunDir, weights: list[float], spec: dict, name: str, draw_seed: int) -> dict:
    """A final or baseline mixture on the held-out target, with draw ``draw_seed``: both proxies, so each
    proxy's noise over draws is measured on the same weights."""
    draw = [spec["seed"], 31, draw_seed]
    cheap = cheap_bpb(rundir.root, weights, spec, draw, heldout=True)
    judge = judge_bpb(rundir.root, weights, spec, draw, heldout=True)
    return {"in": 1, "out": 1, "name": name, "seed": draw_seed, "bpb": rounded(judge), "cheap_bpb": rounded(cheap)}
