"""Run a stage's tasks on Dask: an embedded LocalCluster by default, or an existing cluster by address.

One executor serves every stage. A task is a top-level function ``fn(rundir, **kwargs) -> stats`` that
writes its own outputs atomically; the executor wraps it so that on the worker a finished task (one with a
completion marker) is skipped, and a new one gets its stats and marker written when it returns. Because the
marker decides, a killed run restarted with the same command redoes only unfinished tasks, whichever worker
or machine they land on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from .rundir import RunDir

if TYPE_CHECKING:
    from distributed import Client


class StageFailed(RuntimeError):
    """Some tasks of a stage raised: the message names each task and its error."""


class SchedulerUnreachable(ConnectionError):
    """``--scheduler`` names an address where no Dask scheduler answers."""


def _execute(fn: Callable[..., dict], root: str, stage: str, task: str, kwargs: dict) -> dict:
    """Worker side: skip if done, else run, then record stats and the completion marker."""
    rundir = RunDir(root)
    if rundir.is_done(stage, task):
        return {**rundir.read_json(stage, "_stats", f"{task}.json"), "skipped": True}
    _allow_child_processes()
    quiet_logs()
    start = time.perf_counter()
    stats = fn(rundir, **kwargs) or {}
    stats = {"task": task, "in": 0, "out": 0, "dropped": {}, **stats, "seconds": round(time.perf_counter() - start, 3)}
    rundir.mark_done(stage, task, stats)
    return stats


def _allow_child_processes() -> None:
    """Dask runs tasks in daemonic processes, which Python forbids to start children; datatrove's extractor
    sandbox needs one. The flag only guards `multiprocessing.Process.start`; clearing it is safe because the
    children are daemonic themselves and die with the worker."""
    import multiprocessing

    proc = multiprocessing.current_process()
    if proc.daemon and getattr(proc, "_popen", None) is None:
        proc.daemon = False


def quiet_logs() -> None:
    """Warnings and errors only: Dask's INFO chatter and datatrove's per-step loguru lines drown the progress
    bars and the messages that name bad input."""
    import sys

    from loguru import logger

    global _LOGURU_QUIETED
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if not _LOGURU_QUIETED:
        logger.remove()
        logger.add(sys.stderr, level="WARNING", format="{level} {name}: {message}")
        _LOGURU_QUIETED = True


_LOGURU_QUIETED = False


class Executor:
    """Context manager owning a Dask client; ``run`` maps a task function over named tasks with progress."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, progress: bool = True):
        self.scheduler = scheduler
        self.workers = workers
        self.progress = progress
        self._client: Client | None = None
        self._cluster: Any = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the executor has no Dask client: use it as a context manager (with Executor() as ex)")
        return self._client

    def __enter__(self) -> Executor:
        import dask
        from distributed import Client, LocalCluster

        quiet_logs()
        if self.scheduler:
            try:
                self._client = Client(self.scheduler, timeout="30s")
            except (OSError, TimeoutError) as err:
                raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {self.scheduler}: {err}") from None
        else:
            import os

            n = self.workers or max(1, min(os.cpu_count() or 1, 8))
            with dask.config.set({"distributed.worker.daemon": False}):
                self._cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def run(
        self, rundir: RunDir, stage: str, fn: Callable[..., dict], tasks: dict[str, dict], desc: str | None = None
    ) -> list[dict]:
        """Run ``fn(rundir, **kwargs)`` for every ``{task: kwargs}``; returns stats in task order.

        Tasks already marked done are skipped without being shipped. A task that raises does not stop the
        others; once all have ended, StageFailed names every failed task with its error."""
        from distributed import as_completed

        results: dict[str, dict] = {}
        todo = {}
        rundir.sweep_temporaries(stage)
        for task, kwargs in tasks.items():
            if rundir.is_done(stage, task):
                results[task] = {**rundir.read_json(stage, "_stats", f"{task}.json"), "skipped": True}
            else:
                todo[task] = kwargs
        futures = {}
        for task, kwargs in todo.items():
            fut = self.client.submit(
                _execute,
                fn,
                rundir.root,
                stage,
                task,
                kwargs,
                key=f"{stage}-{task}-{time.time_ns()}",
                pure=False,
                retries=0,
            )
            futures[fut] = task
        failures = []
        with tqdm(
            total=len(tasks),
            initial=len(results),
            desc=desc or stage,
            unit="task",
            disable=not self.progress,
            leave=False,
        ) as bar:
            for fut in as_completed(futures):
                task = futures[fut]
                try:
                    results[task] = fut.result()
                except Exception as err:  # noqa: BLE001 - reported below with the task's name
                    failures.append(f"{stage}/{task}: {type(err).__name__}: {err}")
                bar.update(1)
        if failures:
            raise StageFailed(f"{len(failures)} task(s) of stage '{stage}' failed:\n  " + "\n  ".join(failures))
        return [results[t] for t in tasks]

    def submit_call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run one global step on a worker (so a remote cluster does the work where the data is)."""
        return self.client.submit(fn, *args, **kwargs, pure=False).result()
