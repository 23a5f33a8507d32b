"""Stages: the unit the pipeline is made of.

A shard stage runs one task per part of its source (a WARC shard for ``extract``, the previous stage's
``part-NNNNN.parquet`` otherwise): read documents, pass them through its datatrove steps, write
``<stage>/part-NNNNN.parquet``. The executor turns the tasks' returned stats into ``_stats`` files and
completion markers. Global stages (dedup decisions, clustering, the mixture search) override ``run``.
"""
from __future__ import annotations

from typing import Iterator

from datatrove.pipeline.base import PipelineStep

from .documents import SCHEMA, batched_tables, from_table
from .executor import Executor
from .rundir import RunDir, part_name, write_parquet_stream
from .step import Step, drops_of, errors_of


class ParquetDocReader(Step):
    """Documents from one parquet part of an earlier stage, read a row group at a time."""

    name = "parquet-reader"

    def __init__(self, rundir: RunDir, stage: str, part: str, columns: list[str] | None = None):
        super().__init__()
        self.rundir, self.stage, self.part, self.columns = rundir, stage, part, columns

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator:
        import pyarrow.parquet as pq

        with self.rundir.fs.open(self.rundir.path(self.stage, self.part), "rb") as f:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                table = pf.read_row_group(i, columns=self.columns)
                self.stat_update("records", value=table.num_rows)
                yield from from_table(table)


class Stage:
    """Base: a named stage with ``run(executor, rundir) -> list of task stats``."""

    name: str = "stage"

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError


class ShardStage(Stage):
    """One task per source part; subclasses say where parts come from and which steps to apply."""

    source: str | None = None  # the stage whose parts are read; None for stages that read raw inputs

    def inputs(self, rundir: RunDir) -> list:
        """One entry per task, in a fixed order: by default the source stage's parquet parts."""
        return rundir.parts(self.source)

    def reader(self, rundir: RunDir, source) -> Step:
        return ParquetDocReader(rundir, self.source, source)

    def steps(self, rundir: RunDir) -> list[PipelineStep]:
        return []

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        tasks = {part_name(i, ""): {"source": src, "index": i} for i, src in enumerate(self.inputs(rundir))}
        return executor.run(rundir, self.name, self.task, tasks, desc=self.name)

    def task(self, rundir: RunDir, source, index: int) -> dict:
        reader = self.reader(rundir, source)
        steps = [reader, *self.steps(rundir)]
        data = None
        for step in steps:
            data = step(data)
        n_out = write_parquet_stream(rundir, batched_tables(data), SCHEMA, self.name, part_name(index))
        dropped = drops_of(steps)
        n_in = int(reader.stats["records"].total) if "records" in reader.stats.stats else n_out + sum(dropped.values())
        return {"source": str(source), "in": n_in, "out": n_out, "dropped": dict(sorted(dropped.items())),
                "errors": errors_of(steps)}
