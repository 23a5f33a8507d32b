"""The CLIMB search: its larger proxy, the held-out target, the predictor, and the search stage on real text with
a real Dask executor (baselines judged, same seed same bytes, resumed from its markers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from climb.predictor import MEMBERS, Predictor, cv_trees, fit_member, fit_predictor, spearman
from climb.proxy import NGramLM, TargetGrams, draw_sample
from climb.proxy_kn import KneserNeyLM
from climb.search import SearchSettings, SearchStage, dirichlet_prior, draw_candidates, narrowed
from climb.target import read_target_texts, split_target
from curation.executor import Executor
from curation.rundir import RunDir
from curation.tokens import load_counter

REPO = Path(__file__).resolve().parent.parent
SYMPY = REPO / "sample/target/sympy-docs.jsonl"
NEWS = REPO / "tests/data/extraction/scrapinghub/ground-truth.json"


def _next_token_probabilities(lm: KneserNeyLM, history: list[int], vocab: int) -> np.ndarray:
    base = lm.bits(np.array(history, np.uint16))
    return np.array([2 ** -(lm.bits(np.array(history + [w], np.uint16)) - base) for w in range(vocab)])


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kneser_ney_gives_a_distribution_over_the_vocabulary_after_any_history(order):
    rng = np.random.default_rng(0)
    vocab = 30
    data = np.minimum(rng.integers(0, vocab, 4000), rng.integers(0, vocab, 4000)).astype(np.uint16)
    repeated = np.tile(data[:300], 20)  # a sample that repeats its text: estimated discounts break down
    for train in (data, repeated):
        lm = KneserNeyLM(order, vocab=vocab).fit(train)
        for history in ([3, 5, 7], [0, 0, 0], [29, 28, 1]):
            p = _next_token_probabilities(lm, history, vocab)
            assert p.sum() == pytest.approx(1.0, abs=1e-9)
            assert p.min() > 0  # unseen continuations keep some mass


def test_kneser_ney_prefers_the_text_it_was_trained_on():
    texts = [json.loads(line)["text"] for line in SYMPY.read_text().splitlines()]
    news = [a["articleBody"] for a in json.loads(NEWS.read_text()).values()]
    from climb.proxy_kn import token_encoder

    encode = token_encoder("smollm2")
    target = encode(["\n\n".join(texts[:4])])[0]
    maths = KneserNeyLM(3).fit(np.concatenate(encode(texts[4:]))).bits(target)
    other = KneserNeyLM(3).fit(np.concatenate(encode(news))).bits(target)
    assert maths < other


def test_the_target_split_is_by_document_seeded_disjoint_and_complete(tmp_path):
    texts = read_target_texts(str(SYMPY))
    search, held = split_target(texts, 0.5, seed=7)
    assert (search, held) == split_target(texts, 0.5, seed=7)
    assert sorted(search + held) == sorted(texts) and not set(search) & set(held)
    assert len(held) == len(texts) // 2
    assert split_target(texts, 0.5, seed=8) != (search, held)
    assert len(split_target(texts, 0.99, seed=7)[0]) == 1  # both parts keep a document
    with pytest.raises(ValueError, match="climb.search.target: 1 document"):
        split_target(texts[:1], 0.5, seed=7)


def test_every_target_token_belongs_to_one_document_and_the_sizes_add_up():
    from climb.proxy_kn import token_encoder
    from climb.proxy_runs import SEPARATOR, target_bytes, target_doc_bytes, target_docs, target_ids

    key = (str(SYMPY), 0.5, 7, True)
    docs = target_docs(*key)
    ids, owner = target_ids(*key, "smollm2")
    encode = token_encoder("smollm2")
    assert len(ids) == len(owner) and np.all(np.diff(owner) >= 0)  # the documents in order, each one whole
    for i, doc in enumerate(docs):  # a document's tokens, then the separator's (but after the last)
        tail = [encode([SEPARATOR])[0]] if i < len(docs) - 1 else []
        assert np.array_equal(ids[owner == i], np.concatenate([encode([doc])[0], *tail]))
    sizes = target_doc_bytes(*key)
    assert len(sizes) == len(docs) and sizes.sum() == len(target_bytes(*key))


def test_the_lead_on_resampled_documents_is_as_broad_as_the_documents_it_comes_from():
    from climb import baselines

    final = {"name": "final", "per_seed": [2.0, 2.1, 2.0]}
    other = {"name": "other", "per_seed": [2.1, 2.2, 2.1]}
    sizes = np.full(10, 1000.0)
    everywhere = baselines.versus(final, other, np.full(10, -100.0), sizes)
    assert everywhere["document_resamples_ahead"] == 1.0 and everywhere["document_resample_std"] == 0.0
    # the same total lead, all of it on one document of ten: a resample leaves that document out about a third
    # of the time (0.9 ** 10), and then the final is behind
    one = baselines.versus(final, other, np.array([-1090.0] + [10.0] * 9), sizes)
    assert 0.55 < one["document_resamples_ahead"] < 0.75 and one["document_resample_std"] > 0.05
    assert one == baselines.versus(final, other, np.array([-1090.0] + [10.0] * 9), sizes)  # seeded
    resampled = baselines.document_resamples(np.array([-1090.0] + [10.0] * 9), sizes)
    assert resampled.mean() == pytest.approx(-0.1, abs=0.01)  # centred on the lead over all documents
    assert "document_resample_std" not in baselines.versus(final, other)  # a judgement without document scores


def test_a_sample_follows_the_weights_and_its_seed():
    rng = np.random.default_rng(1)
    clusters = np.repeat(np.arange(3), 200)
    tokens = rng.integers(50, 500, len(clusters))
    weights = [0.6, 0.3, 0.1]
    picked = draw_sample(clusters, tokens, weights, 20_000, [5, 29])
    got = np.bincount(clusters[picked], weights=tokens[picked], minlength=3)
    assert np.allclose(got / got.sum(), weights, atol=0.03)
    assert picked == draw_sample(clusters, tokens, weights, 20_000, [5, 29])
    assert picked != draw_sample(clusters, tokens, weights, 20_000, [6, 29])
    # a cluster smaller than its share is walked again from the start (epochs), as the mixture repeats it
    small = draw_sample(clusters, tokens, [1.0, 0, 0], int(tokens[:200].sum() * 2.5), [5, 29])
    assert len(small) == pytest.approx(500, abs=1)


def _witten_bell_bits(train: bytes, target: bytes, order: int) -> float:
    """The cheap proxy's model written out position by position with dictionaries: the reference."""
    from collections import Counter

    grams = [Counter(train[i : i + n] for i in range(len(train) - n + 1)) for n in range(order + 1)]
    bits = 0.0
    for i, byte in enumerate(target):
        p = (grams[1][bytes([byte])] + 1.0) / (len(train) + 256.0)
        for n in range(2, min(order, i + 1) + 1):
            ctx = target[i - n + 1 : i]
            followers = [g for g in grams[n] if g[:-1] == ctx]
            total = sum(grams[n][g] for g in followers)
            if total:
                p = (grams[n][target[i - n + 1 : i + 1]] + len(followers) * p) / (total + len(followers))
        bits -= np.log2(p)
    return bits / len(target)


