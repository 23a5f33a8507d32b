"""The embedders: the static model distilled from the packaged MiniLM, its cache, and the model setting.

The distillation is real (two to three minutes once per machine, then read from the user cache); the session
fixture makes it once for every test here."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from curation import embedders
from curation.embed import Embedder, EmbedStage, load_embeddings
from curation.rundir import RunDir

from conftest import REPO


@pytest.fixture(scope="session")
def distilled():
    return embedders.ensure_distilled()


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """Real documents: the SymPy documentation pages of the demo's target set, and two edge cases."""
    lines = (REPO / "sample/target/sympy-docs.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:40]] + ["", "\x00\x01 \u200b"]


def test_static_vectors_are_unit_length_rounded_and_identical_in_a_fresh_process(distilled, texts):
    vectors = Embedder().embed(texts)
    assert vectors.shape == (len(texts), embedders.PCA_DIMS) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors[:-2], axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    assert not vectors[-2:].any()  # no token at all: the zero vector, not NaN
    assert np.array_equal(vectors, np.round(vectors, 5))
    assert np.array_equal(vectors, Embedder().embed(texts))  # the word memory, now warm, changes nothing
    code = (
        "import json, sys, numpy as np\n"
        "from curation.embed import Embedder\n"
        "texts = json.loads(sys.stdin.read())\n"
        "sys.stdout.write(Embedder().embed(texts).tobytes().hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert bytes.fromhex(out) == vectors.tobytes()


def test_the_word_memory_gives_model2vecs_own_vectors(distilled, texts):
    """Tokenizing word by word (and remembering words) must give the ids the model's tokenizer gives the whole
    text: the vectors equal ``StaticModel.encode``'s."""
    from model2vec import StaticModel

    static = StaticModel.from_pretrained(str(distilled))
    docs = texts[:-2]  # the real pages (the edge cases have no token)
    ours = embedders.StaticEncoder(distilled, max_tokens=10**6)(docs)
    theirs = static.encode(docs, max_length=None, use_multiprocessing=False, normalize=False).astype(np.float32)
    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cos.min() > 0.9999, cos.min()


def test_a_long_document_is_read_up_to_its_first_tokens_and_a_full_word_memory_starts_again(distilled, texts):
    """Reading words ``max_tokens`` at a time gives the head of the whole text's ids, whatever the limit, and
    clearing the word memory in the middle of a document (a small ``MAX_WORDS``) changes no id."""
    whole = embedders.StaticEncoder(distilled, max_tokens=10**6)
    for limit in (1, 7, 64, 1024):
        head = embedders.StaticEncoder(distilled, max_tokens=limit)
        for text in texts:
            assert head.token_ids(text) == whole.token_ids(text)[:limit]
    forgetful = embedders.StaticEncoder(distilled, max_tokens=10**6)
    forgetful.MAX_WORDS = 50
    for text in texts:
        assert forgetful.token_ids(text) == whole.token_ids(text)


def test_the_distilled_table_is_canonical(distilled):
    from safetensors.numpy import load_file

    table = load_file(str(distilled / "model.safetensors"))["embeddings"]
    assert table.dtype == np.float16 and table.shape[1] == embedders.PCA_DIMS
    biggest = table[np.abs(table).argmax(axis=0), np.arange(table.shape[1])]
    assert (biggest > 0).all()
    flipped = embedders.canonical_signs(-table.astype(np.float32))
    assert np.array_equal(flipped, table.astype(np.float32))


def test_a_broken_cache_is_named_and_made_again_once_under_the_lock(distilled, tmp_path, monkeypatch, capsys):
    """Two processes (here threads, each with its own lock file handle) asking at once distil once; a cache whose
    files changed is moved aside and distilled again. The distillation is stood in for by copying the real
    distilled folder, since what is tested is the cache around it."""
    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path / "cache"))
    made = []

    def copy_distilled(folder):
        made.append(folder)
        shutil.copytree(distilled, folder)
        (folder / embedders.MANIFEST).unlink()

    monkeypatch.setattr(embedders, "distill_to", copy_distilled)
    target = embedders.distilled_dir()
    assert embedders.cache_state(target) == "missing"
    results: list = []
    workers = [threading.Thread(target=lambda: results.append(embedders.ensure_distilled())) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [target] * 3 and len(made) == 1
    assert embedders.cache_state(target) == "complete"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp-")]

    with (target / "model.safetensors").open("r+b") as f:  # a flipped byte
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert embedders.cache_state(target) == "files changed since distillation: model.safetensors"
    assert embedders.ensure_distilled() == target and len(made) == 2
    assert "model.safetensors" in capsys.readouterr().err
    assert embedders.cache_state(target) == "complete"
    (target / embedders.MANIFEST).unlink()
    assert embedders.cache_state(target).startswith("no curation-distilled.json")


def test_each_kind_of_model_setting_is_checked_with_a_clear_message(distilled, tmp_path):
    embedders.check_model("model2vec")
    embedders.check_model("minilm")
    embedders.check_model(str(distilled))  # a model2vec folder is a sentence-transformers folder too
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for name, message in [
        (str(tmp_path / "empty"), "is a folder without a model"),
        (str(tmp_path / "file"), "is a file; expected a model folder"),
        ("no-such/model", "is not 'model2vec', 'minilm', a model folder, nor a Hugging Face model"),
    ]:
        with pytest.raises(ValueError) as err:
            EmbedStage("dedup", Embedder(name)).preflight()
        assert str(err.value).startswith("climb.embedding_model: ") and message in str(err.value)


def test_minilm_and_a_model_folder_embed_through_sentence_transformers(distilled, texts):
    minilm = Embedder("minilm").embed(texts[:4])
    assert minilm.shape == (4, 384) and np.allclose(np.linalg.norm(minilm, axis=1), 1.0, atol=1e-4)
    folder = Embedder(str(distilled)).embed(texts[:4])  # the distilled model read by sentence-transformers
    # the same text (a model folder is given the first 2,000 characters) gives nearly the static encoder's
    # vector: sentence-transformers stops at the tokenizer's 512 tokens, which code-dense pages pass
    static = embedders.StaticEncoder(distilled)([t[: Embedder(str(distilled)).max_chars] for t in texts[:4]])
    cos = (folder * static).sum(1) / np.linalg.norm(static, axis=1)
    assert folder.shape == static.shape and cos.min() > 0.99, cos


def test_vectors_that_do_not_match_their_documents_are_refused(tmp_path):
    rundir = RunDir(str(tmp_path))
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4), np.float32))
    rundir.write_bytes(buf.getvalue(), "embed", "part-00000.npy")
    assert load_embeddings(rundir, ["part-00000.parquet"], [3]).shape == (3, 4)
    with pytest.raises(ValueError, match=r"embed/part-00000.npy: 3 vectors for 5 documents of part-00000.parquet"):
        load_embeddings(rundir, ["part-00000.parquet"], [5])


