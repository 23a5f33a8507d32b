"""The one place where a config becomes a list of stages, and the driver that runs them in order.

    extract (+ tokens) -> filter -> dedup -> [cleanup] -> [classify] -> climb (embed, cluster, search) -> mixture

Each stage reads the previous stage's folder in the run directory and writes its own; what is already done
there is skipped, so rerunning the same command after a crash finishes the run without redoing work.
"""
from __future__ import annotations

import time

from curation.classify import ClassifyStage
from curation.cleanup import CleanupStage
from curation.dedup import DedupStage
from curation.executor import Executor
from curation.extract import ExtractStage
from curation.filter import FilterStage
from curation.rundir import RunDir

from .config import RunConfig, expand_inputs


def shard_stages(cfg: RunConfig, shards: list[str]) -> list:
    """The per-shard document stages, in order; the last one feeds CLIMB."""
    stages = [ExtractStage(shards, cfg.extract, tokenizer=cfg.tokens.tokenizer), FilterStage(cfg.filter),
              DedupStage(cfg.dedup)]
    llm = cfg.llm.model_dump()
    if cfg.cleanup.enabled:
        stages.append(CleanupStage(stages[-1].name, cfg.cleanup, llm, cfg.seed))
    if cfg.classify.enabled:
        stages.append(ClassifyStage(stages[-1].name, cfg.classify, llm, cfg.climb.embedding_model, cfg.seed))
    return stages


def run_pipeline(cfg: RunConfig, executor: Executor, echo=print) -> RunDir:
    from climb.cluster import cluster_documents
    from climb.embed import EmbedStage
    from climb.mixture import MixtureStage
    from climb.search import search
    from climb.target import read_target_texts

    # a missing or unreadable benchmark or target set stops the run before any work, not after the costly
    # stages (the proxy runs are the first to read the target)
    if cfg.filter.decontamination.benchmarks:
        from curation.decontaminate import BenchmarkIndex

        BenchmarkIndex.from_config(cfg.filter.decontamination)
    read_target_texts(cfg.climb.search.target)
    rundir = RunDir(cfg.run_dir)
    claim_run_dir(rundir, cfg)
    shards = expand_inputs(cfg.inputs)
    stages = shard_stages(cfg, shards)
    for stage in stages:
        _timed(echo, stage.name, stage.run, executor, rundir)
    docs = stages[-1].name
    _timed(echo, "climb/embeddings",
           lambda: EmbedStage(docs, cfg.climb.embedding_model).run(executor, rundir))
    if not rundir.exists("climb", "clusters.json"):
        _timed(echo, "climb/cluster", lambda: executor.submit_call(
            cluster_documents, rundir, docs, cfg.climb.n_clusters, cfg.seed))
    if not rundir.exists("climb", "search", "best.json"):
        _timed(echo, "climb/search", lambda: search(executor, rundir, docs, cfg.climb.search,
                                                    cfg.mixture.token_budget, cfg.seed))
    manifest = {"config_hash": cfg.content_hash(), "inputs": shards, "source_stage": docs}
    _timed(echo, "mixture", lambda: MixtureStage(docs, cfg.mixture.token_budget, cfg.seed)
           .run(executor, rundir, manifest))
    return rundir


class RunDirConflict(ValueError):
    """The run directory holds a run of another config: resuming it would mix outputs of two configs."""


def claim_run_dir(rundir: RunDir, cfg: RunConfig) -> None:
    """First run: record the config. Later runs: resume only if the config decides the same outputs."""
    digest = cfg.content_hash()
    if rundir.exists("_run.json"):
        previous = rundir.read_json("_run.json").get("config_hash")
        if previous != digest:
            raise RunDirConflict(f"{rundir.url()} holds a run of a different config (hash {previous}, this one "
                                 f"{digest}); choose another run_dir or delete that one to start over")
        return
    rundir.makedirs()
    rundir.write_bytes(_yaml(cfg).encode(), "config.yaml")
    rundir.write_json({"config_hash": digest}, "_run.json")


def _timed(echo, name: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    echo(f"  {name:<18} {time.perf_counter() - start:7.1f} s")
    return result


def _yaml(cfg: RunConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.model_dump(), sort_keys=False)
