"""Run a stage's tasks on Dask: an embedded LocalCluster by default, or an existing cluster by address.

One executor serves every stage. A task is a top-level function ``fn(rundir, **kwargs) -> stats`` that
writes its own outputs atomically; the executor wraps it so that on the worker a finished task (one with a
completion marker) is skipped, and a new one gets its stats and marker written when it returns. Because the
marker decides, a killed run restarted with the same command redoes only unfinished tasks, whichever worker
or machine they land on.

Progress inside a task: a task that reads documents calls :func:`report_progress` for each one (``ShardStage``
does, for every stage that reads through it). At most once a second it sends the task's count to the
scheduler as a Dask event (``Worker.log_event`` on topic ``curate-progress``); the driver subscribes to the
topic and shows the documents read by the running tasks beside the stage's bar. Between sends a call is a
counter increment and a clock read, so a 100 MB shard shows its progress without slowing its extraction
(``bench/bench_progress.py``). Outside a Dask worker, or with progress off, it does nothing.

Memory between stages: after every task the allocators' free memory is handed back, and when a stage ends
every worker and the driver drop their per-stage caches (``curation.memory``)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from .memory import release_memory, return_free_memory
from .rundir import RunDir

if TYPE_CHECKING:
    from distributed import Client


class StageFailed(RuntimeError):
    """Some tasks of a stage raised: the message names each task and its error; ``errors`` holds the errors
    themselves (the driver tells a full disk from a bug by them)."""

    def __init__(self, message: str, errors: list[BaseException] | None = None):
        super().__init__(message)
        self.errors = errors or []


class SchedulerUnreachable(ConnectionError):
    """``--scheduler`` names an address where no Dask scheduler answers."""


#: the Dask event topic tasks report their documents read on, and the least seconds between two reports
PROGRESS_TOPIC = "curate-progress"
PROGRESS_EVERY_S = 1.0


class _TaskProgress:
    """The running task's count of documents read, sent as a Dask event at most every ``PROGRESS_EVERY_S``."""

    def __init__(self, key: str, worker: Any):
        self.key, self.worker = key, worker
        self.docs = 0
        self.next_send = time.monotonic() + PROGRESS_EVERY_S

    def add(self, n: int) -> None:
        self.docs += n
        now = time.monotonic()
        if now >= self.next_send:
            self.next_send = now + PROGRESS_EVERY_S
            self.worker.log_event(PROGRESS_TOPIC, {"key": self.key, "docs": self.docs})


#: the running task's progress, per thread: a worker started with ``--nthreads`` above 1 runs tasks side by side
_PROGRESS = threading.local()


def report_progress(n: int = 1) -> None:
    """``n`` more documents read by the running task (a no-op outside a Dask task or with progress off)."""
    progress = getattr(_PROGRESS, "task", None)
    if progress is not None:
        progress.add(n)


def _progress_for_this_task() -> _TaskProgress | None:
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not on a Dask worker (a task called in-process)
        return None
    key = worker.get_current_task()
    return _TaskProgress(str(key), worker) if key is not None else None


def _execute(fn: Callable[..., dict], root: str, stage: str, task: str, kwargs: dict, progress: bool = False) -> dict:
    """Worker side: skip if done, else run, then record stats and the completion marker."""
    rundir = RunDir(root)
    if rundir.is_done(stage, task):
        return {**rundir.read_json(stage, "_stats", f"{task}.json"), "skipped": True}
    _allow_child_processes()
    quiet_logs()
    start = time.perf_counter()
    _PROGRESS.task = _progress_for_this_task() if progress else None
    try:
        stats = fn(rundir, **kwargs) or {}
    finally:
        _PROGRESS.task = None
        return_free_memory()
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
    worker_log = logging.getLogger("distributed.worker")
    if not any(isinstance(f, _NoComputeFailed) for f in worker_log.filters):
        worker_log.addFilter(_NoComputeFailed())
    if not _LOGURU_QUIETED:
        logger.remove()
        logger.add(sys.stderr, level="WARNING", format="{level} {name}: {message}")
        _LOGURU_QUIETED = True


_LOGURU_QUIETED = False


class _NoComputeFailed(logging.Filter):
    """Drops Dask's "Compute Failed" record (the task's traceback, logged by the worker): the driver reports
    every failed task by name with its error once the stage ends, and a full disk as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Compute Failed")


class _RunningDocs:
    """Driver side: the documents read so far by each running task of one ``Executor.run``, from the tasks'
    progress events (called on the client's event loop), shown after the stage's bar."""

    def __init__(self, bar: Any, keys: set[str]):
        self.bar, self.keys = bar, keys
        self.docs: dict[str, int] = {}

    def on_event(self, event: tuple[float, Any]) -> None:
        msg = event[1]
        if isinstance(msg, dict) and msg.get("key") in self.keys:
            self.docs[msg["key"]] = int(msg["docs"])
            self._show()

    def finished(self, key: str) -> None:
        self.keys.discard(key)
        if self.docs.pop(key, None) is not None:
            self._show()

    def _show(self) -> None:
        docs = dict(self.docs)
        text = f"{sum(docs.values()):,} docs read by {len(docs)} running task(s)" if docs else ""
        self.bar.set_postfix_str(text)


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
                self.progress,
                key=f"{stage}-{task}-{time.time_ns()}",
                pure=False,
                retries=0,
            )
            futures[fut] = task
        failures = []
        errors: list[BaseException] = []
        with tqdm(
            total=len(tasks),
            initial=len(results),
            desc=desc or stage,
            unit="task",
            disable=not self.progress,
            leave=False,
        ) as bar:
            running = _RunningDocs(bar, {str(fut.key) for fut in futures})
            if self.progress and futures:
                self.client.subscribe_topic(PROGRESS_TOPIC, running.on_event)
            try:
                for fut in as_completed(futures):
                    task = futures[fut]
                    try:
                        results[task] = fut.result()
                    except Exception as err:  # noqa: BLE001 - reported below with the task's name
                        failures.append(f"{stage}/{task}: {type(err).__name__}: {err}")
                        errors.append(err)
                    running.finished(str(fut.key))
                    bar.update(1)
            finally:
                if self.progress and futures:
                    self.client.unsubscribe_topic(PROGRESS_TOPIC)
        if failures:
            raise StageFailed(f"{len(failures)} task(s) of stage '{stage}' failed:\n  " + "\n  ".join(failures), errors)
        return [results[t] for t in tasks]

    def release_memory(self) -> None:
        """When a stage ends: every worker, and this process, drops its per-stage caches and returns free memory
        (:func:`release_memory`). Best effort: a worker that is gone or fails is skipped."""
        self.client.run(release_memory, on_error="ignore")
        release_memory()

    def submit_call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run one global step on a worker (so a remote cluster does the work where the data is)."""
        return self.client.submit(fn, *args, **kwargs, pure=False).result()
