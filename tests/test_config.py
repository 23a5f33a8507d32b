"""A bad config stops before any work with one line naming the field and what is allowed."""

from __future__ import annotations

import pytest

from pipelines.config import ConfigError, load_config

from conftest import REPO, curate

GOOD = REPO / "pipelines/configs/demo.yaml"


def write(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(GOOD.read_text() + text)
    return p


@pytest.mark.parametrize(
    "extra, field, hint",
    [
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
    ],
)
def test_bad_value_names_field_and_allowed(tmp_path, extra, field, hint):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, extra))
    message = str(err.value)
    assert "\n" not in message and field in message and hint in message


def test_nested_validator_message_names_the_field_once(tmp_path):
    """The quality validator starts its message with ``math_aware.overrides``: completed to the full path, not
    repeated after a ``got {...}`` of the whole mapping."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "filter: {quality: {math_aware: {overrides: {nope: {}}}}}\n"))
    message = str(err.value)
    assert message.endswith(
        ": filter.quality.math_aware.overrides: unknown filter 'nope'; "
        "known: gopher_repetition, gopher_quality, c4, fineweb"
    ), message
    assert message.count("overrides") == 1 and ": got " not in message


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


def test_bad_climb_target_stops_before_any_work(tmp_path):
    """The target set is first read by the proxy runs, after every costly stage: it is checked up front."""
    (tmp_path / "blank.jsonl").write_text('{"text": "  "}\n')
    for target, error in [("absent.jsonl", "no file matches {}"), ("blank.jsonl", "{} holds no text")]:
        p = tmp_path / "c.yaml"
        p.write_text(
            GOOD.read_text().replace("../../sample/target/sympy-docs.jsonl", target).replace("../../runs/demo", "run")
        )
        proc = curate("run", str(p), "--quiet", "--workers", "1", check=False)
        last = proc.stderr.strip().splitlines()[-1]
        assert proc.returncode == 1 and last == "curate: climb.search.target: " + error.format(tmp_path / target), (
            proc.stderr
        )
        assert not (tmp_path / "run").exists()
