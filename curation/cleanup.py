"""The cleanup stage: an LLM hook (by default ``math-cleanup``, the Nemotron-CC-Math rewrite) over documents.

Documents are routed by maths score (``cleanup.min_math_score``; 0 sends every document). Each routed batch
goes through ``curation.llm.runner.run_hook``, which chunks by the backend's tokenizer, asks the backend only
for chunks its reply cache (``cleanup/_llm/``) lacks, and merges the replies back in order. A document whose
chunks did not all come back whole keeps its original text with ``llm_status = "kept:<reason>"``, or is
dropped under ``llm:<reason>`` when ``on_failure: drop``; it is never half-merged. ``cleaned_text`` holds the
rewrite; ``text`` is left as extracted.
"""
from __future__ import annotations

from .rundir import RunDir
from .stage import ShardStage
from .step import Step, batches


class LLMHookStep(Step):
    """Runs a rewrite hook over routed documents, ``batch_documents`` at a time."""

    name = "llm-hook"

    def __init__(self, hook, llm: dict, cache_dir: str, min_math_score: float = 0.0, chunk_tokens: int = 1024,
                 max_tokens: int | None = None, on_failure: str = "keep", batch_documents: int = 32, seed: int = 0):
        super().__init__()
        self.hook, self.llm, self.cache_dir = hook, llm, cache_dir
        self.min_math_score, self.chunk_tokens, self.max_tokens = min_math_score, chunk_tokens, max_tokens
        self.on_failure, self.batch_documents, self.seed = on_failure, batch_documents, seed

    def run(self, data, rank: int = 0, world_size: int = 1):
        for batch in batches(data, self.batch_documents):
            yield from self._apply(batch)

    def _apply(self, batch):
        from .llm.backends import backend_for
        from .llm.runner import DROPPED, OK, run_hook

        routed = [d for d in batch if (d.metadata.get("math_score") or 0.0) >= self.min_math_score]
        results = {}
        if routed:
            backend = backend_for(self.llm)
            for r in run_hook(self.hook, [d.text for d in routed], backend, self.cache_dir,
                              ids=[d.id for d in routed], chunk_tokens=self.chunk_tokens,
                              max_tokens=self.max_tokens, seed=self.seed, on_failure=self.on_failure):
                results[r.id] = r
                self.stat_update("llm_chunks", value=r.n_chunks)
                self.stat_update("llm_cached_chunks", value=r.cached_chunks)
        for doc in batch:
            r = results.get(doc.id)
            if r is None:
                yield doc
            elif r.status == DROPPED:
                self.drop(f"llm:{r.reason}", doc=doc)
            else:
                doc.metadata["llm_status"] = OK if r.status == OK else f"{r.status}:{r.reason}"
                if r.status == OK:
                    doc.metadata["cleaned_text"] = r.text
                yield doc


class CleanupStage(ShardStage):
    name = "cleanup"

    def __init__(self, source: str, settings, llm: dict, seed: int):
        self.source, self.settings, self.llm, self.seed = source, settings, llm, seed

    def steps(self, rundir: RunDir) -> list:
        s = self.settings
        return [LLMHookStep(s.hook, self.llm, rundir.path("cleanup", "_llm"), min_math_score=s.min_math_score,
                            chunk_tokens=s.chunk_tokens, max_tokens=s.max_tokens, on_failure=s.on_failure,
                            batch_documents=s.batch_documents, seed=self.seed)]