def test_the_cheap_proxy_scores_a_target_indexed_once_as_the_position_by_position_model():
    texts = [json.loads(line)["text"].encode() for line in SYMPY.read_text().splitlines()]
    train, target = texts[1][:3000], texts[2][:400]
    grams = TargetGrams(target, 4)
    for order in (1, 2, 4):
        lm = NGramLM(order).fit(train)
        expected = _witten_bell_bits(train, target, order)
        assert lm.bits_per_byte(grams) == pytest.approx(expected, rel=1e-12)
        assert lm.bits_per_byte(target) == lm.bits_per_byte(grams)
    with pytest.raises(ValueError, match="order 4, the model's to 5"):
        NGramLM(5).fit(train).bits_per_byte(grams)


def test_no_proxy_trains_on_more_text_than_the_mixture_holds():
    """A proxy sample larger than the budget measures mixtures the mixture stage will never write (every
    cluster whole, repeated); both proxies' samples are capped at the budget."""
    settings = SearchSettings(target=str(SYMPY), proxy_tokens=200_000, judge_tokens=2_000_000)
    spec = SearchStage("dedup", settings, budget=125_000, seed=1).spec()
    assert (spec["proxy_tokens"], spec["judge_tokens"]) == (125_000, 125_000)
    spec = SearchStage("dedup", settings, budget=10_000_000, seed=1).spec()
    assert (spec["proxy_tokens"], spec["judge_tokens"]) == (200_000, 2_000_000)


