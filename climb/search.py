"""CLIMB's iterative mixture search over the clusters.

Round 0 draws candidate weight vectors from a Dirichlet prior centred on each cluster's token share; every
candidate is scored by a proxy run (``climb.proxy``: bits per byte on the target set of an n-gram model
trained on a sample drawn by the weights). A LightGBM regressor from weights to score is then fitted on all
runs so far, and the next round runs the candidates it predicts best out of a large Dirichlet pool. Candidates
that would repeat a cluster more than ``max_epochs`` times within the mixture's token budget are rejected
(CLIMB and RegMix cap at 15). Proxy runs are independent Dask tasks with completion markers, and each round's
candidates are a pure function of the seed and the earlier rounds' results, so a resumed search redraws the
same candidates and reruns only the missing runs.

Outputs, in ``search/``: ``pool.parquet`` (the per-cluster text pool proxies sample from), ``round-N/`` (one
task per proxy run), ``runs.parquet``, ``predictor.txt`` (LightGBM model) and, last, ``best.json``.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation.executor import Executor
from curation.rundir import RunDir
from curation.settings import Name, Settings
from curation.stage import Stage

from .cluster import ClusterStage
from .proxy import NGramLM
from .target import read_target_texts

#: proxy runs in one round, and rounds: each run is a task, and its weights and results are kept to the end
MAX_RUNS_PER_ROUND = 10_000
MAX_ROUNDS = 100
#: candidates the predictor ranks in a round (also bounded with the cluster count, by ``ClimbSettings``)
MAX_CANDIDATE_POOL = 1_000_000
#: a proxy run's sample: its bytes become int64 n-gram keys, sorted, for each order (also bounded with the
#: cluster count, by ``ClimbSettings``, since the pool holds this many tokens of every cluster)
MAX_PROXY_TOKENS = 5_000_000


class SearchSettings(Settings):
    """The ``climb.search`` section. Upper bounds keep the search's memory bounded: a round holds
    ``candidate_pool`` weight vectors of one weight per cluster (``ClimbSettings`` bounds their product), every
    proxy run trains on up to ``proxy_tokens`` tokens per cluster, and each run is a task with its own results."""

    target: Name = Field(..., description="target validation set: text/jsonl/parquet files (glob, file or folder)")
    runs_per_round: list[Annotated[int, Field(ge=1, le=MAX_RUNS_PER_ROUND)]] = Field(
        default_factory=lambda: [16, 8, 4], min_length=1, max_length=MAX_ROUNDS
    )
    candidate_pool: int = Field(2000, ge=10, le=MAX_CANDIDATE_POOL)
    dirichlet_scale: float = Field(1.0, ge=1e-3, le=1e6, description="concentration of the prior; small: spiky")
    max_epochs: float = Field(15.0, gt=0, le=1e6)
    proxy_order: int = Field(5, ge=1, le=7)
    proxy_tokens: int = Field(200_000, ge=1000, le=MAX_PROXY_TOKENS)


def dirichlet_prior(token_share: np.ndarray, scale: float) -> np.ndarray:
    """Concentration vector whose mean is the token share (floored so no cluster is unreachable)."""
    share = np.maximum(token_share, 1e-3)
    return scale * len(share) * share / share.sum()


def feasible(weights: np.ndarray, cluster_tokens: np.ndarray, budget: int, max_epochs: float) -> np.ndarray:
    """Rows whose every cluster stays within ``max_epochs`` repetitions of its tokens at this budget."""
    return np.all(weights * budget <= max_epochs * np.maximum(cluster_tokens, 0) + 1e-9, axis=1)


def draw_candidates(
    rng: np.random.Generator,
    alpha: np.ndarray,
    n: int,
    cluster_tokens: np.ndarray,
    budget: int,
    max_epochs: float,
    max_tries: int = 50,
) -> np.ndarray:
    """``n`` feasible Dirichlet samples (fewer only if the prior almost never yields a feasible one)."""
    kept = []
    for _ in range(max_tries):
        w = rng.dirichlet(alpha, size=max(n, 64))
        kept.extend(w[feasible(w, cluster_tokens, budget, max_epochs)])
        if len(kept) >= n:
            break
    if not kept:
        raise ValueError(
            f"no mixture within max_epochs={max_epochs} reaches the token budget {budget}: "
            f"the clusters hold {int(cluster_tokens.sum())} tokens; lower mixture.token_budget "
            f"or raise climb.search.max_epochs"
        )
    return np.round(np.array(kept[:n]), 6)


# -- proxy runs (worker side) -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _pool(root: str) -> tuple:
    rundir = RunDir(root)
    t = rundir.read_table(SearchStage.name, "pool.parquet")
    clusters = t.column("cluster").to_numpy()
    texts = [s.encode("utf-8", "surrogatepass") for s in t.column("text").to_pylist()]
    tokens = t.column("n_tokens").to_numpy()
    return clusters, texts, tokens


@functools.lru_cache(maxsize=2)
def _target(path: str) -> bytes:
    return "\n\n".join(read_target_texts(path)).encode("utf-8", "surrogatepass")


def proxy_sample(root: str, weights: list[float], proxy_tokens: int) -> bytes:
    """Text drawn by the weights: for each cluster, its pool in order (cycling) until its token share is met."""
    clusters, texts, tokens = _pool(root)
    chunks = []
    for c, w in enumerate(weights):
        idx = np.flatnonzero(clusters == c)
        want = w * proxy_tokens
        got, j = 0, 0
        while got < want and len(idx):
            i = idx[j % len(idx)]
            chunks.append(texts[i])
            got += max(int(tokens[i]), 1)
            j += 1
    return b"\n\n".join(chunks)


def proxy_run(
    rundir: RunDir, weights: list[float], proxy_tokens: int, order: int, target: str, round: int, run: int
) -> dict:
    sample = proxy_sample(rundir.root, weights, proxy_tokens)
    bpb = NGramLM(order).fit(sample).bits_per_byte(_target(target))
    return {
        "in": 1,
        "out": 1,
        "round": round,
        "run": run,
        "weights": list(weights),
        "bpb": round_(bpb),
        "sample_bytes": len(sample),
    }


def round_(x: float) -> float:
    return float(np.round(x, 8))


# -- the search (driver side) -------------------------------------------------------------------------------
def build_pool(rundir: RunDir, source: str, proxy_tokens: int, seed: int) -> None:
    """Per cluster, a seeded shuffle of its documents up to ``proxy_tokens`` tokens (a proxy never needs more)."""
    a = rundir.read_table(ClusterStage.name, "assignments.parquet").to_pandas()
    rng = np.random.default_rng([seed, 7])
    picked = []
    for _cluster, group in a.groupby("cluster", sort=True):
        order = group.iloc[rng.permutation(len(group))]
        cum = order["n_tokens"].cumsum().to_numpy()
        picked.append(order.iloc[: int(np.searchsorted(cum, proxy_tokens)) + 1])
    import pandas as pd

    pool = pd.concat(picked)
    names = rundir.parts(source)  # an assignment's part is an index into this list (climb.cluster)
    texts: dict[Any, str] = {}
    for part, rows in pool.groupby("part", sort=True):
        column = rundir.read_table(source, names[int(part)], columns=["text"]).column("text")
        texts.update(zip(rows.index, column.take(pa.array(rows["row"].to_numpy(), pa.int64())).to_pylist()))
    rundir.write_table(
        pa.table(
            {
                "cluster": pool["cluster"].to_numpy(np.int32),
                "n_tokens": pool["n_tokens"].to_numpy(np.int64),
                "text": [texts[i] for i in pool.index],
            }
        ),
        SearchStage.name,
        "pool.parquet",
    )


def fit_predictor(weights: np.ndarray, scores: np.ndarray, seed: int):
    import lightgbm as lgb

    model = lgb.LGBMRegressor(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=8,
        min_child_samples=2,
        subsample=1.0,
        colsample_bytree=1.0,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    return model.fit(weights, scores)


class SearchStage(Stage):
    """Rounds of proxy runs (Dask tasks) driven from here; the source's documents feed the proxies' pool."""

    name = "search"
    outputs = ("pool.parquet", "round-N/", "runs.parquet", "predictor.txt", "best.json")

    def __init__(self, source: str, settings: SearchSettings, budget: int, seed: int):
        super().__init__(source)
        self.settings, self.budget, self.seed = settings, budget, seed

    def preflight(self) -> None:
        """A missing or empty target set stops the run before any work (the proxy runs read it last)."""
        read_target_texts(self.settings.target)

    def done(self, rundir: RunDir) -> bool:
        return rundir.exists(self.name, "best.json")

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        """Each round's candidates are a pure function of the seed and the earlier rounds' results, so a rerun
        redraws the same ones and its executor skips the runs already done."""
        settings, budget, seed = self.settings, self.budget, self.seed
        clusters = rundir.read_json(ClusterStage.name, "clusters.json")
        cluster_tokens = np.array([c["tokens"] for c in clusters["clusters"]], dtype=np.float64)
        share = np.array([c["token_share"] for c in clusters["clusters"]])
        if not rundir.exists(self.name, "pool.parquet"):
            build_pool(rundir, self.source_stage, settings.proxy_tokens, seed)
        alpha = dirichlet_prior(share, settings.dirichlet_scale)
        runs: list[dict] = []
        stats: list[dict] = []
        model = None
        for r, n_runs in enumerate(settings.runs_per_round):
            rng = np.random.default_rng([seed, r])
            if model is None:
                candidates = draw_candidates(rng, alpha, n_runs, cluster_tokens, budget, settings.max_epochs)
                predicted = [None] * len(candidates)
            else:
                pool = draw_candidates(rng, alpha, settings.candidate_pool, cluster_tokens, budget, settings.max_epochs)
                pred = model.predict(pool)
                best = np.argsort(pred, kind="stable")[:n_runs]
                candidates, predicted = pool[best], [round_(p) for p in pred[best]]
            tasks = {
                f"run-{j:03d}": {
                    "weights": [float(x) for x in w],
                    "proxy_tokens": settings.proxy_tokens,
                    "order": settings.proxy_order,
                    "target": settings.target,
                    "round": r,
                    "run": j,
                }
                for j, w in enumerate(candidates)
            }
            results = executor.run(rundir, f"{self.name}/round-{r}", proxy_run, tasks, desc=f"climb round {r}")
            stats.extend(results)
            for res, p in zip(results, predicted):
                runs.append(
                    {"round": r, "run": res["run"], "bpb": res["bpb"], "predicted_bpb": p, "weights": res["weights"]}
                )
            W = np.array([x["weights"] for x in runs])
            model = fit_predictor(W, np.array([x["bpb"] for x in runs]), seed)
        write_search_results(rundir, runs, model)
        best_run = min(runs, key=lambda x: (x["bpb"], x["round"], x["run"]))
        summary = {
            "best": best_run,
            "n_runs": len(runs),
            "rounds": list(settings.runs_per_round),
            "prior_bpb": round_(float(np.mean([x["bpb"] for x in runs if x["round"] == 0]))),
        }
        rundir.write_json(summary, self.name, "best.json")
        return stats


def write_search_results(rundir: RunDir, runs: list[dict], model) -> None:
    k = len(runs[0]["weights"])
    cols = {
        "round": [x["round"] for x in runs],
        "run": [x["run"] for x in runs],
        "bpb": [x["bpb"] for x in runs],
        "predicted_bpb": [x["predicted_bpb"] for x in runs],
    }
    for c in range(k):
        cols[f"w_{c}"] = [x["weights"][c] for x in runs]
    rundir.write_table(pa.table(cols), SearchStage.name, "runs.parquet")
    rundir.write_bytes(model.booster_.model_to_string().encode(), SearchStage.name, "predictor.txt")
