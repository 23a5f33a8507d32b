"""The classify stage: an LLM annotates a sample, a small model learns its score from embeddings, and every
document gets ``quality_score``.

Global part (once): a seeded sample of ``sample_size`` documents is annotated with a hook (default
``quality-annotate``, a 0-5 FineMath-style score parsed from the reply), and a model is fitted with
:func:`train_quality_classifier` on their embeddings; the model (``classify/model.pkl``), the annotations
(``classify/annotations.parquet``) and the held-out error (``classify/metrics.json``) are written. Shard part:
every document is scored. The LLM sees only the sample, so the cost does not grow with the data. Nothing is
embedded here: the embed stage runs just before, on the same documents, and classify reads its vectors
(``curation.embed.read_part_embeddings``), row for row.

The model is ridge regression on embeddings, which is what FineWeb-Edu's classifier is (a linear head on
frozen embeddings): cheap enough to score billions of rows; the held-out mean absolute error is kept with it
so the run records how far the scores can be trusted.
"""

from __future__ import annotations

import functools
import io
import pickle
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from pydantic import Field

from .embed import read_part_embeddings
from .executor import Executor
from .llm.backends import LLMSettings
from .llm.hooks import HookSpec
from .rundir import RunDir
from .settings import LLM_TOKENS_MAX, Settings
from .stage import ParquetDocReader, ShardStage
from .step import Step, batches

#: documents annotated (by an LLM, a few seconds each on a CPU) and held with their embeddings to train
MAX_SAMPLE_SIZE = 100_000


class ClassifySettings(Settings):
    enabled: bool = False
    hook: HookSpec = "quality-annotate"
    sample_size: int = Field(
        64, ge=5, le=MAX_SAMPLE_SIZE, description="documents the LLM annotates to train the classifier"
    )
    chunk_tokens: int = Field(512, ge=32, le=LLM_TOKENS_MAX)
    max_tokens: int | None = Field(None, ge=1, le=LLM_TOKENS_MAX)


def train_quality_classifier(embeddings, scores, random_state: int = 0, *, test_size: float = 0.2, alpha: float = 1.0):
    """Fit ``Ridge`` on a train split; return ``(model, heldout_mae)`` measured on the held-out split.

    ``scores`` are numbers on the annotation scale (0-5); documents whose annotation failed are left out by
    the caller. Needs at least five documents so both splits are non-empty.
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error
    from sklearn.model_selection import train_test_split

    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"embeddings must be 2-D with one row per score, got {x.shape} and {y.shape}")
    if len(y) < 5:
        raise ValueError(f"need at least 5 annotated documents to train and hold out, got {len(y)}")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=random_state)
    model = Ridge(alpha=alpha, random_state=random_state).fit(x_train, y_train)
    heldout_mae = float(mean_absolute_error(y_test, predict_quality(model, x_test)))
    return model, heldout_mae


def predict_quality(model, embeddings, low: float = 0.0, high: float = 5.0) -> np.ndarray:
    """Scores clipped to the annotation scale (a linear model extrapolates past it)."""
    return np.clip(model.predict(np.asarray(embeddings, dtype=np.float32)), low, high)


@functools.lru_cache(maxsize=2)
def _model(root: str):
    rundir = RunDir(root)
    with rundir.fs.open(rundir.path("classify", "model.pkl"), "rb") as f:
        return pickle.load(f)


#: the metadata key that carries a document's embedding from the reader to the scoring step (never written)
EMBEDDING_KEY = "_embedding"


class EmbeddedDocReader(ParquetDocReader):
    """The documents of one part, each carrying its row of the embed stage's vectors under ``EMBEDDING_KEY``."""

    name = "embedded-reader"

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        rows = self.rundir.num_rows(self.stage, self.part)
        vectors = read_part_embeddings(self.rundir, self.part, rows)
        for row, doc in enumerate(super().run(data, rank, world_size)):
            doc.metadata[EMBEDDING_KEY] = vectors[row]
            yield doc


