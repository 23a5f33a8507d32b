"""The cleanup and classify stages in a pipeline run with the real packaged model (SmolLM2-135M through
transformers), on a small real corpus. Every routed document ends cleaned or with its reason, and every
document reaching the mixture carries a quality score from a classifier trained on the model's annotations."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import curate, make_config, sample_pages, write_warc

pytestmark = pytest.mark.slow

# A few-shot template hook: the 135M model rarely follows the built-in quality-annotate format, but answers
# this one with a digit often enough (greedy decoding, so the count is stable for a given corpus).
DIGIT_SCORE = {
    "name": "digit-score",
    "mode": "annotate",
    "value_pattern": "([0-5])",
    "max_tokens": 10,
    "prompt": "Give each text a maths score from 0 to 5.\n\nText: The cat sat on the mat.\nScore: 0\n\n"
    "Text: The derivative of x^2 is 2x, by the power rule.\nScore: 4\n\nText: {text}\nScore:",
}

# A rewrite hook with a one-line answer. The 135M model cannot finish a real rewrite of a 160-token chunk within
# a budget that keeps this test fast (math-cleanup ends every routed document `kept:truncated`), so the stage's
# `ok` path (merge the replies, write `cleaned_text`) would go untested. It answers this one in at most 11 tokens
# for every chunk of the routed document (greedy decoding), well inside max_tokens=24.
ONE_LINE = {
    "name": "one-line",
    "prompt": "{text}\n\nWhich language is the text above written in? Answer with one word.",
}


@pytest.fixture(scope="module")
def llm_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("llm")
    news, docs = sample_pages(n_news=12, n_docs=200)
    small_docs = sorted((d for d in docs if b"\\(" in d[1]), key=lambda d: len(d[1]))[:4]
    assert len(small_docs) == 4
    write_warc(tmp / "small.warc.gz", news + small_docs)
    cfg = make_config(
        tmp / "run.yaml",
        tmp,
        tmp / "run",
        inputs=[str(tmp / "small.warc.gz")],
        llm={"backend": "transformers", "threads": 1, "batch_size": 4},
        cleanup={
            "enabled": True,
            "hook": ONE_LINE,
            "min_math_score": 0.3,
            "chunk_tokens": 160,
            "max_tokens": 24,
            "batch_documents": 8,
        },
        classify={"enabled": True, "sample_size": 12, "chunk_tokens": 128, "hook": DIGIT_SCORE},
        climb={
            "k_init": 4,
            "min_cluster_docs": 2,
            "super_clusters": 2,
            "search": {
                "target": str(make_config.__globals__["REPO"] / "sample/target/sympy-docs.jsonl"),
                "runs_per_round": [3, 2],
                "candidate_pool": 50,
                "proxy_tokens": 5000,
            },
        },
        mixture={"token_budget": 5000},
    )
    proc = curate("run", str(cfg), "--workers", "1", "--quiet", timeout=1500)
    return tmp / "run", proc


def rows(run_dir, stage):
    return [r for p in sorted((run_dir / stage).glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_every_routed_document_is_cleaned_or_keeps_its_text_with_a_reason(llm_run):
    run_dir, proc = llm_run
    before = {r["id"]: r for r in rows(run_dir, "dedup")}
    after = {r["id"]: r for r in rows(run_dir, "cleanup")}
    stats = [json.loads(p.read_text()) for p in (run_dir / "cleanup" / "_stats").glob("*.json")]
    dropped = sum(sum(s["dropped"].values()) for s in stats)
    assert len(after) + dropped == len(before)  # none lost, none duplicated
    routed = [r for r in before.values() if (r["math_score"] or 0) >= 0.3]
    assert routed, "the corpus must route some maths documents to the model"
    cleaned = 0
    for r in routed:
        if r["id"] not in after:
            continue
        out = after[r["id"]]
        assert out["llm_status"] == "ok" or out["llm_status"].startswith("kept:"), out["llm_status"]
        assert out["text"] == r["text"]  # the extracted text is never overwritten
        if out["llm_status"] == "ok":
            assert out["cleaned_text"] and out["cleaned_text"] != out["text"]
            cleaned += 1
        else:
            assert out["cleaned_text"] is None
    assert cleaned >= 1, "no routed document came back cleaned: the ok path went untested"
    assert all(after[i]["llm_status"] is None for i in after if (before[i]["math_score"] or 0) < 0.3)
    assert (run_dir / "cleanup" / "_llm" / "llm_cache.sqlite").exists()
    assert "cleanup" in proc.stdout


def test_classifier_trained_on_annotations_scores_every_document(llm_run):
    run_dir, _ = llm_run
    metrics = json.loads((run_dir / "classify" / "metrics.json").read_text())
    annotations = pq.read_table(run_dir / "classify" / "annotations.parquet").to_pylist()
    assert metrics["sampled"] == len(annotations) == min(12, len(rows(run_dir, "cleanup")))
    assert metrics["annotated"] == sum(a["status"] == "ok" for a in annotations) >= 5
    assert all(0 <= a["score"] <= 5 for a in annotations if a["status"] == "ok")
    assert 0 <= metrics["heldout_mae"] <= 5
    model = pickle.loads((run_dir / "classify" / "model.pkl").read_bytes())
    dims = np.load(next((run_dir / "embed").glob("part-*.npy"))).shape[1]  # the embed stage's vectors, read
    assert model.coef_.shape == (dims,)
    for stage in ("classify", "mixture"):
        scores = [r["quality_score"] for r in rows(run_dir, stage)]
        assert scores and all(s is not None and 0 <= s <= 5 for s in scores)
