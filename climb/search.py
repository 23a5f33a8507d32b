"""CLIMB's iterative mixture search over the (super-)clusters, and the judgement of its result.

The target set is split once by document (``climb.target.split_target``): the search sees one part, the final
mixtures are judged on the other. Round 0 draws candidate weight vectors from a Dirichlet prior centred on
each cluster's token share; every candidate is scored by a cheap proxy run (``climb.proxy_runs``: bits per byte
on the search part of the target of a small n-gram model trained on a sample drawn by the weights: by default
a token 3-gram with modified Kneser-Ney on 200K tokens, the larger proxy's model on less text, as CLIMB's proxy
is a small model of its target's kind; ``proxy_model: bytes`` gives a Witten-Bell byte n-gram). A
predictor (``climb.predictor``: the mean of regularised LightGBM regressors) is refitted after each round, and the next
round runs candidates drawn from the top it ranks in a large pool; its rank correlation with what those runs then
measure is recorded per round. That pool narrows the search as CLIMB's iterations do: it is drawn from a
Dirichlet centred on the predictor's answer so far (the mean of its top choices among prior draws and the runs,
concentration ``narrowing``), where RegMix ranks one pool drawn from the prior. A pool from the prior (centred on
the token shares) rarely holds a mixture near a sparse optimum, so the later rounds measured mixtures far from
the answer; on the Debian-doc bench (five seeds, the same runs and draws) the narrowed search's final mixture
judged 0.010 bits/byte better on the held-out target than the prior-pool search's, on average (SCALE.md).
Rounds default to 32, 16 and 8 runs (CLIMB's 4:2:1). Candidates that would repeat a cluster more than
``max_epochs`` times within the mixture's token budget are rejected (CLIMB and RegMix cap at 15).

A larger proxy (``climb.proxy_kn``: the token n-gram on more text) scores every search run too, which
calibrates the cheap proxy's ranking on the mixtures the search chose between, and judges, on the held-out
target and over several sample draws, the search's two answers (the mean of the predictor's top choices and
the best measured run) beside the baselines (``climb.baselines``). The final mixture is whichever of the two
the judgement prefers.

Proxy runs are independent Dask tasks with completion markers, and each round's candidates are a pure function
of the seed and the earlier rounds' results, so a resumed search redraws the same candidates and reruns only
the missing runs.

Outputs, in ``search/``: ``pool.parquet`` (the per-cluster text pool proxies sample from), ``round-N/``,
``random/``, ``calibrate/``, ``judge/`` (one task per proxy run), ``runs.parquet``, ``rounds.json``,
``predictor.txt`` (the last predictor's LightGBM models), ``baselines.json`` and, last, ``best.json``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from curation.executor import Executor
from curation.rundir import RunDir
from curation.settings import Name, Settings
from curation.stage import Stage

from . import baselines
from .cluster import ClusterStage
from .pool import build_pool
from .predictor import Predictor, fit_predictor, spearman
from .proxy_kn import MAX_ORDER
from .proxy_runs import POOL, calibration_run, judge_run, rounded, search_run, target_doc_bytes, target_docs
from .target import read_target_texts, split_target

#: proxy runs in one round, and rounds: each run is a task, and its weights and results are kept to the end
MAX_RUNS_PER_ROUND = 10_000
MAX_ROUNDS = 100
#: candidates the predictor ranks in a round (also bounded with the cluster count, by ``ClimbSettings``)
MAX_CANDIDATE_POOL = 1_000_000
#: a proxy run's sample: its bytes become int64 n-gram keys, sorted, for each order (also bounded with the
#: cluster count, by ``ClimbSettings``, since the pool holds this many tokens of every cluster)
MAX_PROXY_TOKENS = 5_000_000
#: the judge's sample (token ids, four orders of uint64 keys)
MAX_JUDGE_TOKENS = 50_000_000
MAX_JUDGE_SEEDS = 20
#: a round after the first draws its candidates from this top share of the predictor's ranking of the pool:
#: a tree ensemble ties many candidates at its best value, and picking the first n of a tie would make them
#: near copies of one another
TOP_FRACTION = 0.05


class SearchSettings(Settings):
    """The ``climb.search`` section. Upper bounds keep the search's memory bounded: a round holds
    ``candidate_pool`` weight vectors of one weight per cluster (``ClimbSettings`` bounds their product), every
    proxy run trains on up to ``proxy_tokens`` tokens per cluster, and each run is a task with its own results."""

    target: Name = Field(..., description="target validation set: text/jsonl/parquet files (glob, file or folder)")
    runs_per_round: list[Annotated[int, Field(ge=1, le=MAX_RUNS_PER_ROUND)]] = Field(
        default_factory=lambda: [32, 16, 8], min_length=1, max_length=MAX_ROUNDS
    )
    candidate_pool: int = Field(10_000, ge=10, le=MAX_CANDIDATE_POOL)
    dirichlet_scale: float = Field(1.0, ge=1e-3, le=1e6, description="concentration of the prior; small: spiky")
    narrowing: float = Field(
        30.0,
        ge=1e-3,
        le=1e6,
        description="concentration of later rounds' candidates around the predictor's answer (higher: closer)",
    )
    max_epochs: float = Field(15.0, gt=0, le=1e6)
    proxy_model: Literal["tokens", "bytes"] = Field(
        "tokens", description="the cheap proxy: 'tokens' (Kneser-Ney token n-gram) or 'bytes' (Witten-Bell byte n-gram)"
    )
    proxy_order: int = Field(3, ge=1, le=7, description="n-gram order of the cheap proxy (at most 4 for 'tokens')")
    proxy_tokens: int = Field(200_000, ge=1000, le=MAX_PROXY_TOKENS)
    piece_tokens: int = Field(
        512,
        ge=16,
        le=MAX_PROXY_TOKENS,
        description="the proxies draw their samples in pieces of about this many tokens",
    )
    heldout_fraction: float = Field(0.5, gt=0, lt=1, description="share of the target's documents held out")
    judge_tokens: int = Field(2_000_000, ge=1000, le=MAX_JUDGE_TOKENS, description="the larger proxy's sample")
    judge_order: int = Field(3, ge=1, le=MAX_ORDER)
    judge_seeds: int = Field(3, ge=1, le=MAX_JUDGE_SEEDS, description="sample draws per judged mixture")

    @model_validator(mode="after")
    def _token_order(self) -> SearchSettings:
        if self.proxy_model == "tokens" and self.proxy_order > MAX_ORDER:
            raise ValueError(
                f"climb.search.proxy_order: {self.proxy_order} is above {MAX_ORDER}, the highest order of the "
                "token proxy (up to 7 with proxy_model: bytes)"
            )
        return self


def dirichlet_prior(token_share: np.ndarray, scale: float) -> np.ndarray:
    """Concentration vector whose mean is the token share (floored so no cluster is unreachable)."""
    share = np.maximum(token_share, 1e-3)
    return scale * len(share) * share / share.sum()


def narrowed(centre: list[float], concentration: float) -> np.ndarray:
    """Concentration vector of a Dirichlet centred on ``centre`` (floored as the prior's is): a later round's
    candidates lie around the predictor's current answer."""
    share = np.maximum(np.asarray(centre, np.float64), 1e-3)
    return concentration * share / share.sum()


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


# -- the search (driver side) -------------------------------------------------------------------------------
class SearchStage(Stage):
    """Rounds of proxy runs (Dask tasks) driven from here; the source's documents feed the proxies' pool."""

    name = "search"
    outputs = (
        "pool.parquet",
        "round-N/",
        "random/",
        "calibrate/",
        "judge/",
        "runs.parquet",
        "rounds.json",
        "predictor.txt",
        "baselines.json",
        "best.json",
    )

    def __init__(self, source: str, settings: SearchSettings, budget: int, seed: int, tokenizer: str = "smollm2"):
        super().__init__(source)
        self.settings, self.budget, self.seed, self.tokenizer = settings, budget, seed, tokenizer

    def preflight(self) -> None:
        """A missing or too small target set stops the run before any work (the proxy runs read it last)."""
        split_target(read_target_texts(self.settings.target), self.settings.heldout_fraction, self.seed)

    def done(self, rundir: RunDir) -> bool:
        return rundir.exists(self.name, "best.json")

    def spec(self) -> dict:
        """What every proxy task needs besides its weights. Neither proxy trains on more text than the mixture
        will hold: a sample larger than the budget holds whole clusters, repeated, where the mixture holds a
        part of each (on the Debian-doc bench, with the budget above the pool, the cheap proxy ranked 32 mixtures
        with Spearman 0.29 against the larger one; with the budget at a fifth of the pool and both samples at
        the budget, 0.84; see ``bench/bench_climb.py``)."""
        s = self.settings
        return {
            "target": s.target,
            "heldout_fraction": s.heldout_fraction,
            "seed": self.seed,
            "proxy_tokens": min(s.proxy_tokens, self.budget),
            "proxy_model": s.proxy_model,
            "proxy_order": s.proxy_order,
            "judge_tokens": min(s.judge_tokens, self.budget),
            "judge_order": s.judge_order,
            "tokenizer": self.tokenizer,
        }

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        """Each round's candidates are a pure function of the seed and the earlier rounds' results, so a rerun
        redraws the same ones and its executor skips the runs already done."""
        settings, budget, seed, spec = self.settings, self.budget, self.seed, self.spec()
        clusters = rundir.read_json(ClusterStage.name, "clusters.json")
        cluster_tokens = np.array([c["tokens"] for c in clusters["clusters"]], dtype=np.float64)
        share = np.array([c["token_share"] for c in clusters["clusters"]])
        if not rundir.exists(*POOL):
            pool_tokens = max(spec["proxy_tokens"], spec["judge_tokens"])
            build_pool(rundir, self.source_stage, pool_tokens, settings.piece_tokens, seed, self.tokenizer)
        alpha = dirichlet_prior(share, settings.dirichlet_scale)

        def draw(stream: list[int], n: int, around: np.ndarray = alpha) -> np.ndarray:
            rng = np.random.default_rng([seed, *stream])
            return draw_candidates(rng, around, n, cluster_tokens, budget, settings.max_epochs)

        def local_pool(stream: list[int], model: Predictor, tried: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """A prior pool, and candidates around the predictor's answer over it and the runs ``tried``."""
            prior = np.concatenate([draw(stream, settings.candidate_pool), tried])
            answer = baselines.predicted_top(model, prior)
            return prior, draw([*stream, 1], settings.candidate_pool, narrowed(answer, settings.narrowing))

        def proxy_runs(group: str, candidates: np.ndarray, first: int = 0, round: int = 0) -> list[dict]:
            tasks = {
                f"run-{first + j:03d}": {
                    "weights": [float(x) for x in w],
                    "spec": spec,
                    "round": round,
                    "run": first + j,
                }
                for j, w in enumerate(candidates)
            }
            return executor.run(rundir, f"{self.name}/{group}", search_run, tasks, desc=f"climb {group}")

        runs: list[dict] = []
        rounds: list[dict] = []
        stats: list[dict] = []
        models: list[Predictor] = []  # the predictor after each round
        predicted: list[float | None]
        for r, n_runs in enumerate(settings.runs_per_round):
            if not models:
                candidates, predicted = draw([r], n_runs), [None] * n_runs
            else:
                _, pool = local_pool([r], models[-1], np.array([x["weights"] for x in runs]))
                pred = models[-1].predict(pool)
                top = np.argsort(pred, kind="stable")[: max(n_runs, int(TOP_FRACTION * len(pool)))]
                top = np.sort(
                    np.random.default_rng([seed, 19, r]).choice(top, size=min(n_runs, len(top)), replace=False)
                )
                candidates, predicted = pool[top], [rounded(float(p)) for p in pred[top]]
            results = proxy_runs(f"round-{r}", candidates, round=r)
            stats.extend(results)
            runs.extend(
                {"round": r, "run": x["run"], "bpb": x["bpb"], "predicted_bpb": p, "weights": x["weights"]}
                for x, p in zip(results, predicted)
            )
            measured = [x["bpb"] for x in results]
            model = fit_predictor(
                np.array([x["weights"] for x in runs]), np.array([x["bpb"] for x in runs]), [seed, 17, r]
            )
            models.append(model)
            rounds.append(
                {
                    "round": r,
                    "runs": len(results),
                    "best_bpb": min(measured),
                    "mean_bpb": rounded(float(np.mean(measured))),
                    "best_so_far": min(x["bpb"] for x in runs),
                    "predictor_spearman": spearman(predicted, measured) if r else None,
                    "predictor_trees": model.trees,
                }
            )

        # the random search and RegMix get as many proxy runs as CLIMB: round 0 (the same prior) and fresh draws
        n0, n_all = sum(x["round"] == 0 for x in runs), len(runs)
        extra = proxy_runs("random", draw([41], n_all - n0), first=n0) if n_all > n0 else []
        stats.extend(extra)
        random_runs = [x for x in runs if x["round"] == 0] + [{"bpb": x["bpb"], "weights": x["weights"]} for x in extra]
        for entry, fitted in zip(rounds, models):
            # a round's runs lie where the predictor ranked best, so close together that ties and noise decide
            # their ranks; the random search's fresh draws from the prior are mixtures no round trained on
            entry["predictor_spearman_fresh"] = (
                spearman(fitted.predict(np.array([x["weights"] for x in extra])), [x["bpb"] for x in extra])
                if extra
                else None
            )
        calibration = executor.run(
            rundir,
            f"{self.name}/calibrate",
            calibration_run,
            {f"run-{j:03d}": {"weights": x["weights"], "spec": spec, "run": j} for j, x in enumerate(runs)},
            desc="climb calibrate",
        )
        stats.extend(calibration)
        for x, c in zip(runs, calibration):
            x["judge_bpb"] = c["judge_bpb"]

        model = models[-1]  # runs_per_round has at least one round
        final_pool = np.concatenate(local_pool([53], model, np.array([x["weights"] for x in runs])))
        best_run = min(runs, key=lambda x: (x["bpb"], x["round"], x["run"]))
        mixtures = {
            "uniform": baselines.uniform(len(share)),
            "token_share": baselines.token_share(share),
            "random_best": min(random_runs, key=lambda x: x["bpb"])["weights"],
            "regmix": baselines.regmix(random_runs, draw([47], settings.candidate_pool), [seed, 43]),
            "climb_predicted": baselines.predicted_top(model, final_pool),
            "climb_best_run": best_run["weights"],
        }
        judged = executor.run(
            rundir,
            f"{self.name}/judge",
            judge_run,
            {
                f"{name}-s{s}": {"weights": w, "spec": spec, "name": name, "draw_seed": s}
                for name, w in mixtures.items()
                for s in range(settings.judge_seeds)
            },
            desc="climb judge",
        )
        stats.extend(judged)
        report = baselines.report(
            mixtures,
            judged,
            judge={
                "model": f"token {settings.judge_order}-gram, interpolated modified Kneser-Ney",
                "tokenizer": self.tokenizer,
                "train_tokens": spec["judge_tokens"],
                "target": "held-out part",
            },
            seeds=list(range(settings.judge_seeds)),
            target={
                "search_docs": len(target_docs(settings.target, settings.heldout_fraction, seed, heldout=False)),
                "heldout_docs": len(target_docs(settings.target, settings.heldout_fraction, seed, heldout=True)),
            },
            feasible=lambda w: bool(feasible(np.array([w]), cluster_tokens, budget, settings.max_epochs)[0]),
            doc_bytes=target_doc_bytes(settings.target, settings.heldout_fraction, seed, heldout=True),
        )
        report["calibration"] = {
            "mixtures": len(calibration),
            "spearman": spearman([x["bpb"] for x in runs[: len(calibration)]], [c["judge_bpb"] for c in calibration]),
        }
        write_search_results(rundir, runs, rounds, model)
        rundir.write_json(report, self.name, "baselines.json")
        final = next(m for m in report["mixtures"] if m["name"] == report["final"])
        summary = {
            "best": {
                "name": final["name"],
                "weights": final["weights"],
                "bpb": final["bits_per_byte_mean"],
                "search_bpb": best_run["bpb"] if final["name"] == "climb_best_run" else None,
            },
            "best_run": best_run,
            "n_runs": len(runs),
            "rounds": list(settings.runs_per_round),
            "prior_bpb": rounds[0]["mean_bpb"],
        }
        rundir.write_json(summary, self.name, "best.json")
        return stats


def write_search_results(rundir: RunDir, runs: list[dict], rounds: list[dict], model) -> None:
    k = len(runs[0]["weights"])
    cols = {
        "round": [x["round"] for x in runs],
        "run": [x["run"] for x in runs],
        "bpb": [x["bpb"] for x in runs],
        "predicted_bpb": pa.array([x["predicted_bpb"] for x in runs], pa.float64()),
        "judge_bpb": pa.array([x.get("judge_bpb") for x in runs], pa.float64()),
    }
    for c in range(k):
        cols[f"w_{c}"] = [x["weights"][c] for x in runs]
    rundir.write_table(pa.table(cols), SearchStage.name, "runs.parquet")
    rundir.write_json({"rounds": rounds}, SearchStage.name, "rounds.json")
    rundir.write_bytes(model.to_string().encode(), SearchStage.name, "predictor.txt")
