"""The driver: check every stage up front, then lock and claim the run directory (``prepare_run``, see
``pipelines.claim``), then run each stage not yet done (``run_stages``).

The checks come before any Dask worker starts, so a missing benchmark or target costs nothing. Each stage
reads the previous stage's folder in the run directory and writes its own; what is already done there is
skipped, so rerunning the same command after a crash finishes the run without redoing work.
"""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable, Iterator

from curation.executor import Executor, StageFailed
from curation.rundir import RunDir, RunLock
from curation.stage import Stage

from .claim import check_run_dir_outside_inputs, claim_run_dir
from .config import RunConfig, check_models
from .inputs import expand_inputs
from .stages import build_stages


def prepare_run(cfg: RunConfig) -> tuple[RunDir, list[Stage]]:
    """The run's stages, each checked up front, and its run directory; nothing is written yet."""
    rundir, stages, _ = _plan(cfg)
    return rundir, stages


@contextlib.contextmanager
def claimed_run(cfg: RunConfig) -> Iterator[tuple[RunDir, list[Stage]]]:
    """:func:`prepare_run`, then the run directory locked (one run at a time) and claimed for this config and
    these input files, for as long as the block runs."""
    rundir, stages, shards = _plan(cfg)
    with RunLock(rundir):
        claim_run_dir(rundir, cfg, shards)
        yield rundir, stages


def _plan(cfg: RunConfig) -> tuple[RunDir, list[Stage], list[str]]:
    check_models(cfg)  # again: a config built with parse_config, not load_config, is checked too
    check_run_dir_outside_inputs(cfg.run_dir, cfg.inputs)
    shards = expand_inputs(cfg.inputs)
    stages = build_stages(cfg, shards)
    for stage in stages:  # a missing benchmark or target set stops the run here, before any work
        stage.preflight()
    return RunDir(cfg.run_dir), stages, shards


class DiskFull(RuntimeError):
    """The run directory's filesystem is full: the message names the stage and the path."""


def run_stages(stages: list[Stage], rundir: RunDir, executor: Executor, echo: Callable[[str], None] = print) -> None:
    for stage in stages:
        if stage.done(rundir):
            echo(f"  {stage.name:<18}    done")
            continue
        start = time.perf_counter()
        try:
            stage.run(executor, rundir)
        except (OSError, StageFailed) as err:
            full = _disk_full(err)
            if full is None:
                raise
            where = full.filename or rundir.url(stage.name)
            raise DiskFull(
                f"stage {stage.name}: no space left writing {where}; free space and rerun the same command "
                "(finished tasks are kept, half-written files are swept)",
            ) from None
        executor.release_memory()  # the next stage's tasks run in the same worker processes
        echo(f"  {stage.name:<18} {time.perf_counter() - start:7.1f} s")


def _disk_full(err: BaseException) -> OSError | None:
    """The out-of-space error behind ``err``: itself (a step the driver ran) or one of a failed stage's task
    errors (raised on a worker and shipped back by Dask); None when the failure is something else."""
    candidates = [err, *getattr(err, "errors", [])]
    for error in candidates:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
    return None
