"""Hostile run configs (issue 10): files that are not configs, an alias bomb, values that would be coerced, are
not finite, size an allocation past reason, or name a model that is not there.

Each case writes its config under the folder it is given and sends it through ``pipelines.config.load_config``,
then, if that accepts it, through ``pipelines.run.prepare_run`` (the stages' preflight; nothing is written), as
``curate run`` does. The outcome is the one-line refusal, or ``ACCEPTED`` when a config passed both, which for
every case here is a defect.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "pipelines" / "configs" / "demo.yaml"


def _outcome(path: pathlib.Path) -> str:
    from pipelines.config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError as err:
        return f"refused at load: {err}"
    from pipelines.run import prepare_run

    try:
        prepare_run(cfg)
    except (ValueError, OSError) as err:
        return f"refused by preflight: {err}"
    return "ACCEPTED"


def _raw(content: bytes) -> Callable[[pathlib.Path], str]:
    def case(folder: pathlib.Path) -> str:
        path = folder / "config.yaml"
        path.write_bytes(content)
        return _outcome(path)

    return case


def _demo_with(section: str | None, **changes: Any) -> Callable[[pathlib.Path], str]:
    """The demo config with absolute paths (it runs from any folder), a run directory in the case's folder, and
    ``changes`` made at the top level or in ``section`` (a dotted path)."""

    def case(folder: pathlib.Path) -> str:
        data = yaml.safe_load(DEMO.read_text())
        data["run_dir"] = str(folder / "run")
        data["inputs"] = [str(REPO / "sample" / "warc" / "*.warc.gz")]
        data["climb"]["search"]["target"] = str(REPO / "sample" / "target" / "sympy-docs.jsonl")
        target = data
        for key in section.split(".") if section else []:
            target = target.setdefault(key, {})
        target.update(changes)
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return _outcome(path)

    return case


def _directory(folder: pathlib.Path) -> str:
    path = folder / "config.yaml"
    path.mkdir()
    return _outcome(path)


_ALIAS_BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["run_dir: *a8", ""]
).encode()  # 9**9 strings from 0.6 KB

CASES: dict[str, Callable[[pathlib.Path], str]] = {
    "text": _raw(b"This is a note about the run, not a config.\n"),
    "list": _raw(b"- run_dir: runs/x\n- seed: 1\n"),
    "binary": _raw(bytes(range(256)) * 16),
    "directory": _directory,
    "alias bomb": _raw(_ALIAS_BOMB),
    "candidate_pool 1e9": _demo_with("climb.search", candidate_pool=10**9),
    "token_budget true": _demo_with("mixture", token_budget=True),
    'run_dir ""': _demo_with(None, run_dir=""),
    "seed -1": _demo_with(None, seed=-1),
    "seed 2**70": _demo_with(None, seed=2**70),
    "missing tokenizer": _demo_with("tokens", tokenizer="/no/such/tokenizer.json"),
    "missing embedding model": _demo_with("climb", embedding_model="/no/such/model"),
    "dirichlet_scale .inf": _demo_with("climb.search", dirichlet_scale=float("inf")),
}
