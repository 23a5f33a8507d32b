"""The embed stage: one vector per document, computed once; classify and CLIMB's clustering read them.

The model is ``climb.embedding_model`` (``curation.embedders``): by default a static model distilled once from
the packaged all-MiniLM-L6-v2 (``model2vec``, about 1,000 documents per CPU-second and more), or MiniLM itself
through sentence-transformers (``minilm``), or any sentence-transformers folder. Vectors are unit length and
rounded to 1e-5, so tiny float noise cannot flip a cluster assignment and the same documents give the same
file on any machine. The stage writes ``embed/part-NNNNN.npy``, one row per document of the source part, in
row order. It runs before classify, whose documents are its source's rows in the same order, so both
classify and the cluster stage read a part's vectors by the part's name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .embedders import DISTILLED, PACKAGED, SETTING, check_model, encoder
from .rundir import RunDir
from .stage import ShardStage

DEFAULT_MODEL = DISTILLED
__all__ = ["DEFAULT_MODEL", "PACKAGED", "SETTING", "EmbedStage", "Embedder", "check_model", "load_embeddings"]

#: characters of a document given to the model: MiniLM reads 256 tokens (about 1,000 characters) at most; the
#: static model averages up to 1,024 tokens, and cutting the text first bounds its tokenizer's work
MAX_CHARS = {DISTILLED: 4000}
MAX_CHARS_TRANSFORMER = 2000


@dataclass(frozen=True)
class Embedder:
    """Settings only; the model loads on first use, once per worker process."""

    model: str = DEFAULT_MODEL

    @property
    def max_chars(self) -> int:
        return MAX_CHARS.get(self.model, MAX_CHARS_TRANSFORMER)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors rounded to 1e-5; a text with no known token gets the zero vector."""
        vectors = np.asarray(encoder(self.model)([t[: self.max_chars] for t in texts]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.round(vectors / np.where(norms > 0, norms, 1.0), 5).astype(np.float32)


class EmbedStage(ShardStage):
    """``embed/part-NNNNN.npy`` for every part of the source stage, in row order."""

    name = "embed"
    outputs = ("part-NNNNN.npy", "_stats/", "_done/")

    def __init__(self, source: str, embedder: Embedder):
        super().__init__(source)
        self.embedder = embedder

    def preflight(self) -> None:
        """A missing embedding model stops the run before any work (raises ``ValueError``)."""
        check_model(self.embedder.model)

    def task(self, rundir: RunDir, source: str, index: int) -> dict:
        """An empty part writes a (0, 0) array: its width is the model's, which is not worth loading the model
        for, and ``load_embeddings`` leaves rowless arrays out of the concatenation."""
        texts = rundir.read_table(self.source_stage, source, columns=["text"]).column("text").to_pylist()
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, 0), np.float32)
        buf = io.BytesIO()
        np.save(buf, vectors)
        rundir.write_bytes(buf.getvalue(), self.name, source.replace(".parquet", ".npy"))
        return {"in": len(texts), "out": len(texts)}


def read_part_embeddings(rundir: RunDir, part: str, rows: int | None = None) -> np.ndarray:
    """The vectors of one part (``part-NNNNN.parquet`` of the embed stage's source, or of a stage with the same
    rows, such as classify). ``rows``: the part's document count, checked, so that a vector can never be
    paired with another document."""
    name = part.replace(".parquet", ".npy")
    with rundir.fs.open(rundir.path(EmbedStage.name, name), "rb") as f:
        vectors = np.load(io.BytesIO(f.read()))
    if rows is not None and len(vectors) != rows:
        raise ValueError(
            f"{rundir.path(EmbedStage.name, name)}: {len(vectors)} vectors for {rows} documents of {part}; "
            "the embed stage's output does not match the documents (rerun with a fresh run directory)"
        )
    return vectors


def load_embeddings(rundir: RunDir, parts: list[str], rows: list[int] | None = None) -> np.ndarray:
    """The parts' vectors in row order. Rowless arrays are skipped: an empty part has no width to agree on
    (any sentence-transformers model may be configured, so no width is assumed); no rows at all gives (0, 0)."""
    arrays = []
    for i, p in enumerate(parts):
        vectors = read_part_embeddings(rundir, p, rows[i] if rows is not None else None)
        if len(vectors):
            arrays.append(vectors)
    return np.concatenate(arrays) if arrays else np.zeros((0, 0), np.float32)
