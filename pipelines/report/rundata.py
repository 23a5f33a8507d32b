"""A finished (or partly finished) run directory as the report reads it: its recorded config, its stages, and
readers that return ``None`` for a file the run did not write, so each section can say what is missing
instead of failing.

The report reads the run directory alone: the stages come from the config the run recorded
(``RUN/config.yaml``, paths already absolute), listed as ``build_stages`` lists them for the run.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from curation.rundir import RunDir
from curation.stage import Stage

from ..config import MAX_CONFIG_BYTES, ConfigError, RunConfig, parse_config, parse_yaml


class NotARunDir(ValueError):
    """The folder is missing or holds no ``config.yaml``: the message names it."""


def recorded_config(rundir: RunDir, raw: dict | None = None) -> RunConfig:
    """The resolved config a run recorded in ``RUN/config.yaml`` (``ConfigError`` naming it if it is broken);
    ``raw``: the file as :func:`_raw_config` read it, if it was read already."""
    return parse_config(_raw_config(rundir) if raw is None else raw, Path.cwd(), source=rundir.url("config.yaml"))


def _raw_config(rundir: RunDir) -> dict:
    """``RUN/config.yaml`` as parsed YAML (``NotARunDir`` without it, ``ConfigError`` if it is not YAML)."""
    if not rundir.exists("config.yaml"):
        what = "no such run directory" if not rundir.exists() else "no config.yaml: not a run directory"
        raise NotARunDir(f"{rundir.url()}: {what}")
    with rundir.fs.open(rundir.path("config.yaml"), "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    data = parse_yaml(raw, rundir.url("config.yaml"))
    if not isinstance(data, dict):
        raise ConfigError(f"{rundir.url('config.yaml')}: not a mapping: not a run config")
    return data


def recorded_stages(cfg: RunConfig) -> list[Stage]:
    """The run's stages by name and order; the inputs are not listed again (a bucket may be slow to list)."""
    from ..stages import build_stages

    return build_stages(cfg, cfg.inputs)


#: the stage folders in the order ``build_stages`` gives them (classify once came before embed); used only for
#: a run whose recorded config no longer validates because it was made by an older version of the project
FOLDER_ORDER = ("extract", "filter", "dedup", "cleanup", "classify", "embed", "cluster", "search", "mixture")


class RunData:
    """What the report sections read from one run directory; every reader gives ``None`` when its file is absent.

    ``documents_stage`` is the last document stage: the documents that were clustered and sampled into the
    mixture. ``stage_names`` and the few settings the report shows (``seed``, ``inputs``, ``max_epochs``) come
    from the recorded config. A config that no longer validates (a run made by an older version, with keys since
    renamed) does not stop the report: the settings are read from the YAML as it is, the stages are the
    folders present, and ``config_note`` says so."""

    def __init__(self, run_dir: str):
        self.rundir = RunDir(str(run_dir))
        self.config_note: str | None = None
        raw = _raw_config(self.rundir)
        try:
            cfg = recorded_config(self.rundir, raw)
        except ConfigError as err:
            self.config_note = f"the recorded config no longer validates ({err}); stages listed from the folders"
            self.stage_names = [s for s in FOLDER_ORDER if self.rundir.exists(s)]
            self.seed = int(raw.get("seed", 0) or 0)
            self.inputs = [str(i) for i in raw.get("inputs", [])]
            search = (raw.get("climb") or {}).get("search") or {}
            self.max_epochs = float(search.get("max_epochs", 15.0))
            self.documents_stage = (self.manifest or {}).get("source_stage") or _before(self.stage_names, "embed")
        else:
            stages = recorded_stages(cfg)
            self.stage_names = [s.name for s in stages]
            self.seed, self.inputs, self.max_epochs = cfg.seed, list(cfg.inputs), cfg.climb.search.max_epochs
            self.documents_stage = next(s.source_stage for s in stages if s.name == "cluster")

    def json(self, *parts: str) -> Any | None:
        return self.rundir.read_json(*parts) if self.rundir.exists(*parts) else None

    def table(self, *parts: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        if not self.rundir.exists(*parts):
            return None
        return self.rundir.read_table(*parts, columns=columns).to_pandas()

    def documents(self, stage: str, columns: list[str]) -> pd.DataFrame | None:
        """The stage's document parts, concatenated in part order, with ``part`` and ``row`` beside them (the
        columns that exist in the parts; ``None`` if the stage wrote no part)."""
        parts = self.rundir.parts(stage)
        if not parts:
            return None
        frames = []
        for i, part in enumerate(parts):
            with self.rundir.fs.open(self.rundir.path(stage, part), "rb") as f:  # one open: schema, then columns
                pf = pq.ParquetFile(f)
                present = set(pf.schema_arrow.names)
                frame = pf.read(columns=[c for c in columns if c in present]).to_pandas()
            frame["part"], frame["row"] = i, np.arange(len(frame))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def clusters(self) -> dict | None:
        return self.json("cluster", "clusters.json")

    @cached_property
    def best(self) -> dict | None:
        return self.json("search", "best.json")

    @cached_property
    def manifest(self) -> dict | None:
        return self.json("mixture", "manifest.json")


def _before(names: list[str], stage: str) -> str:
    """The folder listed just before ``stage`` (the documents it read), or the last one."""
    return names[names.index(stage) - 1] if stage in names and names.index(stage) else names[-1]
