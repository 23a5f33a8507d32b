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


#: every document of a target part but the last is followed by this, in its text and in its token ids
SEPARATOR = "\n\n"


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_docs(path: str, heldout_fraction: float, seed: int, heldout: bool) -> tuple[str, ...]:
    search, held = split_target(read_target_texts(path), heldout_fraction, seed)
    return tuple(held if heldout else search)


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_bytes(path: str, heldout_fraction: float, seed: int, heldout: bool) -> bytes:
    return SEPARATOR.join(target_docs(path, heldout_fraction, seed, heldout)).encode("utf-8", "surrogatepass")


def target_doc_bytes(path: str, heldout_fraction: float, seed: int, heldout: bool) -> np.ndarray:
    """Each document's bytes with the separator after it (but the last's): they add up to ``target_bytes``."""
    sizes = np.array(
        [len(d.encode("utf-8", "surrogatepass")) for d in target_docs(path, heldout_fraction, seed, heldout)]
    )
    sizes[:-1] += len(SEPARATOR.encode())
    return sizes


@released_after_stage
@functools.lru_cache(maxsize=4)
def target_ids(
    path: str, heldout_fraction: float, seed: int, heldout: bool, tokenizer: str
) -> tuple[np.ndarray, np.ndarray]:
    """The target part's token ids, and the document each one belongs to: every document is encoded alone and
    followed by the separator's ids (but the last), so that the judge can score each held-out document."""
    encode = token_encoder(tokenizer)
    docs = encode(list(target_docs(path, heldout_fraction, seed, heldout)))
    sep = encode([SEPARATOR])[0]
    pieces = [np.concatenate([d, sep]) for d in docs[:-1]] + docs[-1:]
    owner = np.repeat(np.arange(len(pieces)), [len(x) for x in pieces])
    return np.concatenate(pieces), owner


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


def judge_doc_bits(root: str, weights: list[float], spec: dict, draw: list[int]) -> tuple[float, np.ndarray]:
    """The judge's bits per byte of the held-out part, and its bits on each held-out document (the same model,
    the same tokens): a bootstrap over those documents shows how much of a lead depends on which were held out."""
    key = (spec["target"], spec["heldout_fraction"], spec["seed"], True)
    ids, owner = target_ids(*key, spec["tokenizer"])
    bits = _token_model(root, weights, draw, spec["judge_tokens"], spec["judge_order"]).token_bits(ids)
    return float(bits.sum()) / len(target_bytes(*key)), np.bincount(owner, weights=bits)


def _token_model(root: str, weights: list[float], draw: list[int], tokens: int, order: int) -> KneserNeyLM:
    """A Kneser-Ney token model trained on ``tokens`` drawn by ``weights``."""
    clusters, n_tokens, ids = load_pool(root)
    picked = draw_sample(clusters, n_tokens, weights, tokens, draw)
    train = np.concatenate([ids[i] for i in picked]) if picked else np.zeros(0, np.uint16)
    return KneserNeyLM(order).fit(train)


def _token_bpb(
    root: str, weights: list[float], spec: dict, draw: list[int], heldout: bool, tokens: int, order: int
) -> float:
    """Bits per byte of the target part under a Kneser-Ney token model trained on ``tokens`` drawn by ``weights``."""
    key = (spec["target"], spec["heldout_fraction"], spec["seed"], heldout)
    ids, _ = target_ids(*key, spec["tokenizer"])
    return _token_model(root, weights, draw, tokens, order).bits(ids) / len(target_bytes(*key))


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
    judge, doc_bits = judge_doc_bits(rundir.root, weights, spec, draw)
    return {
        "in": 1,
        "out": 1,
        "name": name,
        "seed": draw_seed,
        "bpb": rounded(judge),
        "cheap_bpb": rounded(cheap),
        "doc_bits": [round(float(b), 4) for b in doc_bits],
    }
