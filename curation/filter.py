"""The filter stage, per shard: language id, heuristic quality rules (maths-aware), decontamination.

Every document leaving it has ``language``, ``language_score`` and ``math_score``; every document it drops is
counted under ``language:<code>``, ``<family>:<rule>`` or ``decontamination:<benchmark>``, and a removed
contaminated document is recorded in ``filter/_aside/`` with the benchmark item it overlaps. In flag mode a
contaminated document is kept with a ``contamination`` column and counted under ``flagged`` instead.
"""
from __future__ import annotations

import functools
import json

from .decontaminate import BenchmarkIndex, DecontaminationConfig
from .langid import LanguageFilter
from .quality import QualityStep
from .stage import ShardStage
from .step import Step


@functools.lru_cache(maxsize=2)
def _benchmark_index(config_json: str) -> BenchmarkIndex:
    """Built once per worker process and reused by every shard task it runs."""
    return BenchmarkIndex.from_config(DecontaminationConfig.model_validate_json(config_json))


class DecontaminateStep(Step):
    """Removes (or flags, by config) documents sharing an ``ngram``-word sequence with a benchmark example."""

    name = "decontaminate"

    def __init__(self, config: DecontaminationConfig):
        super().__init__()
        self.config = config

    def run(self, data, rank: int = 0, world_size: int = 1):
        index = _benchmark_index(self.config.model_dump_json())
        for doc in data:
            match = index.find(doc.text or "")
            if match is None:
                yield doc
                continue
            benchmark = match.benchmark.rsplit("/", 1)[-1]
            if self.config.mode == "remove":
                self.drop(f"decontamination:{benchmark}", doc=doc, **match.as_metadata())
            else:
                self.flag(f"decontamination:{benchmark}")
                doc.metadata["contamination"] = json.dumps(match.as_metadata(), sort_keys=True)
                yield doc


class FilterStage(ShardStage):
    name = "filter"
    source = "extract"

    def steps(self, rundir) -> list:
        s = self.settings
        steps = [LanguageFilter(languages=s.languages, min_score=s.min_language_score), QualityStep(s.quality)]
        if s.decontamination.benchmarks:
            steps.append(DecontaminateStep(s.decontamination))
        return steps
