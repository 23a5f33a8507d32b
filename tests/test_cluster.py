"""The cluster stage as CLIMB builds clusters: k-means, pruning by mean quality, weighted Ward merging, and the
files the search, the mixture and the report read. Embeddings are crafted so that the right answer is known."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from climb.cluster import ClusterSettings, cluster_documents, fine_k, super_count, top_terms, ward_merge
from curation.rundir import RunDir

#: four topics, each a blob of documents around its own direction; "junk" has low quality
TOPICS = {
    "algebra": "polynomial matrix eigenvalue determinant algebra",
    "biology": "protein enzyme cell membrane biology",
    "cooking": "oven recipe flour butter cooking",
    "junk": "click subscribe login cookie banner",
}


def craft_run(root, quality_score: bool = False, seed: int = 0) -> RunDir:
    """Two parts of 'dedup' documents and their 'embed' vectors: 30 documents per topic, 8-dimensional."""
    rng = np.random.default_rng(seed)
    rundir = RunDir(str(root))
    rows = []
    for t, (topic, words) in enumerate(TOPICS.items()):
        direction = np.zeros(8)
        direction[t] = 1.0
        for i in range(30):
            vec = direction + rng.normal(0, 0.05, 8)
            good = topic != "junk"
            rows.append(
                {
                    "id": f"{topic}-{i}",
                    "url": f"https://{topic}.test/{i}",
                    "text": f"{words} {words.split()[i % 5]} page {i}",
                    "n_tokens": 100 + i,
                    "language_score": 0.9 if good else 0.2,
                    "math_score": 0.8 if topic == "algebra" else 0.0,
                    "quality_score": (4.0 if good else 0.5) if quality_score else None,
                    "vec": vec / np.linalg.norm(vec),
                }
            )
    order = rng.permutation(len(rows))
    for p, chunk in enumerate(np.array_split(order, 2)):
        docs = [rows[i] for i in chunk]
        table = pa.Table.from_pylist(
            [{k: v for k, v in d.items() if k != "vec"} for d in docs],
            schema=pa.schema(
                [
                    ("id", pa.string()),
                    ("url", pa.string()),
                    ("text", pa.string()),
                    ("n_tokens", pa.int32()),
                    ("language_score", pa.float32()),
                    ("math_score", pa.float32()),
                    ("quality_score", pa.float32()),
                ]
            ),
        )
        rundir.write_table(table, "dedup", f"part-{p:05d}.parquet")
        buf = io.BytesIO()
        np.save(buf, np.round(np.stack([d["vec"] for d in docs]).astype(np.float32), 5))
        rundir.write_bytes(buf.getvalue(), "embed", f"part-{p:05d}.npy")
    return rundir


SETTINGS = ClusterSettings(k_init=8, min_cluster_docs=10, prune_below=0.5, super_clusters=3)


def test_junk_is_pruned_and_the_rest_merged_into_super_clusters_by_topic(tmp_path):
    rundir = craft_run(tmp_path)
    summary = cluster_documents(rundir, "dedup", SETTINGS, seed=3)
    table = pq.read_table(tmp_path / "cluster/table.parquet").to_pandas()
    assert len(table) == 8 and table["documents"].sum() == 120
    assert summary["quality_signal"] == "max(language_score, math_score)"
    pruned = pq.read_table(tmp_path / "cluster/pruned.parquet").to_pandas()
    assert sorted(pruned.columns) == ["fine_cluster", "id", "n_tokens", "part", "quality", "row"]
    assert sorted(pruned["id"]) == sorted(f"junk-{i}" for i in range(30))
    assert set(table.loc[~table["kept"], "super_cluster"]) == {-1}
    a = pq.read_table(tmp_path / "cluster/assignments.parquet").to_pandas()
    assert list(a.columns) == ["id", "part", "row", "n_tokens", "cluster", "fine_cluster"]
    assert len(a) == 90 and not a["id"].str.startswith("junk").any()
    topic_of = a["id"].str.split("-").str[0]
    # three topics, three super-clusters: each topic in exactly one, however k-means split it
    assert a.groupby(topic_of)["cluster"].nunique().eq(1).all() and a["cluster"].nunique() == 3
    assert sorted(a["cluster"].unique()) == [0, 1, 2]
    # a document's (part, row) is its place in the source: the vectors and the documents line up
    for _, r in a.sample(10, random_state=0).iterrows():
        src = pq.read_table(tmp_path / f"dedup/part-{r['part']:05d}.parquet").column("id")[r["row"]].as_py()
        assert src == r["id"]
    clusters = summary["clusters"]
    assert [c["cluster"] for c in clusters] == [0, 1, 2] and summary["n_clusters"] == 3
    assert abs(sum(c["token_share"] for c in clusters) - 1) < 1e-5
    assert summary["tokens"] == int(a["n_tokens"].sum()) and summary["pruned_documents"] == 30
    for c in clusters:
        topic = topic_of[a["cluster"] == c["cluster"]].iloc[0]
        assert all(u.startswith(f"https://{topic}.test/") for u in c["examples"]) and len(c["examples"]) == 3
        assert set(c["top_terms"]) & set(TOPICS[topic].split()), (topic, c["top_terms"])
        assert sorted(c["fine_clusters"]) == sorted(table.index[table["super_cluster"] == c["cluster"]].tolist())
        assert c["mean_quality"] >= 0.8
    assert set(clusters[0]) >= {"cluster", "documents", "tokens", "token_share", "examples", "mean_quality"}


def test_the_classifier_score_is_the_quality_when_classify_ran(tmp_path):
    rundir = craft_run(tmp_path, quality_score=True)
    summary = cluster_documents(rundir, "dedup", SETTINGS.model_copy(update={"prune_below": 0.6}), seed=3)
    assert summary["quality_signal"] == "quality_score / 5"
    pruned = pq.read_table(tmp_path / "cluster/pruned.parquet").to_pandas()
    assert pruned["id"].str.startswith("junk").all() and np.allclose(pruned["quality"], 0.1)


def test_same_inputs_and_seed_give_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        cluster_documents(craft_run(tmp_path / name), "dedup", SETTINGS, seed=3)
    for f in ("assignments.parquet", "pruned.parquet", "table.parquet", "clusters.json"):
        assert (tmp_path / "a/cluster" / f).read_bytes() == (tmp_path / "b/cluster" / f).read_bytes(), f


def test_a_threshold_that_prunes_everything_names_the_setting_and_the_range(tmp_path):
    rundir = craft_run(tmp_path)
    with pytest.raises(ValueError) as err:
        cluster_documents(rundir, "dedup", SETTINGS.model_copy(update={"prune_below": 0.95}), seed=3)
    message = str(err.value)
    assert message.startswith("climb.prune_below: 0.95 prunes all 8 clusters")
    assert "ranges 0.200 .. 0.900" in message and "max(language_score, math_score)" in message


def test_ward_weighs_each_centroid_by_its_documents():
    """Heavy centre at 0, light ones at 1 and 2.3: unweighted, 0 and 1 are the cheapest pair (0.5 against
    0.845); with 1000 documents behind the first centre, moving it costs ~1, so 1 and 2.3 merge instead."""
    centres = np.array([[0.0], [1.0], [2.3]])
    assert ward_merge(centres, np.array([1000, 1, 1]), 2).tolist() == [0, 1, 1]
    assert ward_merge(centres, np.array([1, 1, 1]), 2).tolist() == [0, 0, 1]
    assert ward_merge(centres, np.array([1, 1, 1]), 1).tolist() == [0, 0, 0]
    assert ward_merge(centres, np.array([1, 1, 1]), 3).tolist() == [0, 1, 2]
    # a threshold on the merge cost instead of a count: 0.5 merges, 0.845 and up does not
    assert ward_merge(centres, np.array([1, 1, 1]), 1, threshold=0.6).tolist() == [0, 0, 1]


def test_ward_with_equal_weights_is_scikit_learns_ward():
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    for n, d, groups in [(40, 6, 7), (300, 4, 5)]:  # the larger one exercises the kept row minima more
        x = np.random.default_rng(5).normal(size=(n, d))
        ours = ward_merge(x, np.ones(n), groups)
        theirs = AgglomerativeClustering(n_clusters=groups, linkage="ward").fit_predict(x)
        assert adjusted_rand_score(ours, theirs) == 1.0, n


def test_the_cluster_counts_scale_with_the_data():
    s = ClusterSettings()
    assert fine_k(177, s) == 17 and fine_k(55_000, s) == 256 and fine_k(3, s) == 1
    assert super_count(17, s) == 8 and super_count(200, s) == 20 and super_count(1, s) == 1


def test_top_terms_are_what_sets_a_cluster_apart():
    terms = top_terms(["the cat sat on the mat with the cat", "the dog ran to the dog park", "the the the"])
    assert terms[0][0] == "cat" and terms[1][0] == "dog" and terms[2] == []


def _dense_top_terms(texts: list[str], n: int = 8) -> list[list[str]]:
    """The former top_terms, on the dense matrix: the reference the sparse walk must equal."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w-]{2,}\b", sublinear_tf=True, max_features=50_000
    )
    weights = vectorizer.fit_transform(texts).toarray()
    vocab = vectorizer.get_feature_names_out()
    return [[str(vocab[i]) for i in np.lexsort((vocab, -row))[:8] if row[i] > 0] for row in weights]


