"""Stages: the unit the pipeline is made of.

A shard stage runs one task per part of its source (a WARC shard for ``extract``, the previous stage's
``part-NNNNN.parquet`` otherwise): read documents, pass them through its datatrove steps, write
``<stage>/part-NNNNN.parquet``. The executor turns the tasks' returned stats into ``_stats`` files and
completion markers. Global stages (dedup decisions, clustering, the mixture search) override ``run``.
"""
from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from datatrove.pipeline.base import PipelineStep

from .documents import SCHEMA, batched_tables, from_table
from .executor import Executor
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

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator:
        import pyarrow.parquet as pq

        with self.rundir.fs.open(self.rundir.path(self.stage, self.part), "rb") as f:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                table = pf.read_row_group(i, columns=self.columns)
                self.stat_update("records", value=table.num_rows)
                if "n_tokens" in table.column_names:
                    self.stat_update("tokens", value=int(pc.sum(table["n_tokens"]).as_py() or 0))
                yield from from_table(table)


class Stage:
    """Base: a named stage with ``run(executor, rundir) -> list of task stats``."""

    name: str = "stage"

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError


class ShardStage(Stage):
    """One task per source part; subclasses say where parts come from and which steps to apply."""

    source: str | None = None  # the stage whose parts are read; None for stages that read raw inputs

    def __init__(self, settings=None):
        self.settings = settings  # the stage's config section; steps() builds its datatrove steps from it

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
        tokens_out = [0]

        def counted(docs):
            for doc in docs:
                tokens_out[0] += doc.metadata.get("n_tokens") or 0
                yield doc

        n_out = write_parquet_stream(rundir, batched_tables(counted(data)), SCHEMA, self.name, part_name(index))
        dropped, flagged = drops_of(steps), flags_of(steps)
        aside = aside_of(steps)
        if aside:
            rundir.write_table(pa.Table.from_pylist(aside, schema=ASIDE_SCHEMA), self.name, "_aside", part_name(index))
        stat = reader.stats.stats
        return {"source": str(source), "in": int(stat["records"].total) if "records" in stat else None,
                "out": n_out, "tokens_in": int(stat["tokens"].total) if "tokens" in stat else None,
                "tokens_out": tokens_out[0], "dropped": dict(sorted(dropped.items())),
                "flagged": dict(sorted(flagged.items())), "errors": errors_of(steps)}
