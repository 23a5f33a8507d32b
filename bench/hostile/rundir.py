"""Run-directory misuse: a shard listed twice or copied, inputs changed under a run, a run directory inside the
inputs, two runs on one directory. Every shard is a copy of the bundled sample WARC."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample/warc/debian-maths-docs.warc.gz"


def _config(work: Path, inputs: list[str], run_dir: Path) -> Path:
    demo = yaml.safe_load((REPO / "pipelines/configs/demo.yaml").read_text())
    demo.update(run_dir=str(run_dir), inputs=inputs)
    demo["climb"]["search"]["target"] = str(REPO / "sample/target/sympy-docs.jsonl")
    path = work / "run.yaml"
    path.write_text(yaml.safe_dump(demo))
    return path


def _shards(work: Path, *names: str) -> Path:
    folder = work / "shards"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(SAMPLE, folder / name)
    return folder


def _claim(cfg: Path) -> str:
    from pipelines.config import load_config
    from pipelines.run import claimed_run

    try:
        with claimed_run(load_config(cfg)):
            return "claimed"
    except Exception as err:  # noqa: BLE001 - the outcome is the message
        return f"refused: {type(err).__name__}: {err}"


def copied_shard_kept_once(work: Path) -> str:
    """The same shard under two names and, literally, twice in the list: every document is kept exactly once."""
    from curation.executor import Executor
    from pipelines.config import load_config
    from pipelines.run import claimed_run, run_stages

    folder = _shards(work, "a.warc.gz", "b.warc.gz")
    cfg = load_config(_config(work, [str(folder / "*.warc.gz"), str(folder / "a.warc.gz")], work / "run"))
    with claimed_run(cfg) as (rundir, stages), Executor(workers=1, progress=False) as ex:
        run_stages(stages[:3], rundir, ex, echo=lambda m: None)
        one = rundir.read_table("filter", rundir.parts("filter")[0], columns=["url"])["url"].to_pylist()
        urls = [
            u for p in rundir.parts("dedup") for u in rundir.read_table("dedup", p, columns=["url"])["url"].to_pylist()
        ]
    lost = set(one) - set(urls)
    twice = len(urls) - len(set(urls))
    return f"{len(one)} documents per copy, {len(urls)} after dedup: {len(lost)} lost, {twice} kept twice"


def shard_added_after_start(work: Path) -> str:
    folder = _shards(work, "a.warc.gz", "c.warc.gz")
    cfg = _config(work, [str(folder / "*.warc.gz")], work / "run")
    _claim(cfg)
    shutil.copy(SAMPLE, folder / "b.warc.gz")
    return _claim(cfg)


def run_dir_inside_inputs(work: Path) -> str:
    folder = _shards(work, "a.warc.gz")
    return _claim(_config(work, [str(folder / "**")], folder / "run"))


def second_run_on_a_busy_directory(work: Path) -> str:
    from curation.rundir import RunDir, RunLock

    folder = _shards(work, "a.warc.gz")
    cfg = _config(work, [str(folder / "*.warc.gz")], work / "run")
    with RunLock(RunDir(str(work / "run"))):
        return _claim(cfg)


CASES: dict[str, Callable[[Path], str]] = {
    "shard copied and listed twice": copied_shard_kept_once,
    "shard added after the run started": shard_added_after_start,
    "run_dir inside the input glob": run_dir_inside_inputs,
    "second run on a busy run_dir": second_run_on_a_busy_directory,
}
