"""MinHash LSH dedup on real article text with planted near-duplicates."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from pydantic import ValidationError

from curation.minhash import (
    MinHasher,
    MinHashSettings,
    bucket_pairs,
    compute_signatures,
    find_duplicate_clusters,
    lsh_probability,
    parquet_texts,
    shingle_hashes,
)

from conftest import bundled, run_dedup_stage


@pytest.fixture(scope="module")
def articles() -> list[Document]:
    truth = json.loads(bundled("extraction/scrapinghub/ground-truth.json").read_text())
    items = [(k, v) for k, v in sorted(truth.items()) if len(v["articleBody"]) > 2000][:30]
    return [
        Document(text=v["articleBody"], id=f"orig-{i:02d}", metadata={"url": v["url"]})
        for i, (k, v) in enumerate(items)
    ]


def texts_of(docs) -> dict[str, str]:
    return {d.id: d.text for d in docs}


def edit_words(text: str, fraction: float, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * fraction)):
        words[i] = rng.choice(["lorem", "data", "alpha", "the", "page"])
    return " ".join(words)


def jaccard(a: str, b: str, size: int = 24) -> float:
    x, y = set(shingle_hashes(a, size).tolist()), set(shingle_hashes(b, size).tolist())
    return len(x & y) / len(x | y)


@pytest.fixture(scope="module")
def planted(articles):
    """Two shards: originals, and copies with 1 % of words edited, a layout change, or an exact copy."""
    rng = random.Random(7)
    copies = []
    for i, doc in enumerate(articles[:15]):
        if i % 3 == 0:
            text = edit_words(doc.text, 0.01, rng)
        elif i % 3 == 1:
            text = doc.text.replace("\n", "\n\n  ").upper()
        else:
            text = doc.text
        copies.append(Document(text=text, id=f"copy-{i:02d}"))
    return articles, copies


def test_planted_duplicates_are_clustered_and_the_rest_is_not(planted):
    originals, copies = planted
    config = MinHashSettings()
    tables = [compute_signatures(originals, config)[0], compute_signatures(copies, config)[0]]
    result = find_duplicate_clusters(tables, config, texts=texts_of(originals + copies))
    removed = dict(zip(result.removed["id"].to_pylist(), result.removed["duplicate_of"].to_pylist()))
    assert len(removed) == 15
    for i in range(15):
        pair = {f"orig-{i:02d}", f"copy-{i:02d}"}
        # exactly one of the pair is removed, pointing at the other
        (gone,) = pair & set(removed)
        assert removed[gone] == (pair - {gone}).pop()
    assert not any(k.startswith("orig-") and int(k[5:]) >= 15 for k in removed)
    assert result.stats["clusters"] == 15


def test_keep_rule_is_the_longest_then_the_first_in_input_order_not_the_id(planted):
    """Ties go to input order, not to the smaller id: ids are made from the shard's path, so the same shards read
    from a bucket instead of a disk must keep the same documents."""
    originals, copies = planted
    config = MinHashSettings()
    a, b = compute_signatures(originals, config)[0], compute_signatures(copies, config)[0]
    texts = texts_of(originals + copies)

    def keeper_of(tables) -> dict[int, str]:
        members = find_duplicate_clusters(tables, config, texts=texts).members.to_pylist()
        return {int(r["id"][-2:]): r["id"] for r in members if r["kept"]}

    forward, backward = keeper_of([a, b]), keeper_of([b, a])
    assert forward == keeper_of([a, b])  # deterministic
    for i in range(15):
        length = {d: len(" ".join(texts[d].lower().split())) for d in (f"orig-{i:02d}", f"copy-{i:02d}")}
        if len(set(length.values())) == 2:  # one is longer: kept whatever the order
            assert forward[i] == backward[i] == max(length, key=length.__getitem__)
        else:  # a tie: the shard listed first wins, whichever id is smaller ("copy-" < "orig-")
            assert (forward[i], backward[i]) == (f"orig-{i:02d}", f"copy-{i:02d}"), i
    assert forward[2] == "orig-02"  # an exact copy: a tie, so the test above checks both branches


def test_signature_agreement_estimates_jaccard(articles):
    rng = random.Random(3)
    config = MinHashSettings()
    hasher = MinHasher(config)
    for doc in articles[:6]:
        edited = edit_words(doc.text, 0.03, rng)
        true = jaccard(doc.text, edited)
        sa = hasher.signature(shingle_hashes(doc.text, 24))
        sb = hasher.signature(shingle_hashes(edited, 24))
        assert abs(float((sa == sb).mean()) - true) < 0.1


def test_unrelated_pairs_below_threshold_are_not_reported(articles):
    config = MinHashSettings()
    table, _ = compute_signatures(articles, config)
    result = find_duplicate_clusters([table], config, texts=texts_of(articles))
    assert result.members.num_rows == 0


def test_parquet_paths_give_the_same_clusters_as_tables(planted, tmp_path):
    originals, copies = planted
    config = MinHashSettings()
    tables = [compute_signatures(originals, config)[0], compute_signatures(copies, config)[0]]
    paths = []
    for i, table in enumerate(tables):
        paths.append(tmp_path / f"part-{i}.parquet")
        pq.write_table(table, paths[-1])
    # texts looked up in parquet files, as the pipeline does, give the same clusters as a dict
    text_path = tmp_path / "texts.parquet"
    pq.write_table(
        pa.table({"id": [d.id for d in originals + copies], "text": [d.text for d in originals + copies]}), text_path
    )
    from_files = find_duplicate_clusters(paths, config, texts=parquet_texts([text_path]))
    assert from_files.members.equals(
        find_duplicate_clusters(tables, config, texts=texts_of(originals + copies)).members
    )
    assert from_files.stats["missing_text_pairs"] == 0


def test_empty_and_short_documents_are_counted_not_lost():
    docs = [Document(text="", id="empty"), Document(text="hi there", id="s1"), Document(text="Hi  there", id="s2")]
    table, notes = compute_signatures(docs)
    assert notes["minhash:empty_text"] == 1 and notes["minhash:shorter_than_shingle"] == 2
    assert table["id"].to_pylist() == ["s1", "s2"]
    result = find_duplicate_clusters([table], texts=texts_of(docs))
    assert result.removed["id"].to_pylist() == ["s2"]


def test_dedup_stage_drops_near_duplicates_and_labels_the_kept_member(memory_rundir):
    docs = [Document(text="", id="empty"), Document(text="hi there", id="s1"), Document(text="Hi  there", id="s2")]
    _found, stats, kept = run_dedup_stage(memory_rundir, [docs], exact=False)  # exact would take s2 first
    assert [d.id for d in kept] == ["empty", "s1"] and stats[0]["dropped"] == {"near_duplicate": 1}
    assert kept[1].metadata["dup_cluster"] == "s1"


def test_dedup_stage_verifies_exactly_with_texts_from_a_remote_run_dir(planted, memory_rundir):
    """Exact verification reads the candidates' texts from the filter stage's parts in the run directory's own
    filesystem (here ``memory://``), not from local paths of the same name."""
    originals, copies = planted
    found, stats, kept = run_dedup_stage(memory_rundir, [originals, copies], exact=False)
    assert found["missing_text_pairs"] == 0 and found["removed"] == 15
    assert all(set(s["dropped"]) <= {"near_duplicate"} for s in stats)
    assert sum(s["dropped"].get("near_duplicate", 0) for s in stats) == 15
    assert len(kept) == len(originals) + len(copies) - 15
    dups = memory_rundir.read_table("dedup", "duplicates.parquet").to_pylist()
    assert {r["reason"] for r in dups} == {"near_duplicate"} and len(dups) == 15


def test_bad_settings_and_mismatched_tables_are_named(tmp_path):
    with pytest.raises(ValidationError, match=r"bands \(26\) x rows \(13\) = 338 does not match num_hashes \(260\)"):
        MinHashSettings(rows=13)
    with pytest.raises(ValidationError, match="unknown_field"):
        MinHashSettings(unknown_field=1)
    table, _ = compute_signatures([Document(text="some text long enough to shingle twice over", id="a")])
    path = tmp_path / "sig.parquet"
    pq.write_table(table, path)
    other = MinHashSettings(num_hashes=100, bands=10, rows=10)
    with pytest.raises(ValueError, match="sig.parquet was made with settings"):
        find_duplicate_clusters([path], other, texts={})
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        find_duplicate_clusters([tmp_path / "missing.parquet"], texts={})
    with pytest.raises(ValueError, match="dedup.verify is 'exact' but no texts"):
        find_duplicate_clusters([path])


def test_lsh_curve_matches_the_documented_defaults():
    config = MinHashSettings()
    assert (config.bands, config.rows) == (26, 10)
    assert lsh_probability(0.8, config.bands, config.rows) > 0.94
    assert lsh_probability(0.5, config.bands, config.rows) < 0.03
    assert lsh_probability(0.8, 20, 13) < 0.7  # why not Nemotron-CC-Math's split


def test_signature_verification_needs_no_texts(planted):
    originals, copies = planted
    config = MinHashSettings(verify="signature")
    tables = [compute_signatures(originals, config)[0], compute_signatures(copies, config)[0]]
    assert find_duplicate_clusters(tables, config).stats["removed"] == 15


def test_large_buckets_fall_back_to_a_star_and_are_counted():
    keys = np.array([5, 5, 5, 5, 9, 9, 1], dtype=np.uint64)
    codes, large = bucket_pairs(keys, max_bucket_pairs=3)
    pairs = {(int(c >> np.uint64(32)), int(c & np.uint64(0xFFFFFFFF))) for c in codes}
    assert large == 1 and pairs == {(0, 1), (0, 2), (0, 3), (4, 5)}
    codes, large = bucket_pairs(keys, max_bucket_pairs=4)
    assert large == 0 and len(codes) == 6 + 1


def test_signatures_are_seeded_and_reproducible(articles):
    a = compute_signatures(articles[:3], MinHashSettings(seed=1))[0]
    b = compute_signatures(articles[:3], MinHashSettings(seed=1))[0]
    c = compute_signatures(articles[:3], MinHashSettings(seed=2))[0]
    assert a.equals(b) and not a["signature"].equals(c["signature"])
    sig = np.asarray(a["signature"].combine_chunks().flatten())
    assert sig.dtype == np.uint32 and sig.size == 3 * 260