def test_classify_scores_each_document_from_its_row_of_the_embed_stage(tmp_path):
    """Classify embeds nothing: a document's score is the model's prediction on the vector the embed stage
    wrote for its row, and vectors that do not line up with the documents stop the task."""
    import pickle

    from datatrove.data import Document
    from sklearn.linear_model import Ridge

    from curation.classify import ClassifySettings, ClassifyStage, predict_quality
    from curation.documents import to_table
    from curation.llm.backends import LLMSettings

    rundir = RunDir(str(tmp_path))
    docs = [Document(text=f"page {i}", id=f"d{i}", metadata={"url": f"https://x.test/{i}"}) for i in range(6)]
    rundir.write_table(to_table(docs), "dedup", "part-00000.parquet")
    vectors = np.round(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32), 5)
    buf = io.BytesIO()
    np.save(buf, vectors)
    rundir.write_bytes(buf.getvalue(), "embed", "part-00000.npy")
    model = Ridge().fit(vectors, np.arange(6) * 0.8)
    rundir.write_bytes(pickle.dumps(model), "classify", "model.pkl")
    stage = ClassifyStage("dedup", ClassifySettings(enabled=True), LLMSettings(), seed=0)
    stage.task(rundir, "part-00000.parquet", 0)
    scored = rundir.read_table("classify", "part-00000.parquet")
    assert scored.column("id").to_pylist() == [f"d{i}" for i in range(6)]
    expected = np.round(predict_quality(model, vectors), 4)
    assert np.allclose(scored.column("quality_score").to_numpy(), expected, atol=1e-4)

    np.save(buf := io.BytesIO(), vectors[:5])
    rundir.write_bytes(buf.getvalue(), "embed", "part-00000.npy")
    with pytest.raises(ValueError, match=r"5 vectors for 6 documents of part-00000.parquet"):
        stage.task(rundir, "part-00000.parquet", 0)
