"""The stage interface: the list a config becomes, and a new stage written the way ARCHITECTURE.md says,
run by the real Dask executor."""

from __future__ import annotations

import sys

import pytest
from datatrove.data import Document

from curation.documents import to_table
from curation.executor import Executor
from curation.extract import ExtractText
from curation.rundir import RunDir, part_name
from curation.stage import ShardStage, Stage
from curation.step import Filter, drops_of
from math_extract import Extraction
from pipelines.config import load_config
from pipelines.inputs import expand_inputs
from pipelines.stages import build_stages

from conftest import REPO

DEMO = REPO / "pipelines" / "configs" / "demo.yaml"


def test_a_config_becomes_every_stage_once_in_order_each_fed_by_an_earlier_one(tmp_path):
    cfg = load_config(DEMO, {"run_dir": str(tmp_path / "run")})
    stages = build_stages(cfg, expand_inputs(cfg.inputs))
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
    stages = build_stages(cfg, cfg.inputs)
    assert [s.name for s in stages][2:7] == ["dedup", "cleanup", "embed", "classify", "cluster"]
    # embed and classify read the same documents, so classify finds each one's vector by part and row
    assert [s.source for s in stages][3:7] == ["dedup", "cleanup", "cleanup", "classify"]


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


class RecordingExtractor:
    """A second implementation of the extract stage's ``PageExtractor``: the page's text between its tags, and
    a record of how the stage opened it and called it."""

    batch_size = 2

    def __init__(self) -> None:
        self.entered = self.exited = 0
        self.batches: list[int] = []

    def __enter__(self) -> RecordingExtractor:
        self.entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.exited += 1

    def extract_many(self, pages: list[tuple[str, str | None]]) -> list[Extraction]:
        self.batches.append(len(pages))
        texts = [html.replace("<p>", "").replace("</p>", "") for html, _url in pages]
        return [
            Extraction(t, has_math="$" in t, n_formulas=t.count("$") // 2, reason=None if t else "empty") for t in texts
        ]


def test_the_extract_step_opens_its_extractor_once_per_shard_and_counts_every_record():
    def record(i: int, payload: bytes, kind: str = "html") -> Document:
        return Document(
            text="",
            id=f"r{i}",
            metadata={
                "url": f"https://x.test/{i}",
                "payload": payload,
                "content_type": "text/html; charset=utf-8",
                "kind": kind,
            },
        )

    records = [record(i, f"<p>page {i} with $x_{i}$</p>".encode()) for i in range(5)]
    records += [
        record(5, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
        record(6, b"<p></p>"),
        record(7, b"plain WET text", kind="text"),
    ]
    extractor = RecordingExtractor()
    step = ExtractText(extractor, label="recording")
    kept = list(step.run(records))
    assert (extractor.entered, extractor.exited) == (1, 1)  # once for the shard, not once per batch
    assert sum(extractor.batches) == 6 and max(extractor.batches) <= 2  # the PNG is dropped before extraction
    assert [d.id for d in kept] == ["r0", "r1", "r2", "r3", "r4", "r7"]
    assert kept[0].text == "page 0 with $x_0$" and kept[0].metadata["n_formulas"] == 1
    assert kept[0].metadata["extractor"] == "recording" and kept[-1].metadata["extractor"] == "wet"
    assert "n_formulas" not in kept[-1].metadata  # text records are not extracted
    assert drops_of([step]) == {"binary_payload": 1, "empty": 1}


def test_the_extract_step_keeps_the_heap_out_of_the_collector_only_while_it_runs():
    import gc

    class FreezeWatcher(RecordingExtractor):
        def extract_many(self, pages):
            self.frozen = gc.get_freeze_count()
            return super().extract_many(pages)

    before = gc.get_freeze_count()
    extractor = FreezeWatcher()
    step = ExtractText(extractor, label="recording")
    docs = [
        Document(text="", id="r0", metadata={"url": "https://x.test/", "payload": b"<p>a page</p>", "kind": "html"})
    ]
    assert [d.text for d in step.run(docs)] == ["a page"]
    assert extractor.frozen > before  # what was alive at the start is left out of collections during the shard
    assert gc.get_freeze_count() == before  # and given back to the collector at its end
