"""URL dedup: the same page captured twice, on real URLs (tests/data)."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document
from pydantic import ValidationError

from curation.rundir import RunDir
from curation.urldedup import UrlDedupSettings, find_url_duplicates, normalize_url

from conftest import bundled, run_dedup_stage


@pytest.mark.parametrize(
    "variant",
    [
        "http://www.wsj.com/articles/x-123/",
        "https://WSJ.com/articles/x-123#comments",
        "https://wsj.com:443/articles/x-123?utm_source=twitter&utm_medium=social",
        "<https://www.wsj.com//articles/x-123?gclid=abc>",
    ],
)
def test_variants_of_one_page_normalise_the_same(variant):
    assert normalize_url(variant) == normalize_url("https://wsj.com/articles/x-123")


def test_different_pages_stay_different():
    assert normalize_url("https://a.test/p?id=1") != normalize_url("https://a.test/p?id=2")
    assert normalize_url("https://a.test/p?b=2&a=1") == normalize_url("https://a.test/p?a=1&b=2")
    assert normalize_url("https://a.test/p/") != normalize_url("https://a.test/q/")
    strict = UrlDedupSettings(ignore_scheme=False, strip_fragment=False)
    assert normalize_url("http://a.test/p#x", strict) != normalize_url("https://a.test/p", strict)


def test_real_urls_recaptured_keep_latest_date_then_the_first_in_input_order(tmp_path):
    truth = json.loads(bundled("extraction/scrapinghub/ground-truth.json").read_text())
    urls = sorted(v["url"] for v in truth.values())[:20]
    docs = [
        Document(text="t", id=f"a{i:02d}", metadata={"url": u, "warc_date": "2024-01-01T00:00:00Z"})
        for i, u in enumerate(urls)
    ]
    recaptured = [
        Document(
            text="t",
            id="b00",
            metadata={"url": urls[0].replace("https://", "http://") + "#top", "warc_date": "2024-06-01T00:00:00Z"},
        ),
        Document(text="t", id="a0", metadata={"url": urls[1] + "?utm_campaign=x", "warc_date": "2024-01-01T00:00:00Z"}),
        Document(text="t", id="c00", metadata={"url": urls[2]}),
        Document(text="t", id="nourl", metadata={}),
    ]
    # the dedup stage with only its URL pass (every text is "t"), the recaptures in a second shard
    rundir = RunDir(str(tmp_path / "run"))
    _found, stats, kept = run_dedup_stage(rundir, [docs, recaptured], exact=False, fuzzy=False)
    dups = rundir.read_table("dedup", "duplicates.parquet").to_pylist()
    gone = {r["id"]: r["duplicate_of"] for r in dups}
    # later capture wins; same date -> the first in input order (not the smaller id "a0"); a missing date loses
    assert gone == {"a00": "b00", "a0": "a01", "c00": "a02"}
    assert {r["reason"] for r in dups} == {"url_duplicate"}
    assert [s["dropped"] for s in stats] == [{"url_duplicate": 1}, {"url_duplicate": 2}]  # a00; a0, c00
    assert "nourl" in {d.id for d in kept} and len(kept) == len(docs) + len(recaptured) - 3


def test_global_step_takes_records_from_many_shards():
    shard1 = [("x1", "https://a.test/p", "2024-01-01"), ("x2", "https://b.test/", None)]
    shard2 = [("y1", "https://www.a.test/p/", "2023-01-01")]
    assert find_url_duplicates(shard1 + shard2) == {"y1": "x1"}


def test_config_rejects_unknown_fields():
    with pytest.raises(ValidationError, match="strip_ww"):
        UrlDedupSettings(strip_ww=True)
