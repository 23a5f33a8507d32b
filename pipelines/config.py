"""The run config: one YAML file, validated on load.

Each section's settings class lives beside the stage that reads it; this module only assembles them.

An unknown key or a bad value stops the run before any work with one line naming the field and what is
allowed. Relative paths in the file are resolved against the file's own folder, so a config runs the same
from any working directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from climb.mixture import MixtureSettings
from climb.settings import ClimbSettings
from curation.classify import ClassifySettings
from curation.cleanup import CleanupSettings
from curation.dedup import DedupSettings
from curation.extract import ExtractSettings
from curation.filter import FilterSettings
from curation.llm.backends import LLMSettings
from curation.settings import Settings
from curation.tokens import TokenSettings

from .inputs import is_url


class ConfigError(ValueError):
    """A config that cannot run; the message is one line naming the field."""


class RunConfig(Settings):
    """The whole run: each section is the settings class of the stage that reads it."""

    run_dir: str
    inputs: list[str] = Field(..., min_length=1, description="WARC/WET shards: paths, globs or fsspec URLs")
    seed: int = 0
    extract: ExtractSettings = ExtractSettings()
    filter: FilterSettings = FilterSettings()
    dedup: DedupSettings = DedupSettings()
    tokens: TokenSettings = TokenSettings()
    llm: LLMSettings = LLMSettings()
    cleanup: CleanupSettings = CleanupSettings()
    classify: ClassifySettings = ClassifySettings()
    climb: ClimbSettings
    mixture: MixtureSettings

    @model_validator(mode="after")
    def _backend_buildable(self) -> RunConfig:
        if self.cleanup.enabled or self.classify.enabled:
            from curation.llm.backends import make_backend

            try:
                make_backend(self.llm.model_dump())  # constructors only store settings and check them
            except ValueError as err:
                raise ValueError(f"llm: {err}") from None
        return self

    def content_hash(self) -> str:
        """Hash of everything that decides the output (not where the run directory is)."""
        data = self.model_dump(exclude={"run_dir"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _resolve(path: str, base: Path) -> str:
    return path if is_url(path) or Path(path).is_absolute() else str((base / path).resolve())


def _describe(err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "missing":
        return f"{where}: required but missing"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        named = _self_named(message, loc)
        if named is not None:
            return named
    if kind == "literal_error":
        return f"{where}: got {err.get('input')!r}, allowed: {err['ctx']['expected']}"
    return f"{where}: got {err.get('input')!r}: {message}"


def _self_named(message: str, loc: list[str]) -> str | None:
    """A validator message that names its own field, completed to the full path; None if it names none.

    A whole-config check (empty location) names its field itself (``llm: ...``); a section validator may start
    with a name on its location path (``dedup: ...``, ``math_aware.overrides.c4: ...``), which is then prefixed
    with the path above that name, instead of repeating the location and the value in front of it."""
    if not loc:
        return message
    head, sep, _ = message.partition(": ")
    first = head.split(".")[0]
    if not sep or first not in loc:
        return None
    above = loc[: max(i for i, p in enumerate(loc) if p == first)]  # the deepest: validators sit low
    return ".".join([*above, message]) if above else message


def parse_config(data: dict, base: Path, source: str = "config") -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{extra}") from None
    search = cfg.climb.search.model_copy(update={"target": _resolve(cfg.climb.search.target, base)})
    return cfg.model_copy(
        update={
            "run_dir": _resolve(cfg.run_dir, base),
            "inputs": [_resolve(p, base) for p in cfg.inputs],
            "climb": cfg.climb.model_copy(update={"search": search}),
        }
    )


def load_config(path: str | Path, overrides: dict | None = None) -> RunConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    data = {**(data or {}), **(overrides or {})}
    return parse_config(data, path.resolve().parent, str(path))
