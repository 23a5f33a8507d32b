"""The ``climb`` section of the run config, which ``pipelines`` splits among three stages: the embedding model
goes to the embed stage (``curation.embed``), ``n_clusters`` to the cluster stage, ``search`` to the search
stage (whose ``SearchSettings`` live beside it)."""

from __future__ import annotations

from pydantic import Field, model_validator

from curation.embed import DEFAULT_MODEL
from curation.settings import Name, Settings

from .search import SearchSettings

#: k-means centres; CLIMB starts from 1000 (K_init) and merges them down
MAX_CLUSTERS = 4096
#: weights a search round holds at once (``candidate_pool`` vectors of ``n_clusters``): 80 MB of float64
MAX_POOL_WEIGHTS = 10_000_000
#: tokens of the proxies' text pool (``proxy_tokens`` per cluster), which every proxy worker holds
MAX_POOL_TOKENS = 100_000_000


class ClimbSettings(Settings):
    embedding_model: Name = Field(DEFAULT_MODEL, description="'minilm' (packaged all-MiniLM-L6-v2) or a model path")
    n_clusters: int = Field(8, ge=1, le=MAX_CLUSTERS)
    search: SearchSettings

    @model_validator(mode="after")
    def _bounded_search(self) -> ClimbSettings:
        """Each search setting is bounded alone; what a round allocates grows with the cluster count as well."""
        s, k = self.search, self.n_clusters
        if s.candidate_pool * k > MAX_POOL_WEIGHTS:
            raise ValueError(
                f"climb.search.candidate_pool: {s.candidate_pool} candidates x {k} clusters = "
                f"{s.candidate_pool * k} weights, above the limit of {MAX_POOL_WEIGHTS}; lower one of them"
            )
        if s.proxy_tokens * k > MAX_POOL_TOKENS:
            raise ValueError(
                f"climb.search.proxy_tokens: {s.proxy_tokens} tokens x {k} clusters = {s.proxy_tokens * k} "
                f"tokens in the proxies' pool, above the limit of {MAX_POOL_TOKENS}; lower one of them"
            )
        return self
