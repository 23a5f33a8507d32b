"""Decontamination against benchmark files in every supported format, on real article text."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from pydantic import ValidationError

from curation.decontaminate import (
    BenchmarkError,
    BenchmarkIndex,
    DecontaminationSettings,
    words_of,
)
from curation.documents import to_table
from curation.filter import DecontaminateStep, FilterSettings, FilterStage
from curation.rundir import RunDir, part_name
from curation.step import drops_of, flags_of
from math_extract import MathScorer

from conftest import bundled


@pytest.fixture(scope="module")
def articles() -> list[Document]:
    truth = json.loads(bundled("extraction/scrapinghub/ground-truth.json").read_text())
    items = [(k, v) for k, v in sorted(truth.items()) if len(v["articleBody"]) > 1500][:20]
    return [Document(text=v["articleBody"], id=k) for k, v in items]


def _passage(doc: Document, start: int, n: int) -> str:
    return " ".join(doc.text.split()[start : start + n])


@pytest.fixture
def benchmark_jsonl(tmp_path, articles) -> Path:
    path = tmp_path / "bench.jsonl"
    rows = [
        {"question": "What is the capital of a country nobody has heard of, asked in many words?", "answer": "x"},
        {"question": _passage(articles[3], 40, 20).upper(), "answer": "y"},  # case and layout differ
        {"question": "too short"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _fresh(docs):
    return [Document(text=d.text, id=d.id) for d in docs]


def decontaminate(docs, settings: DecontaminationSettings) -> tuple[DecontaminateStep, list[Document], dict]:
    """The filter stage's decontamination step over fresh copies of ``docs``: (step, forwarded, removed),
    ``removed`` mapping each removed id to the benchmark item recorded for it in the stage's aside table."""
    step = DecontaminateStep(settings)
    forwarded = list(step.run(_fresh(docs)))
    return step, forwarded, {a["id"]: json.loads(a["detail"]) for a in step.aside}


def test_document_sharing_a_13_gram_is_removed_with_the_item_recorded(benchmark_jsonl, articles):
    config = DecontaminationSettings(benchmarks=[str(benchmark_jsonl)])
    step, kept, removed = decontaminate(articles, config)
    assert list(removed) == [articles[3].id]
    record = removed[articles[3].id]
    assert record["benchmark"] == str(benchmark_jsonl) and record["item"] == 1
    assert len(record["ngram"].split()) == 13 and record["ngram"] in " ".join(words_of(articles[3].text))
    assert [a["reason"] for a in step.aside] == ["decontamination:bench.jsonl"]
    assert drops_of([step]) == {"decontamination:bench.jsonl": 1} and len(kept) == len(articles) - 1
    assert articles[3].id not in {d.id for d in kept} and flags_of([step]) == {}
    index = BenchmarkIndex.from_settings(config)
    assert index.stats[f"{benchmark_jsonl}:skipped_short_examples"] == 1


def test_flag_mode_keeps_the_document(benchmark_jsonl, articles):
    config = DecontaminationSettings(benchmarks=[str(benchmark_jsonl)], mode="flag")
    step, kept, removed = decontaminate(articles, config)
    hit = [d for d in kept if "contamination" in d.metadata]
    assert len(kept) == len(articles) and [d.id for d in hit] == [articles[3].id] and removed == {}
    assert json.loads(hit[0].metadata["contamination"])["item"] == 1
    assert flags_of([step]) == {"decontamination:bench.jsonl": 1} and drops_of([step]) == {}


def test_flag_mode_counts_reach_the_stage_stats(benchmark_jsonl, articles, tmp_path):
    """The filter stage's per-task stats (what ``curate stats`` reads) carry flagged documents by reason."""
    rundir = RunDir(str(tmp_path / "run"))
    rundir.write_table(to_table(_fresh(articles)), "extract", part_name(0))
    settings = FilterSettings(
        languages=[], min_language_score=0, decontamination={"benchmarks": [str(benchmark_jsonl)], "mode": "flag"}
    )
    stats = FilterStage("extract", settings, MathScorer()).task(rundir, part_name(0), 0)
    assert stats["flagged"] == {"decontamination:bench.jsonl": 1}
    assert not any(k.startswith("decontamination") for k in stats["dropped"])
    assert stats["in"] == len(articles) == stats["out"] + sum(stats["dropped"].values())
    flagged = [r for r in rundir.read_table("filter", part_name(0)).to_pylist() if r["contamination"]]
    assert [r["id"] for r in flagged] == [articles[3].id]


def test_twelve_shared_words_are_not_enough(tmp_path, articles):
    path = tmp_path / "bench.txt"
    passage = " ".join(words_of(articles[5].text)[10:22])  # exactly 12 words as the index counts them
    path.write_text(f"{passage} zzzunrelated tail words here\n", encoding="utf-8")
    step, kept, removed = decontaminate(articles, DecontaminationSettings(benchmarks=[str(path)]))
    assert removed == {} and len(kept) == len(articles) and drops_of([step]) == {}


def test_text_and_parquet_benchmarks_and_short_whole_items(tmp_path, articles):
    text_path = tmp_path / "plain.txt"
    text_path.write_text(
        "first line is unrelated to anything here at all okay\n" + _passage(articles[0], 5, 30) + "\n", encoding="utf-8"
    )
    parquet_path = tmp_path / "rows.parquet"
    short = _passage(articles[7], 3, 9)  # 9 words: matched whole (min_item_words=8 <= 9 < 13)
    pq.write_table(pa.table({"problem": ["nothing to see here", short], "id": [1, 2]}), parquet_path)
    config = DecontaminationSettings(benchmarks=[str(text_path), str(parquet_path)], text_fields=["problem"])
    _step, _kept, found = decontaminate(articles, config)
    assert found[articles[0].id]["benchmark"] == str(text_path) and found[articles[0].id]["item"] == 1
    assert found[articles[7].id] == {"benchmark": str(parquet_path), "item": 1, "ngram": " ".join(words_of(short))}


def test_bad_benchmark_files_are_named(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(BenchmarkError, match="nope.jsonl does not exist"):
        BenchmarkIndex.from_settings(DecontaminationSettings(benchmarks=[str(missing)]))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("a first fine line\nCrème brûlée recipe\n".encode("latin-1"))
    with pytest.raises(BenchmarkError, match=r"latin1.txt is not UTF-8 \(line 2"):
        BenchmarkIndex.from_settings(DecontaminationSettings(benchmarks=[str(latin1)]))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"q": "ok"}\n{"q": \n', encoding="utf-8")
    with pytest.raises(BenchmarkError, match="broken.jsonl line 2 is not JSON"):
        BenchmarkIndex.from_settings(DecontaminationSettings(benchmarks=[str(broken)]))
    with pytest.raises(ValidationError, match="ngram"):
        DecontaminationSettings(ngram=0)