class ScoreQuality(Step):
    name = "score-quality"

    def __init__(self, root: str, batch: int = 256):
        super().__init__()
        self.root, self.batch = root, batch

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        model = _model(self.root)
        for batch in batches(data, self.batch):
            scores = predict_quality(model, np.stack([d.metadata.pop(EMBEDDING_KEY) for d in batch]))
            for d, s in zip(batch, scores):
                d.metadata["quality_score"] = round(float(s), 4)
                yield d


class ClassifyStage(ShardStage):
    name = "classify"
    outputs = ("annotations.parquet", "metrics.json", "model.pkl", "_llm/", *ShardStage.outputs)

    def __init__(self, source: str, settings: ClassifySettings, llm: LLMSettings, seed: int):
        """``source`` must be the embed stage's source too (``pipelines.stages`` puts embed just before)."""
        super().__init__(source)
        self.settings, self.llm, self.seed = settings, llm, seed

    def run(self, executor: Executor, rundir: RunDir) -> list[dict]:
        if not rundir.exists("classify", "model.pkl"):  # written last by the global part
            executor.submit_call(self.train, rundir)
        return super().run(executor, rundir)

    def reader(self, rundir: RunDir, source: str) -> Step:
        return EmbeddedDocReader(rundir, self.source_stage, source)

    def steps(self, rundir: RunDir) -> list[Step]:
        return [ScoreQuality(rundir.root)]

    def sample(self, rundir: RunDir) -> tuple[pa.Table, np.ndarray]:
        """A seeded sample of (id, text) and its embeddings: rows are chosen from the row counts, and only their
        texts and vectors are read."""
        parts = self.inputs(rundir)
        sizes = np.array([rundir.num_rows(self.source_stage, p) for p in parts], dtype=np.int64)
        rng = np.random.default_rng([self.seed, 13])
        chosen = np.sort(rng.permutation(int(sizes.sum()))[: self.settings.sample_size])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        tables, vectors = [], []
        for i, part in enumerate(parts):
            rows = chosen[(chosen >= starts[i]) & (chosen < starts[i + 1])] - starts[i]
            if len(rows):
                table = rundir.read_table(self.source_stage, part, columns=["id", "text"])
                tables.append(table.take(pa.array(rows, pa.int64())))
                vectors.append(read_part_embeddings(rundir, part, int(sizes[i]))[rows])
        if not tables:
            empty = pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
            return empty, np.zeros((0, 0), np.float32)
        return pa.concat_tables(tables), np.concatenate(vectors)

    def train(self, rundir: RunDir) -> dict:
        from .llm.backends import backend_for
        from .llm.runner import OK, run_hook

        sample, sample_vectors = self.sample(rundir)
        texts, ids = sample["text"].to_pylist(), sample["id"].to_pylist()
        s = self.settings
        results = run_hook(
            s.hook,
            texts,
            backend_for(self.llm.model_dump()),
            rundir.path("classify", "_llm"),
            ids=ids,
            chunk_tokens=s.chunk_tokens,
            max_tokens=s.max_tokens,
            seed=self.seed,
            on_failure="keep",
        )
        ok = [i for i, r in enumerate(results) if r.status == OK]
        rundir.write_table(
            pa.table(
                {
                    "id": ids,
                    "score": [r.value if r.status == OK else None for r in results],
                    "status": [r.status for r in results],
                    "reason": [r.reason for r in results],
                }
            ),
            "classify",
            "annotations.parquet",
        )
        if len(ok) < 5:
            reasons = sorted({str(r.reason) for r in results if r.status != OK})
            raise ValueError(
                f"classify: only {len(ok)} of {len(results)} sampled documents were annotated "
                f"(failures: {', '.join(reasons)}); need 5 to train"
            )
        model, mae = train_quality_classifier(
            sample_vectors[ok], [float(results[i].value) for i in ok], random_state=self.seed
        )
        metrics = {
            "annotated": len(ok),
            "sampled": len(results),
            "heldout_mae": round(mae, 4),
            "failed": dict(Counter(str(r.reason) for r in results if r.status != OK)),
        }
        buf = io.BytesIO()
        pickle.dump(model, buf)
        rundir.write_json(metrics, "classify", "metrics.json")
        rundir.write_bytes(buf.getvalue(), "classify", "model.pkl")  # last: it marks the global part done
        return metrics
