"""The one place where a config becomes the list of stages, each given its method.

    extract (+ tokens) -> filter -> dedup -> [cleanup] -> [classify] -> embed -> cluster -> search -> mixture

Every stage reads the documents of the one before it (``source``); the CLIMB stages after embed all read the
last document stage. Here the extract stage gets its extractor and the filter stage its maths scorer from
``math_extract``, and classify and embed their embedder, so that ``curation`` needs neither ``math_extract``
nor ``climb`` (ARCHITECTURE.md, "Layers"). The driver, ``curate stats`` and the report iterate over this list.
"""

from __future__ import annotations

from climb.cluster import ClusterStage
from climb.mixture import MixtureStage
from climb.search import SearchStage
from curation.classify import ClassifyStage
from curation.cleanup import CleanupStage
from curation.dedup import DedupStage
from curation.embed import Embedder, EmbedStage
from curation.extract import ExtractSettings, ExtractStage, PageExtractor
from curation.filter import FilterStage
from curation.stage import Stage
from math_extract import MathExtractor, MathScorer, TrafilaturaExtractor

from .config import RunConfig


def make_extractor(settings: ExtractSettings) -> PageExtractor:
    """The extractor the ``extract.extractor`` setting names, with its settings."""
    if settings.extractor == "trafilatura":
        return TrafilaturaExtractor(timeout_s=settings.timeout_s, batch_size=settings.batch_size)
    return MathExtractor(
        timeout_s=settings.timeout_s,
        batch_size=settings.batch_size,
        main_content=settings.main_content,
        max_html_bytes=settings.max_payload_bytes,
        page_budget_s=settings.page_budget_s,
        page_budget_s_per_mb=settings.page_budget_s_per_mb,
    )


def build_stages(cfg: RunConfig, shards: list[str]) -> list[Stage]:
    """Every stage of the run, in order; optional stages only when enabled. ``shards``: the inputs the extract
    stage reads (the driver expands ``cfg.inputs``; a reader of a finished run, needing only the stages'
    names, passes ``cfg.inputs`` as they are rather than list a bucket again)."""
    stages: list[Stage] = [ExtractStage(shards, cfg.extract, make_extractor(cfg.extract), cfg.tokens)]
    stages.append(FilterStage(stages[-1].name, cfg.filter, MathScorer()))
    stages.append(DedupStage(stages[-1].name, cfg.dedup))
    if cfg.cleanup.enabled:
        stages.append(CleanupStage(stages[-1].name, cfg.cleanup, cfg.llm, cfg.seed))
    embedder = Embedder(cfg.climb.embedding_model)
    if cfg.classify.enabled:
        stages.append(ClassifyStage(stages[-1].name, cfg.classify, cfg.llm, embedder, cfg.seed))
    docs = stages[-1].name  # the documents the mixture is drawn from
    provenance = {"config_hash": cfg.content_hash(), "inputs": shards, "source_stage": docs}
    stages += [
        EmbedStage(docs, embedder),
        ClusterStage(docs, cfg.climb.n_clusters, cfg.seed),
        SearchStage(docs, cfg.climb.search, cfg.mixture.token_budget, cfg.seed),
        MixtureStage(docs, cfg.mixture, cfg.seed, provenance),
    ]
    return stages
