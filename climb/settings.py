"""The ``climb`` section of the run config, which ``pipelines`` splits among three stages: the embedding model
goes to the embed stage (``curation.embed``), ``n_clusters`` to the cluster stage, ``search`` to the search
stage (whose ``SearchSettings`` live beside it)."""

from __future__ import annotations

from pydantic import Field

from curation.embed import DEFAULT_MODEL
from curation.settings import Settings

from .search import SearchSettings


class ClimbSettings(Settings):
    embedding_model: str = Field(DEFAULT_MODEL, description="'minilm' (packaged all-MiniLM-L6-v2) or a model path")
    n_clusters: int = Field(8, ge=1)
    search: SearchSettings
