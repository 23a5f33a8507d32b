"""The run config: one YAML file, validated on load.

Each section's settings class lives beside the stage that reads it; this module only assembles them.

An unknown key or a bad value stops the run before any work with one line naming the field and what is
allowed. Relative paths in the file are resolved against the file's own folder, so a config runs the same
from any working directory.

The file itself is untrusted too: it is read only up to ``MAX_CONFIG_BYTES``, must be UTF-8 text holding a
mapping, and YAML aliases (``*name``) are refused outright, anchors being harmless without them. An alias
repeats a node without copying it in the file, so a few nested ones (an "alias bomb" under 1 KB) expand to
gigabytes when the settings are validated; a config has no need of them, and refusing every alias is simpler
to state and to trust than a count. Duplicate keys are refused as well: YAML would keep the last one silently.
The tokenizer and embedding model a config names are checked to be available (``check_models``) by
``load_config``, so a missing model stops the run now, not after the stages before the one that loads it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from climb.mixture import MixtureSettings
from climb.settings import ClimbSettings
from curation.classify import ClassifySettings
from curation.cleanup import CleanupSettings
from curation.dedup import DedupSettings
from curation.embed import check_model
from curation.extract import ExtractSettings
from curation.filter import FilterSettings
from curation.llm.backends import LLMSettings
from curation.settings import Name, Seed, Settings, describe_error
from curation.tokens import TokenSettings, check_tokenizer

from .inputs import is_url

#: a config is a page of settings; a larger file is a mistake (or an attack), refused before it is parsed
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(ValueError):
    """A config that cannot run; the message is one line naming the field."""


class RunConfig(Settings):
    """The whole run: each section is the settings class of the stage that reads it."""

    run_dir: Name
    inputs: list[Name] = Field(..., min_length=1, description="WARC/WET shards: paths, globs or fsspec URLs")
    seed: Seed = 0
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
            except ValueError as err:  # make_backend's own messages name the field already
                raise ValueError(str(err) if str(err).startswith("llm") else f"llm: {err}") from None
        return self

    def content_hash(self) -> str:
        """Hash of everything that decides the output (not where the run directory is)."""
        data = self.model_dump(exclude={"run_dir"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def check_models(cfg: RunConfig) -> None:
    """Raise ``ValueError`` naming the field if the tokenizer, the embedding model or (when an LLM stage is on)
    the LLM's model or tokenizer is not available here.

    Each is first loaded by a stage deep in the run (tokens by extract's workers, the embedding model by
    classify or embed, the LLM by cleanup or classify), so without this a typo costs every stage before it.
    File-system checks only: nothing is loaded or downloaded. ``load_config`` calls it; the embed stage's
    ``preflight`` checks its model too."""
    check_tokenizer(cfg.tokens.tokenizer)
    check_model(cfg.climb.embedding_model)
    if cfg.cleanup.enabled or cfg.classify.enabled:
        cfg.llm.check_available()


def _resolve(path: str, base: Path) -> str:
    return path if is_url(path) or Path(path).is_absolute() else str((base / path).resolve())


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases (see the module doc for why)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in a run config", event.start_mark
            )
        return super().compose_node(parent, index)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """What is wrong and where, in one line (PyYAML's own message spans several, with a context snippet)."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem:
        mark = err.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{err.problem}{where}"
    return " ".join(str(err).split())


def parse_yaml(raw: bytes, source: str) -> Any:
    """The document in ``raw`` (a config file's bytes), or ``ConfigError`` in one line naming ``source``."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: larger than {MAX_CONFIG_BYTES} bytes: not a run config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{source}: not UTF-8 text (byte {err.start}): not a run config") from None
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader, stricter still
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({_yaml_problem(err)})") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid YAML (nested too deeply)") from None
    except ValueError as err:  # a scalar the constructor cannot hold, e.g. an integer of 5000 digits
        raise ConfigError(f"{source}: not valid YAML (a value cannot be read: {str(err).split(':')[0]})") from None


def parse_config(data: Any, base: Path, source: str = "config") -> RunConfig:
    try:
        cfg = RunConfig.model_validate(_mapping(data, source))
    except ValidationError as err:
        errors = err.errors()
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {describe_error(errors[0])}{extra}") from None
    search = cfg.climb.search.model_copy(update={"target": _resolve(cfg.climb.search.target, base)})
    return cfg.model_copy(
        update={
            "run_dir": _resolve(cfg.run_dir, base),
            "inputs": [_resolve(p, base) for p in cfg.inputs],
            "climb": cfg.climb.model_copy(update={"search": search}),
        }
    )


def _mapping(data: Any, source: str) -> dict:
    """``data`` if it is a mapping, as a config's top level must be; ``ConfigError`` saying what it is if not."""
    if isinstance(data, dict):
        return data
    names = {type(None): "an empty document", str: "text", list: "a list", int: "a number", float: "a number"}
    kind = names.get(type(data), f"a {type(data).__name__}")
    raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {kind}")


def _read(path: Path) -> bytes:
    """The file's bytes, at most one past ``MAX_CONFIG_BYTES`` (a device or pipe may never end)."""
    try:
        with path.open("rb") as f:
            return f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path
        raise ConfigError(f"{path}: cannot read the config file ({getattr(err, 'strerror', None) or err})") from None


def load_config(path: str | Path, overrides: dict | None = None) -> RunConfig:
    """The validated config in the file at ``path`` (``overrides`` replace top-level keys), with its models
    checked to be available; ``ConfigError`` in one line naming the file and the field otherwise."""
    path = Path(path)
    data = parse_yaml(_read(path), str(path))
    data = _mapping({} if data is None else data, str(path))  # an empty file: every required key is missing
    cfg = parse_config({**data, **(overrides or {})}, path.resolve().parent, str(path))
    try:
        check_models(cfg)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None
    return cfg
