"""The ``climb`` section of the run config, which ``pipelines`` splits among three stages: the embedding model
goes to the embed stage (``curation.embed``), the clustering settings (``ClusterSettings``: ``k_init``,
``min_cluster_docs``, ``prune_below``, ``super_clusters``, ``merge_threshold``) to the cluster stage, ``search``
to the search stage (whose ``SearchSettings`` live beside it)."""

from __future__ import annotations

from pydantic import Field, model_validator

from curation.embed import DEFAULT_MODEL
from curation.settings import Name

from .cluster import ClusterSettings
from .search import SearchSettings

#: weights a search round holds at once (``candidate_pool`` vectors of ``super_clusters``): 80 MB of float64
MAX_POOL_WEIGHTS = 10_000_000
#: tokens of the proxies' text pool (``proxy_tokens`` per cluster), which every proxy worker holds
MAX_POOL_TOKENS = 100_000_000


class ClimbSettings(ClusterSettings):
    embedding_model: Name = Field(
        DEFAULT_MODEL,
        description="'model2vec' (distilled once from the packaged all-MiniLM-L6-v2), 'minilm', or a model folder",
    )
    search: SearchSettings

    @model_validator(mode="after")
    def _bounded_search(self) -> ClimbSettings:
        """Each search setting is bounded alone; what a round allocates grows with the cluster count as well
        (the search works on at most ``super_clusters`` clusters)."""
        s, k = self.search, self.super_clusters
        if s.candidate_pool * k > MAX_POOL_WEIGHTS:
            raise ValueError(
                f"climb.search.candidate_pool: {s.candidate_pool} candidates x {k} super-clusters = "
                f"{s.candidate_pool * k} weights, above the limit of {MAX_POOL_WEIGHTS}; lower one of them"
            )
        if s.proxy_tokens * k > MAX_POOL_TOKENS:
            raise ValueError(
                f"climb.search.proxy_tokens: {s.proxy_tokens} tokens x {k} super-clusters = {s.proxy_tokens * k} "
                f"tokens in the proxies' pool, above the limit of {MAX_POOL_TOKENS}; lower one of them"
            )
        return self
