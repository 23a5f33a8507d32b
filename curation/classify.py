"""The classify stage: an LLM annotates a sample, a small model learns its score from embeddings, and every
document gets ``quality_score``.

Global part (once): a seeded sample of ``sample_size`` documents is annotated with a hook (default
``quality-annotate``, a 0-5 FineMath-style score parsed from the reply), embedded, and fitted with
``curation.llm.classify.train_quality_classifier``; the model (``classify/model.pkl``), the annotations
(``classify/annotations.parquet``) and the held-out error (``classify/metrics.json``) are written. Shard part:
every document is embedded and scored. The LLM sees only the sample, so the cost does not grow with the data.
"""
from __future__ import annotations

import functools
import io
import pickle
from collections import Counter

import numpy as np
import pyarrow as pa

from .rundir import RunDir
from .stage import ShardStage
from .step import Step, batches


@functools.lru_cache(maxsize=2)
def _model(root: str):
    rundir = RunDir(root)
    with rundir.fs.open(rundir.path("classify", "model.pkl"), "rb") as f:
        return pickle.load(f)


class ScoreQuality(Step):
    name = "score-quality"

    def __init__(self, root: str, embedding_model: str, batch: int = 256):
        super().__init__()
        self.root, self.embedding_model, self.batch = root, embedding_model, batch

    def run(self, data, rank: int = 0, world_size: int = 1):
        from climb.embed import embed_texts

        from .llm.classify import predict_quality

        model = _model(self.root)
        for batch in batches(data, self.batch):
            scores = predict_quality(model, embed_texts([d.text for d in batch], self.embedding_model))
            for d, s in zip(batch, scores):
                d.metadata["quality_score"] = round(float(s), 4)
                yield d


class ClassifyStage(ShardStage):
    name = "classify"

    def __init__(self, source: str, settings, llm: dict, embedding_model: str, seed: int):
        self.source, self.settings, self.llm = source, settings, llm
        self.embedding_model, self.seed = embedding_model, seed

    def run(self, executor, rundir: RunDir) -> list[dict]:
        if not rundir.exists("classify", "model.pkl"):
            executor.submit_call(self.train, rundir)
        return super().run(executor, rundir)

    def steps(self, rundir: RunDir) -> list:
        return [ScoreQuality(rundir.root, self.embedding_model)]

    def sample(self, rundir: RunDir) -> pa.Table:
        """A seeded sample of (id, text): rows are chosen from the row counts, and only their texts are read."""
        parts = self.inputs(rundir)
        sizes = np.array([rundir.read_table(self.source, p, columns=["id"]).num_rows for p in parts], dtype=np.int64)
        rng = np.random.default_rng([self.seed, 13])
        chosen = np.sort(rng.permutation(int(sizes.sum()))[: self.settings.sample_size])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        tables = []
        for i, part in enumerate(parts):
            rows = chosen[(chosen >= starts[i]) & (chosen < starts[i + 1])] - starts[i]
            if len(rows):
                table = rundir.read_table(self.source, part, columns=["id", "text"])
                tables.append(table.take(pa.array(rows, pa.int64())))
        return pa.concat_tables(tables) if tables else pa.table({"id": pa.array([], pa.string()),
                                                                 "text": pa.array([], pa.string())})

    def train(self, rundir: RunDir) -> dict:
        from climb.embed import embed_texts

        from .llm.backends import backend_for
        from .llm.classify import train_quality_classifier
        from .llm.runner import OK, run_hook

        sample = self.sample(rundir)
        texts, ids = sample["text"].to_pylist(), sample["id"].to_pylist()
        s = self.settings
        results = run_hook(s.hook, texts, backend_for(self.llm),
                           rundir.path("classify", "_llm"), ids=ids, chunk_tokens=s.chunk_tokens,
                           max_tokens=s.max_tokens, seed=self.seed, on_failure="keep")
        ok = [i for i, r in enumerate(results) if r.status == OK]
        rundir.write_table(pa.table({"id": ids, "score": [r.value if r.status == OK else None for r in results],
                                     "status": [r.status for r in results],
                                     "reason": [r.reason for r in results]}), "classify", "annotations.parquet")
        if len(ok) < 5:
            reasons = sorted({r.reason for r in results if r.status != OK})
            raise ValueError(f"classify: only {len(ok)} of {len(results)} sampled documents were annotated "
                             f"(failures: {', '.join(map(str, reasons))}); need 5 to train")
        vectors = embed_texts([texts[i] for i in ok], self.embedding_model)
        model, mae = train_quality_classifier(vectors, [float(results[i].value) for i in ok], random_state=self.seed)
        metrics = {"annotated": len(ok), "sampled": len(results), "heldout_mae": round(mae, 4),
                   "failed": dict(Counter(str(r.reason) for r in results if r.status != OK))}
        buf = io.BytesIO()
        pickle.dump(model, buf)
        rundir.write_json(metrics, "classify", "metrics.json")
        rundir.write_bytes(buf.getvalue(), "classify", "model.pkl")  # last: it marks the global part done
        return metrics
