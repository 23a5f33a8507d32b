"""The base of every settings class: one YAML section, validated on load, immutable once read.

Each stage's settings class lives beside the stage that reads it (``ExtractSettings`` in ``curation.extract``,
``SearchSettings`` in ``climb.search`` ...); ``pipelines.config.RunConfig`` only assembles them. An unknown key
is an error rather than a silently ignored typo, and a frozen section cannot be changed behind a stage's back
after the run's config hash was taken.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
