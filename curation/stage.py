"""Stages: the unit the pipeline is made of, all behind one interface.

A stage has a ``name`` (its folder in the run directory), a ``source`` (the stage whose documents it reads;
None for the first), ``outputs`` (what it leaves in its folder, for readers of the run directory), and two
methods: ``done(rundir)`` says whether its outputs are complete, ``run(executor, rundir)`` makes them and
returns its task stats. ``preflight()`` checks, before any stage runs, what a stage can check up front (a
benchmark file, the target set), so a bad setting costs nothing. ``pipelines.stages.build_stages`` builds the
list from a config; the driver, ``curate stats`` and the report only iterate over it. ARCHITECTURE.md says
how to add one.

Most stages are :class:`ShardStage`: one task per part of the source (a WARC shard for ``extract``, the
previous stage's ``part-NNNNN.parquet`` otherwise), each writing its own part atomically with a completion
marker. By default a task reads the part's documents, passes them through the stage's datatrove steps and
writes ``<stage>/part-NNNNN.parquet``; a stage that writes something else overrides ``task``. Work a stage
must do across all parts first (dedup decisions, training a classifier, choosing the mixture) happens in its
``run`` before the tasks, guarded by the file that work writes last, so a killed run resumes it too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from .documents import SCHEMA, batched_tables, from_table
from .executor import Executor, report_progress
from .rundir import RunDir, part_name, write_parquet_stream
from .step import Step, aside_of, drops_of, errors_of, flags_of

# documents dropped with a record of why (``<stage>/_aside/part-*.parquet``), e.g. the benchmark item matched
ASIDE_SCHEMA = pa.schema([("id", pa.string()), ("url", pa.string()), ("reason", pa.string()), ("detail", pa.string())])


class ParquetDocReader(Step):
    """Documents from one parquet part of an earlier stage, read a row group at a time."""

    name = "parquet-reader"

    def __init__(self, rundir: RunDir, stage: str, part: str, columns: list[str] | None = None):
        super().__init__()
        self.rundir, self.stage, self.part, self.columns = rundir, stage, part, columns

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        import pyarrow.parquet as pq

        with self.rundir.fs.open(self.rundir.path(self.stage, self.part), "rb") as f:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                table = pf.read_row_group(i, columns=self.columns)
                self.stat_update("records", value=table.num_rows)
                if "n_tokens" in table.column_names:
                    self.stat_update("tokens", value=int(pc.sum(table["n_tokens"]).as_py() or 0))
                yield from from_table(table)


def _reported(docs: Iterator[Document]) -> Iterator[Document]:
    for doc in docs:
        report_progress()
        yield doc


class Stage(ABC):
    """``name``, ``source``, ``outputs``, ``preflight()``, ``done(rundir)``, ``run(executor, rundir)``."""

    name: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, source: str | None):
        self.source = source

    @property
    def source_stage(self) -> str:
        """``source`` for the stages that read one (every stage but extract, which reads the input shards)."""
        if self.source is None:
            raise TypeError(f"stage {self.name} reads the input shards, not an earlier stage")
        return self.source

    def preflight(self) -> None:  # noqa: B027 - a hook: most stages have nothing to check up front
        """Raise (naming the file or setting) if the stage cannot run; called before any stage runs."""

    @abstractmethod
    def done(self, rundir: RunDir) -> bool:
        """Whether the stage's outputs are complete in ``rundir`` (the driver then skips it)."""

    @abstractmethod
    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        """Make the outputs, skipping what a killed run finished; returns the stats of its tasks."""


class ShardStage(Stage):
    """One task per source part; subclasses say which steps to apply, or override ``task``."""

    outputs: ClassVar[tuple[str, ...]] = ("part-NNNNN.parquet", "_stats/", "_done/")

    def inputs(self, rundir: RunDir) -> list[str]:
        """One entry per task, in a fixed order: by default the source stage's parquet parts."""
        return rundir.parts(self.source_stage)

    def tasks(self, rundir: RunDir) -> dict[str, dict]:
        """``{task name: task keyword arguments}``; a task's name is its part's without the suffix."""
        return {part_name(i, ""): {"source": src, "index": i} for i, src in enumerate(self.inputs(rundir))}

    def done(self, rundir: RunDir) -> bool:
        return all(rundir.is_done(self.name, task) for task in self.tasks(rundir))

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        return executor.run(rundir, self.name, self.task, self.tasks(rundir), desc=self.name)

    def reader(self, rundir: RunDir, source: str) -> Step:
        return ParquetDocReader(rundir, self.source_stage, source)

    def steps(self, rundir: RunDir) -> list[PipelineStep]:
        return []

    def task(self, rundir: RunDir, source: str, index: int) -> dict:
        """Reader -> steps -> ``<stage>/part-NNNNN.parquet``; drops, flags, errors and documents set aside are
        collected from the steps into the task's stats."""
        reader = self.reader(rundir, source)
        steps = [reader, *self.steps(rundir)]
        data: Any = _reported(reader(None))  # documents read, shown in the driver's progress bar
        for step in steps[1:]:
            data = step(data)
        tokens_out = [0]

        def counted(docs: Iterator[Document]) -> Iterator[Document]:
            for doc in docs:
                tokens_out[0] += doc.metadata.get("n_tokens") or 0
                yield doc

        n_out = write_parquet_stream(rundir, batched_tables(counted(data)), SCHEMA, self.name, part_name(index))
        dropped, flagged = drops_of(steps), flags_of(steps)
        aside = aside_of(steps)
        if aside:
            rundir.write_table(pa.Table.from_pylist(aside, schema=ASIDE_SCHEMA), self.name, "_aside", part_name(index))
        stat = reader.stats.stats
        return {
            "source": str(source),
            "in": int(stat["records"].total) if "records" in stat else None,
            "out": n_out,
            "tokens_in": int(stat["tokens"].total) if "tokens" in stat else None,
            "tokens_out": tokens_out[0],
            "dropped": dict(sorted(dropped.items())),
            "flagged": dict(sorted(flagged.items())),
            "errors": errors_of(steps),
        }
