"""A bad config stops before any work with one line naming the field and what is allowed."""
from __future__ import annotations

import pytest

from conftest import REPO, curate
from pipelines.config import ConfigError, load_config

GOOD = REPO / "pipelines/configs/demo.yaml"


def write(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(GOOD.read_text() + text)
    return p


@pytest.mark.parametrize("extra, field, hint", [
    ("colour: blue\n", "colour", "unknown key"),
    ("extract: {extractor: boilerpipe}\n", "extract.extractor", "'math' or 'trafilatura'"),
    ("extract: {batch_size: 0}\n", "extract.batch_size", "greater than or equal to 1"),
    ("filter: {min_language_score: 2}\n", "filter.min_language_score", "less than or equal to 1"),
    ("mixture: {token_budget: lots}\n", "mixture.token_budget", "valid integer"),
    ("dedup: {exact: true, fuzzyness: 3}\n", "dedup.fuzzyness", "unknown key"),
    ("dedup: {bands: 20, rows: 10}\n", "bands (20) x rows (10) = 200", "num_hashes (260)"),
    ("cleanup: {enabled: true, hook: summarise}\n", "cleanup.hook", "math-cleanup, quality-annotate"),
    ("cleanup: {enabled: true}\nllm: {backend: openai}\n", "llm:", "base_url"),
    ("llm: {backend: gpt}\n", "llm.backend", "'openai', 'transformers' or 'llama_cpp'"),
])
def test_bad_value_names_field_and_allowed(tmp_path, extra, field, hint):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, extra))
    message = str(err.value)
    assert "\n" not in message and field in message and hint in message


def test_search_rounds_must_be_positive(tmp_path):
    text = GOOD.read_text().replace("runs_per_round: [16, 8, 4]", "runs_per_round: [16, 0]")
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="climb.search.runs_per_round"):
        load_config(p)


def test_relative_paths_resolve_against_the_config_file():
    cfg = load_config(GOOD)
    assert cfg.inputs == [str(REPO / "sample/warc/*.warc.gz")]
    assert cfg.climb.search.target == str(REPO / "sample/target/sympy-docs.jsonl")


def test_cli_prints_one_line_and_exits_2(tmp_path):
    proc = curate("run", str(write(tmp_path, "extract: {extractor: nope}\n")), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "extract.extractor" in proc.stderr
    missing = curate("run", str(tmp_path / "absent.yaml"), check=False)
    assert missing.returncode == 2 and "not found" in missing.stderr
