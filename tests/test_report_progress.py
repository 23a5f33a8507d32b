"""Progress inside a task: a shard stage's task reports the documents it has read while it runs, through Dask
events on a real LocalCluster (scheduler and worker processes), and the driver shows them beside the stage's
bar; with progress off nothing is sent and nothing is shown."""

from __future__ import annotations

import re
import sys
import time

import pytest
from datatrove.data import Document

from curation.documents import to_table
from curation.executor import PROGRESS_EVERY_S, Executor
from curation.rundir import RunDir, part_name
from curation.stage import ShardStage
from curation.step import Step

pytestmark = pytest.mark.slow

DOCS = 300
SECONDS_PER_DOC = 0.012  # 3.6 s in all: three to four reports at one a second


class Slow(Step):
    """Forwards every document after a pause: a stand-in for extraction that takes its time per page."""

    name = "slow"

    def run(self, data, rank: int = 0, world_size: int = 1):
        for doc in data:
            time.sleep(SECONDS_PER_DOC)
            yield doc


class SlowStage(ShardStage):
    name = "slow"

    def steps(self, rundir: RunDir) -> list:
        return [Slow()]


@pytest.mark.parametrize("progress", [True, False])
def test_running_tasks_report_documents_read_to_the_driver(tmp_path, capfd, progress):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import this test file
    rundir = RunDir(str(tmp_path / "run"))
    docs = [Document(text=f"document number {i}", id=f"d{i:04d}") for i in range(DOCS)]
    rundir.write_table(to_table(docs), "dedup", part_name(0))
    with Executor(workers=1, progress=progress) as executor:
        capfd.readouterr()
        stats = SlowStage("dedup").run(executor, rundir)
    err = capfd.readouterr().err
    assert stats[0]["out"] == DOCS
    shown = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) docs read by 1 running task", err)]
    if not progress:
        assert not shown and not err.strip()
        return
    assert SECONDS_PER_DOC * DOCS > 2 * PROGRESS_EVERY_S
    assert len(shown) >= 2, err[-2000:]  # at least two reports while the task ran ...
    assert shown == sorted(shown) and 0 < shown[0] < shown[-1] < DOCS  # ... counting up, before the end