def test_the_token_proxy_is_bounded_by_the_orders_its_keys_hold():
    assert SearchSettings(target=str(SYMPY), proxy_model="bytes", proxy_order=6).proxy_order == 6
    with pytest.raises(ValueError, match="climb.search.proxy_order: 6 is above 4"):
        SearchSettings(target=str(SYMPY), proxy_model="tokens", proxy_order=6)


def test_the_predictor_ranks_fresh_mixtures_and_is_deterministic():
    rng = np.random.default_rng(2)
    effect = np.array([-0.3, 0.1, 0.2, -0.1, 0.05, 0.0])
    weights = rng.dirichlet(np.ones(6), size=72)
    scores = 3.0 + weights @ effect + rng.normal(0, 0.005, len(weights))
    model = fit_predictor(weights[:56], scores[:56], [3, 17])
    again = fit_predictor(weights[:56], scores[:56], [3, 17])
    assert model.to_string() == again.to_string()
    assert len(model.trees) == MEMBERS and all(1 <= t < 2000 for t in model.trees)  # early stopping on folds
    # each member is fitted on its own share of the runs, with the tree count its folds found on them
    counts = [m.n_estimators for m, _, _ in model.members]
    assert len(set(counts)) > 1 and all(c >= t for c, t in zip(counts, model.trees))
    one = fit_member(weights[:56], scores[:56], [3, 17])[0]
    standard = (scores[:56] - scores[:56].mean()) / scores[:56].std()
    assert one.n_estimators == cv_trees(weights[:56], standard, [3, 17])  # a member refitted on all its runs
    rho = spearman(model.predict(weights[56:]), scores[56:])
    assert rho is not None and rho >= 0.8


def test_the_predictors_members_rank_noisy_runs_better_than_one_regressor():
    """Scores as noisy as proxy runs between close mixtures: one regressor's splits follow a few noisy runs, the
    mean of regressors fitted on different shares of the runs does less so (six seeded data sets)."""
    together, alone = [], []
    for s in range(6):
        rng = np.random.default_rng(s)
        effect = rng.normal(0, 0.2, 12)
        weights = rng.dirichlet(np.ones(12), size=256)
        scores = 3.0 + weights @ effect + rng.normal(0, 0.05, len(weights))
        truth = weights[56:] @ effect
        together.append(spearman(fit_predictor(weights[:56], scores[:56], [s, 17]).predict(weights[56:]), truth))
        alone.append(spearman(Predictor([fit_member(weights[:56], scores[:56], [s, 17])]).predict(weights[56:]), truth))
    assert np.mean(together) > np.mean(alone) + 0.04


def test_the_predictor_splits_on_a_first_round_as_small_as_the_demos():
    rng = np.random.default_rng(4)
    effect = np.array([-0.3, 0.1, 0.2, -0.1, 0.05, 0.0, 0.02, 0.03])
    weights = rng.dirichlet(np.ones(8), size=66)
    scores = 3.0 + weights @ effect + rng.normal(0, 0.005, len(weights))
    model = fit_predictor(weights[:16], scores[:16], [5, 17])
    fresh = model.predict(weights[16:])
    assert np.ptp(fresh) > 0  # eight runs per leaf left no split: a constant, which ranks nothing
    rho = spearman(fresh, scores[16:])
    assert rho is not None and rho >= 0.5


