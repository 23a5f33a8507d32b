"""The one place where a config becomes the list of stages, each given its method.

    extract (+ tokens) -> filter -> dedup -> [cleanup] -> embed -> [classify] -> cluster -> search -> mixture

Every stage reads the documents of the one before it (``source``). Embed writes vectors, not documents: it
and classify both read the last document stage before classify, whose rows classify keeps one for one, so
classify and the cluster stage find each document's vector by its part and row without embedding again. The
CLIMB stages read the last document stage. Here the extract stage gets its extractor and the filter stage its
maths scorer from ``math_extract``, and embed its embedder, so that ``curation`` needs neither
``math_extract`` nor ``climb`` (ARCHITECTURE.md, "Layers"). The driver, ``curate stats`` and the report iterate
over this list.
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
    docs = stages[-1].name
    stages.append(EmbedStage(docs, Embedder(cfg.climb.embedding_model)))
    if cfg.classify.enabled:
        stages.append(ClassifyStage(docs, cfg.classify, cfg.llm, cfg.seed))
        docs = ClassifyStage.name  # the documents the mixture is drawn from
    provenance = {"config_hash": cfg.content_hash(), "inputs": shards, "source_stage": docs}
    stages += [
        ClusterStage(docs, cfg.climb, cfg.seed),
        SearchStage(docs, cfg.climb.search, cfg.mixture.token_budget, cfg.seed, cfg.tokens.tokenizer),
        MixtureStage(docs, cfg.mixture, cfg.seed, provenance),
    ]
    return stages
