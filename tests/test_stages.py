"""The stage interface: the list a config becomes, and a new stage written the way ARCHITECTURE.md says,
run by the real Dask executor."""

from __future__ import annotations

import sys

import pytest
from datatrove.data import Document

from curation.documents import to_table
from curation.executor import Executor
from curation.rundir import RunDir, part_name
from curation.stage import ShardStage, Stage
from curation.step import Filter
from pipelines.config import load_config
from pipelines.stages import build_stages

from conftest import REPO

DEMO = REPO / "pipelines" / "configs" / "demo.yaml"


def test_a_config_becomes_every_stage_once_in_order_each_fed_by_an_earlier_one(tmp_path):
    stages = build_stages(load_config(DEMO, {"run_dir": str(tmp_path / "run")}))
    names = [s.name for s in stages]
    assert names == ["extract", "filter", "dedup", "embed", "cluster", "search", "mixture"]
    assert all(isinstance(s, Stage) for s in stages)
    assert stages[0].source is None
    for i, stage in enumerate(stages[1:], start=1):
        assert stage.source in names[:i], (stage.name, stage.source)
    assert {s.source for s in stages[3:]} == {"dedup"}  # the CLIMB stages all draw on the last document stage


def test_optional_stages_join_the_chain_where_they_belong(tmp_path):
    cfg = load_config(
        DEMO, {"run_dir": str(tmp_path / "run"), "cleanup": {"enabled": True}, "classify": {"enabled": True}}
    )
    stages = build_stages(cfg)
    assert [s.name for s in stages][2:6] == ["dedup", "cleanup", "classify", "embed"]
    assert [s.source for s in stages][3:6] == ["dedup", "cleanup", "classify"]


# -- a new stage, as ARCHITECTURE.md ("Adding a stage") writes it --------------------------------------------
class DropShort(Filter):
    """Drops documents of fewer than ``min_words`` words."""

    name = "drop-short"

    def __init__(self, min_words: int):
        super().__init__()
        self.min_words = min_words

    def filter(self, doc: Document) -> bool | str:
        return len(doc.text.split()) >= self.min_words or "too_few_words"


class ShortDocsStage(ShardStage):
    name = "shortdocs"

    def __init__(self, source: str, min_words: int):
        super().__init__(source)
        self.min_words = min_words

    def steps(self, rundir: RunDir) -> list:
        return [DropShort(self.min_words)]


@pytest.mark.slow
def test_a_new_stage_runs_resumes_and_counts_its_drops_on_the_real_executor(tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import this test file
    rundir = RunDir(str(tmp_path / "run"))
    parts = [
        [Document(text="a long enough document of words", id="a"), Document(text="short", id="b")],
        [Document(text="two words", id="c")],
    ]
    for i, docs in enumerate(parts):
        rundir.write_table(to_table(docs), "dedup", part_name(i))
    stage = ShortDocsStage("dedup", min_words=3)
    assert not stage.done(rundir)
    with Executor(workers=1, progress=False) as executor:
        stats = stage.run(executor, rundir)
        assert stage.done(rundir)
        again = stage.run(executor, rundir)
    assert [s["dropped"] for s in stats] == [{"too_few_words": 1}, {"too_few_words": 1}]
    assert [s["in"] for s in stats] == [2, 1] and [s["out"] for s in stats] == [1, 0]
    assert all(s["skipped"] for s in again)
    assert rundir.read_table("shortdocs", part_name(0)).column("id").to_pylist() == ["a"]
