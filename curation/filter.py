"""The filter stage, per shard: language id, heuristic quality rules (maths-aware), decontamination.

Every document leaving it has ``language``, ``language_score`` and ``math_score``; every document it drops is
counted under ``language:<code>``, ``<family>:<rule>`` or ``decontamination:<benchmark>``, and a removed
contaminated document is recorded in ``filter/_aside/`` with the benchmark item it overlaps. In flag mode a
contaminated document is kept with a ``contamination`` column and counted under ``flagged`` instead.
"""

from __future__ import annotations

import functools
import json

from datatrove.data import Document
from pydantic import Field

from .decontaminate import BenchmarkIndex, DecontaminationSettings
from .langid import LanguageFilter
from .quality import MathsView, QualityFilter, QualitySettings
from .rundir import RunDir
from .settings import Fraction, Name, Settings
from .stage import ShardStage
from .step import Drop, Filter, Step


class FilterSettings(Settings):
    languages: list[Name] = Field(default_factory=lambda: ["en"], description="ISO codes kept; empty keeps all")
    min_language_score: Fraction = 0.5
    quality: QualitySettings = QualitySettings()
    decontamination: DecontaminationSettings = DecontaminationSettings()


@functools.lru_cache(maxsize=2)
def _benchmark_index(settings_json: str) -> BenchmarkIndex:
    """Built once per worker process and reused by every shard task it runs."""
    return BenchmarkIndex.from_settings(DecontaminationSettings.model_validate_json(settings_json))


class DecontaminateStep(Filter):
    """Removes (or flags, by settings) documents sharing an ``ngram``-word sequence with a benchmark example."""

    name = "decontaminate"

    def __init__(self, settings: DecontaminationSettings):
        super().__init__()
        self.settings = settings

    def filter(self, doc: Document) -> bool | Drop:
        match = _benchmark_index(self.settings.model_dump_json()).find(doc.text or "")
        if match is None:
            return True
        benchmark = match.benchmark.rsplit("/", 1)[-1]
        if self.settings.mode == "remove":
            return Drop(f"decontamination:{benchmark}", match.as_metadata())
        self.flag(f"decontamination:{benchmark}")
        doc.metadata["contamination"] = json.dumps(match.as_metadata(), sort_keys=True)
        return True


class FilterStage(ShardStage):
    """``maths`` gives the quality filter its maths score and formula masking (see ``curation.quality``)."""

    name = "filter"

    def __init__(self, source: str, settings: FilterSettings, maths: MathsView):
        super().__init__(source)
        self.settings = settings
        self.maths = maths

    def preflight(self) -> None:
        """A missing or unreadable benchmark stops the run before any work (raises ``BenchmarkError``)."""
        if self.settings.decontamination.benchmarks:
            BenchmarkIndex.from_settings(self.settings.decontamination)

    def steps(self, rundir: RunDir) -> list[Step]:
        s = self.settings
        steps: list[Step] = [
            LanguageFilter(languages=s.languages, min_score=s.min_language_score),
            QualityFilter(s.quality, self.maths),
        ]
        if s.decontamination.benchmarks:
            steps.append(DecontaminateStep(s.decontamination))
        return steps