def test_a_later_round_draws_its_candidates_around_the_predictors_answer():
    answer = [0.62, 0.3, 0.08, 0.0, 0.0]
    alpha = narrowed(answer, 30.0)
    assert alpha.sum() == pytest.approx(30.0) and alpha.min() > 0  # no cluster unreachable
    roomy = np.full(5, 1e9)  # no epoch cap binds
    near = draw_candidates(np.random.default_rng(1), alpha, 4000, roomy, 1000, 15.0)
    prior = draw_candidates(np.random.default_rng(1), dirichlet_prior(np.full(5, 0.2), 1.0), 4000, roomy, 1000, 15.0)
    assert np.abs(near.mean(axis=0) - answer).max() < 0.01
    distance = {name: np.abs(w - answer).sum(axis=1).mean() for name, w in (("near", near), ("prior", prior))}
    assert distance["near"] < distance["prior"] / 3
    # a higher concentration draws closer still
    closer = draw_candidates(np.random.default_rng(1), narrowed(answer, 300.0), 4000, roomy, 1000, 15.0)
    assert np.abs(closer - answer).sum(axis=1).mean() < distance["near"] / 2


def _real_run(root: Path) -> tuple[RunDir, Path]:
    """A run directory as the cluster stage leaves it: three clusters of real text (SymPy documentation
    paragraphs, and two halves of real news articles), and half of SymPy's pages as the target."""
    texts = [json.loads(line)["text"] for line in SYMPY.read_text().splitlines()]
    target = root / "target.jsonl"
    target.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:8]))
    maths = [p for t in texts[8:] for p in t.split("\n\n") if len(p.split()) >= 20]
    news = [a["articleBody"] for a in json.loads(NEWS.read_text()).values()]
    docs = [(t, 0) for t in maths] + [(t, 1 + i % 2) for i, t in enumerate(news)]
    n_tokens = np.array(load_counter("smollm2")([t for t, _ in docs]), np.int64)
    rundir = RunDir(str(root / "run"))
    rundir.write_table(pa.table({"text": [t for t, _ in docs]}), "dedup", "part-00000.parquet")
    cluster = np.array([c for _, c in docs], np.int32)
    rundir.write_table(
        pa.table(
            {
                "id": [f"d{i}" for i in range(len(docs))],
                "part": np.zeros(len(docs), np.int32),
                "row": np.arange(len(docs), dtype=np.int32),
                "n_tokens": n_tokens,
                "cluster": cluster,
            }
        ),
        "cluster",
        "assignments.parquet",
    )
    tokens = [int(n_tokens[cluster == c].sum()) for c in range(3)]
    rundir.write_json(
        {
            "clusters": [
                {"cluster": c, "documents": int((cluster == c).sum()), "tokens": t, "token_share": t / sum(tokens)}
                for c, t in enumerate(tokens)
            ]
        },
        "cluster",
        "clusters.json",
    )
    return rundir, target


OUTPUTS = ["baselines.json", "best.json", "runs.parquet", "rounds.json", "predictor.txt", "pool.parquet"]


