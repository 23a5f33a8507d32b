"""The filter stage: language identification (and, as they are added, the quality rules), per shard."""
from __future__ import annotations

from .langid import LanguageFilter
from .stage import ShardStage


class FilterStage(ShardStage):
    name = "filter"
    source = "extract"

    def __init__(self, settings):
        self.settings = settings

    def steps(self, rundir) -> list:
        s = self.settings
        return [LanguageFilter(languages=s.languages, min_score=s.min_language_score)]
