"""The cleanup stage: an LLM hook (by default ``math-cleanup``, the Nemotron-CC-Math rewrite) over documents.

Documents are routed by maths score (``cleanup.min_math_score``; 0 sends every document). Each routed batch
goes through ``curation.llm.runner.run_hook``, which chunks by the backend's tokenizer, asks the backend only
for chunks its reply cache (``cleanup/_llm/``) lacks, and merges the replies back in order. A document whose
chunks did not all come back whole keeps its original text with ``llm_status = "kept:<reason>"``, or is
dropped under ``llm:<reason>`` when ``on_failure: drop``; it is never half-merged. ``cleaned_text`` holds the
rewrite; ``text`` is left as extracted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from datatrove.data import Document, DocumentsPipeline
from pydantic import Field

from .llm.backends import LLMSettings
from .llm.hooks import HookSpec
from .rundir import RunDir
from .settings import LLM_TOKENS_MAX, Settings
from .stage import ShardStage
from .step import Step, batches

#: documents a worker holds, with their chunks and replies, per batch sent to the LLM
MAX_BATCH_DOCUMENTS = 10_000


class CleanupSettings(Settings):
    enabled: bool = False
    hook: HookSpec = Field("math-cleanup", description="built-in name, module:function, or a template mapping")
    min_math_score: float = Field(0.3, ge=0, le=1, description="documents routed to the LLM; 0 sends all")
    chunk_tokens: int = Field(1024, ge=32, le=LLM_TOKENS_MAX)
    max_tokens: int | None = Field(None, ge=1, le=LLM_TOKENS_MAX, description="per reply; default: 1.5x the chunk + 32")
    on_failure: Literal["keep", "drop"] = "keep"
    batch_documents: int = Field(32, ge=1, le=MAX_BATCH_DOCUMENTS, description="documents held per LLM batch")


class LLMHookStep(Step):
    """Runs a rewrite hook over routed documents, ``batch_documents`` at a time."""

    name = "llm-hook"

    def __init__(self, settings: CleanupSettings, llm: LLMSettings, cache_dir: str, seed: int = 0):
        super().__init__()
        self.settings, self.llm, self.cache_dir, self.seed = settings, llm, cache_dir, seed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        for batch in batches(data, self.settings.batch_documents):
            yield from self._apply(batch)

    def _apply(self, batch: list[Document]) -> Iterator[Document]:
        from .llm.backends import backend_for
        from .llm.runner import DROPPED, OK, run_hook

        s = self.settings
        routed = [d for d in batch if (d.metadata.get("math_score") or 0.0) >= s.min_math_score]
        results = {}
        if routed:
            backend = backend_for(self.llm.model_dump())
            for r in run_hook(
                s.hook,
                [d.text for d in routed],
                backend,
                self.cache_dir,
                ids=[d.id for d in routed],
                chunk_tokens=s.chunk_tokens,
                max_tokens=s.max_tokens,
                seed=self.seed,
                on_failure=s.on_failure,
            ):
                results[r.id] = r
                self.stat_update("llm_chunks", value=r.n_chunks)
                self.stat_update("llm_cached_chunks", value=r.cached_chunks)
        for doc in batch:
            result = results.get(doc.id)
            if result is None:
                yield doc
            elif result.status == DROPPED:
                self.drop(f"llm:{result.reason}", doc=doc)
            else:
                doc.metadata["llm_status"] = OK if result.status == OK else f"{result.status}:{result.reason}"
                if result.status == OK:
                    doc.metadata["cleaned_text"] = result.text
                yield doc


class CleanupStage(ShardStage):
    name = "cleanup"
    outputs = ("_llm/", *ShardStage.outputs)

    def __init__(self, source: str, settings: CleanupSettings, llm: LLMSettings, seed: int):
        super().__init__(source)
        self.settings, self.llm, self.seed = settings, llm, seed

    def steps(self, rundir: RunDir) -> list[Step]:
        return [LLMHookStep(self.settings, self.llm, rundir.path("cleanup", "_llm"), seed=self.seed)]