def test_top_terms_equal_the_dense_computation_ties_included():
    """Texts where many terms tie (each word once) and where fewer than eight terms exist."""
    rng = np.random.default_rng(3)
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}x" for i in range(300)]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 40), replace=False)) for _ in range(40)]
    texts += ["alpha beta", "gamma gamma delta", texts[0], "zeta " * 3 + "eta " * 3 + "theta"]
    assert top_terms(texts) == _dense_top_terms(texts)


def test_top_terms_never_hold_a_dense_terms_matrix():
    """1,024 fine clusters (k_init goes to 4,096) over a 49,152-term vocabulary: a dense matrix of their weights
    is 400 MB of float64 (measured peak: 393 MB that way, 80 MB now, most of it the vectorizer's fit)."""
    import tracemalloc

    rng = np.random.default_rng(5)
    words = np.array([f"t{i:05d}x" for i in range(1024 * 48)])
    texts = [" ".join(rng.permutation(words[i * 48 : (i + 1) * 48])) for i in range(1024)]
    top_terms(texts[:2])  # scikit-learn imported before measuring
    tracemalloc.start()
    try:
        terms = top_terms(texts)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert len(terms) == 1024 and all(len(t) == 8 for t in terms)
    assert peak < 200, f"{peak:.0f} MB at the peak"
