"""The driver: check every stage up front and claim the run directory (``prepare_run``), then run each stage
not yet done (``run_stages``).

The checks come before any Dask worker starts, so a missing benchmark or target costs nothing. Each stage
reads the previous stage's folder in the run directory and writes its own; what is already done there is
skipped, so rerunning the same command after a crash finishes the run without redoing work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import yaml

from curation.executor import Executor
from curation.rundir import RunDir
from curation.stage import Stage

from .config import RunConfig
from .inputs import expand_inputs
from .stages import build_stages


def prepare_run(cfg: RunConfig) -> tuple[RunDir, list[Stage]]:
    """The run's stages, each checked up front, and its run directory, claimed for this config."""
    stages = build_stages(cfg, expand_inputs(cfg.inputs))
    for stage in stages:  # a missing benchmark or target set stops the run here, before any work
        stage.preflight()
    rundir = RunDir(cfg.run_dir)
    claim_run_dir(rundir, cfg)
    return rundir, stages


def run_stages(stages: list[Stage], rundir: RunDir, executor: Executor, echo: Callable[[str], None] = print) -> None:
    for stage in stages:
        if stage.done(rundir):
            echo(f"  {stage.name:<18}    done")
            continue
        start = time.perf_counter()
        stage.run(executor, rundir)
        echo(f"  {stage.name:<18} {time.perf_counter() - start:7.1f} s")


class RunDirConflict(ValueError):
    """The run directory holds a run of another config: resuming it would mix outputs of two configs."""


def claim_run_dir(rundir: RunDir, cfg: RunConfig) -> None:
    """First run: record the config. Later runs: resume only if the config decides the same outputs."""
    digest = cfg.content_hash()
    if rundir.exists("_run.json"):
        previous = rundir.read_json("_run.json").get("config_hash")
        if previous != digest:
            raise RunDirConflict(
                f"{rundir.url()} holds a run of a different config (hash {previous}, this one "
                f"{digest}); choose another run_dir or delete that one to start over"
            )
        return
    rundir.makedirs()
    rundir.write_bytes(yaml.safe_dump(cfg.model_dump(), sort_keys=False).encode(), "config.yaml")
    rundir.write_json({"config_hash": digest}, "_run.json")
