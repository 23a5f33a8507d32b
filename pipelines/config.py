"""The run config: one YAML file, validated on load.

An unknown key or a bad value stops the run before any work with one line naming the field and what is
allowed. Relative paths in the file are resolved against the file's own folder, so a config runs the same
from any working directory.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from curation.decontaminate import DecontaminationConfig
from curation.minhash import DedupConfig
from curation.quality import QualityConfig


class ConfigError(ValueError):
    """A config that cannot run; the message is one line naming the field."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractSettings(Section):
    extractor: Literal["math", "trafilatura"] = "math"
    timeout_s: float = Field(10.0, gt=0, description="per page (trafilatura) or per lynx batch (math)")
    batch_size: int = Field(32, ge=1, le=1024, description="pages per lynx process")
    main_content: bool = True
    max_payload_bytes: int = Field(50_000_000, ge=1024)


class FilterSettings(Section):
    languages: list[str] = Field(default_factory=lambda: ["en"], description="ISO codes kept; empty keeps all")
    min_language_score: float = Field(0.5, ge=0, le=1)
    quality: QualityConfig = QualityConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()


class DedupSettings(DedupConfig):
    """MinHash LSH and URL settings (``curation.minhash.DedupConfig``) plus which passes run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    exact: bool = Field(True, description="exact duplicates on normalised text")
    fuzzy: bool = Field(True, description="near duplicates with MinHash LSH")


class LLMSettings(Section):
    """Backend settings passed to ``curation.llm.backends.make_backend``; fields beyond ``backend`` go to the
    backend's constructor (openai: base_url, model, api_key, concurrency, timeout, max_retries, tokenizer;
    transformers: model, batch_size, threads, device)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: Literal["openai", "transformers", "llama_cpp"] = "transformers"


def _check_hook(spec):
    from curation.llm.hooks import get_hook

    get_hook(spec)  # raises ValueError naming what is allowed
    return spec


HookSpec = Annotated[str | dict, AfterValidator(_check_hook)]  # one validator for every section with a hook


class CleanupSettings(Section):
    enabled: bool = False
    hook: HookSpec = Field("math-cleanup", description="built-in name, module:function, or a template mapping")
    min_math_score: float = Field(0.3, ge=0, le=1, description="documents routed to the LLM; 0 sends all")
    chunk_tokens: int = Field(1024, ge=32)
    max_tokens: int | None = Field(None, ge=1, description="per reply; default: 1.5x the chunk + 32")
    on_failure: Literal["keep", "drop"] = "keep"
    batch_documents: int = Field(32, ge=1)


class ClassifySettings(Section):
    enabled: bool = False
    hook: HookSpec = "quality-annotate"
    sample_size: int = Field(64, ge=5, description="documents the LLM annotates to train the classifier")
    chunk_tokens: int = Field(512, ge=32)
    max_tokens: int | None = Field(None, ge=1)


class TokenSettings(Section):
    tokenizer: str = Field("smollm2", description="'smollm2' (packaged), a tokenizer.json, a folder or HF name")


class SearchSettings(Section):
    target: str = Field(..., description="target validation set: text/jsonl/parquet files (glob, file or folder)")
    runs_per_round: list[int] = Field(default_factory=lambda: [16, 8, 4])
    candidate_pool: int = Field(2000, ge=10)
    dirichlet_scale: float = Field(1.0, gt=0)
    max_epochs: float = Field(15.0, gt=0)
    proxy_order: int = Field(5, ge=1, le=7)
    proxy_tokens: int = Field(200_000, ge=1000)

    @field_validator("runs_per_round")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(n < 1 for n in v):
            raise ValueError("must be a non-empty list of positive run counts, e.g. [16, 8, 4]")
        return v


class ClimbSettings(Section):
    embedding_model: str = Field("minilm", description="'minilm' (packaged all-MiniLM-L6-v2) or a model path")
    n_clusters: int = Field(8, ge=1)
    search: SearchSettings


class MixtureSettings(Section):
    token_budget: int = Field(..., ge=1)


class RunConfig(Section):
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


def _is_url(path: str) -> bool:
    return "://" in path


def _resolve(path: str, base: Path) -> str:
    return path if _is_url(path) or Path(path).is_absolute() else str((base / path).resolve())


def _describe(err: dict) -> str:
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
    return cfg.model_copy(update={
        "run_dir": _resolve(cfg.run_dir, base),
        "inputs": [_resolve(p, base) for p in cfg.inputs],
        "climb": cfg.climb.model_copy(update={"search": search}),
    })


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


def expand_inputs(inputs: list[str]) -> list[str]:
    """Globs expanded (sorted); a path or glob matching nothing stays, so the reader reports it by name."""
    import fsspec

    shards: list[str] = []
    for spec in inputs:
        if any(ch in spec for ch in "*?["):
            fs, _ = fsspec.core.url_to_fs(spec)
            protocol = spec.split("://", 1)[0] + "://" if _is_url(spec) else ""
            matches = sorted(protocol + m if protocol and not m.startswith(protocol) else m for m in fs.glob(spec))
            shards.extend(matches or [spec])
        else:
            shards.append(spec)
    return shards