def test_the_search_judges_its_answers_and_the_baselines_on_the_held_out_target(tmp_path):
    settings = dict(runs_per_round=[8, 4, 2], candidate_pool=300, proxy_tokens=4000, judge_tokens=20_000)
    with Executor(workers=2, progress=False) as executor:
        outputs, stages = [], {}
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            rundir, target = _real_run(tmp_path / name)
            stage = stages[name] = SearchStage("dedup", SearchSettings(target=str(target), **settings), 40_000, 11)
            stage.preflight()
            stage.run(executor, rundir)
            outputs.append({f: rundir.fs.cat(rundir.path("search", f)) for f in OUTPUTS})
        assert outputs[0] == outputs[1]  # same config and seed, same bytes

        report = json.loads(outputs[0]["baselines.json"])
        assert report["target"] == {"search_docs": 4, "heldout_docs": 4}
        assert report["seeds"] == [0, 1, 2] and report["judge"]["train_tokens"] == 20_000
        by_name = {m["name"]: m for m in report["mixtures"]}
        assert list(by_name) == ["uniform", "token_share", "random_best", "regmix", "climb_predicted", "climb_best_run"]
        for m in by_name.values():
            assert len(m["weights"]) == 3 and sum(m["weights"]) == pytest.approx(1.0, abs=1e-4)
            assert len(m["per_seed"]) == 3 and m["bits_per_byte_mean"] == pytest.approx(np.mean(m["per_seed"]))
        final = by_name[report["final"]]
        assert report["final"] in ("climb_predicted", "climb_best_run")
        assert final["bits_per_byte_mean"] <= min(
            by_name[n]["bits_per_byte_mean"] for n in ("climb_predicted", "climb_best_run")
        )
        # the target is SymPy's documentation: the search's answer beats the even split of maths and news
        assert final["bits_per_byte_mean"] < by_name["uniform"]["bits_per_byte_mean"]
        # the final mixture against each baseline, draw by draw (each draw gives every mixture the same pieces)
        versus = {v["name"]: v for v in report["final_versus"]}
        assert list(versus) == ["uniform", "token_share", "random_best", "regmix"]
        for name, v in versus.items():
            diff = np.array(final["per_seed"]) - np.array(by_name[name]["per_seed"])
            assert v["mean_difference"] == pytest.approx(diff.mean(), abs=1e-6)
            assert v["draws_ahead"] == int((diff < 0).sum())
            # and on resamples of the 4 held-out documents, from the judge's bits on each of them
            assert v["document_resample_std"] > 0 and 0 <= v["document_resamples_ahead"] <= 1
        judged = [json.loads(rundir.fs.cat(f)) for f in rundir.fs.glob(rundir.path("search", "judge", "_stats", "*"))]
        assert len(judged) == 18 and all(len(x["doc_bits"]) == 4 for x in judged)
        held_bytes = sum(len(t.encode()) + 2 for t in split_target(read_target_texts(str(target)), 0.5, 11)[1]) - 2
        for x in judged:
            assert sum(x["doc_bits"]) / held_bytes == pytest.approx(x["bpb"], abs=1e-6)
        assert "doc_bits" not in outputs[0]["baselines.json"].decode()  # they stay in the task records
        best = json.loads(outputs[0]["best.json"])
        assert best["best"]["weights"] == final["weights"]

        runs = pq.read_table(tmp_path / "a/run/search/runs.parquet").to_pandas()
        assert list(runs["round"]) == [0] * 8 + [1] * 4 + [2] * 2
        # the larger proxy re-scores every search run
        assert runs["judge_bpb"].notna().all() and report["calibration"]["mixtures"] == 14
        rounds = json.loads(outputs[0]["rounds.json"])["rounds"]
        assert [r["runs"] for r in rounds] == [8, 4, 2] and rounds[0]["predictor_spearman"] is None
        # each round's predictor is also ranked on the random search's 6 fresh runs, which none was fitted on
        fresh = [r["predictor_spearman_fresh"] for r in rounds]
        assert all(f is None or -1 <= f <= 1 for f in fresh) and any(f is not None for f in fresh)
        assert len(list((tmp_path / "a/run/search/random/_done").iterdir())) == 6  # as many random runs as CLIMB's
        # later rounds search around the predictor's answer, as closely as `narrowing` says: much closer at 3000
        # than at the default 30 (before, they were the top of a pool from the prior, whatever the setting)
        (tmp_path / "c").mkdir()
        rundir_c, target_c = _real_run(tmp_path / "c")
        narrow = SearchSettings(target=str(target_c), narrowing=3000.0, **settings)
        SearchStage("dedup", narrow, 40_000, 11).run(executor, rundir_c)
        spread = {}
        for name in ("a", "c"):
            table = pq.read_table(tmp_path / name / "run/search/runs.parquet").to_pandas()
            w = table[[f"w_{c}" for c in range(3)]].to_numpy()[table["round"] == 1]
            spread[name] = np.abs(w - w.mean(axis=0)).sum(axis=1).mean()
        assert spread["c"] < spread["a"] / 5

        # resumed: the judgement half done, the rounds kept; the same bytes come out
        rundir = RunDir(str(tmp_path / "a/run"))
        for f in ("best.json", "baselines.json", "runs.parquet"):
            rundir.fs.rm(rundir.path("search", f))
        for marker in sorted((tmp_path / "a/run/search/judge/_done").iterdir())[::2]:
            marker.unlink()
        kept = (tmp_path / "a/run/search/round-0/_stats/run-000.json").stat().st_mtime_ns
        stages["a"].run(executor, rundir)
        assert {f: rundir.fs.cat(rundir.path("search", f)) for f in OUTPUTS} == outputs[0]
        assert (tmp_path / "a/run/search/round-0/_stats/run-000.json").stat().st_mtime_ns == kept
