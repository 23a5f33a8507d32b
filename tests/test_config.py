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
        # issue 10: values taken as written, never coerced
        ("mixture: {token_budget: true}\n", "mixture.token_budget", "valid integer"),
        ("classify: {sample_size: 64.0}\n", "classify.sample_size", "valid integer"),
        ("classify: {sample_size: '64'}\n", "classify.sample_size", "valid integer"),
        ("dedup: {exact: 1}\n", "dedup.exact", "valid boolean"),
        # finite floats, everywhere
        ("filter: {min_language_score: .nan}\n", "filter.min_language_score", "finite number"),
        ("filter: {quality: {fineweb: {new_line_ratio: .inf}}}\n", "filter.quality.fineweb.new_line_ratio", "finite"),
        (
            "filter: {quality: {math_aware: {overrides: {c4: {max_word_length: .inf}}}}}\n",
            "filter.quality.math_aware.overrides.c4.max_word_length: got inf",
            "valid integer",
        ),
        # bounds, with the limit in the message
        ("seed: -1\n", "seed", "greater than or equal to 0"),
        (f"seed: {2**70}\n", "seed", "less than or equal to 4294967295"),
        ("dedup: {seed: -1}\n", "dedup.seed", "greater than or equal to 0"),
        ("dedup: {num_hashes: 4096, bands: 4096, rows: 1}\n", "dedup.num_hashes", "less than or equal to 1024"),
        ("dedup: {max_bucket_pairs: 100000}\n", "dedup.max_bucket_pairs", "less than or equal to 256"),
        ("cleanup: {batch_documents: 100000000}\n", "cleanup.batch_documents", "less than or equal to 10000"),
        ("classify: {max_tokens: 10000000}\n", "classify.max_tokens", "less than or equal to 131072"),
        ("mixture: {token_budget: 10000000000000000000}\n", "mixture.token_budget", "less than or equal to"),
        ("filter: {decontamination: {ngram: 100000}}\n", "filter.decontamination.ngram", "less than or equal to 256"),
        ("filter: {quality: {gopher_repetition: {top_n_grams: [[2, 3]]}}}\n", "top_n_grams.0.1", "less than or"),
        ("filter: {quality: {language: klingon}}\n", "filter.quality.language", "no word tokenizer"),
        ("llm: {backend: openai, concurrency: 1000000000}\n", "llm.concurrency", "less than or equal to 1024"),
        ("llm: {backend: transformers, timeout: .inf}\n", "llm.timeout", "finite number"),
        # a path or name that is empty
        ("run_dir: ''\n", "run_dir", "must not be empty"),
        ("inputs: ['  ']\n", "inputs.0", "must not be empty"),
        ("tokens: {tokenizer: ''}\n", "tokens.tokenizer", "must not be empty"),
        ("filter: {decontamination: {benchmarks: ['']}}\n", "filter.decontamination.benchmarks.0", "must not be empty"),
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


def climb(**search) -> str:
    """A ``climb`` section replacing the demo's (the target is only read by the search stage's preflight)."""
    super_clusters = search.pop("super_clusters", 8)
    fields = ", ".join(f"{k}: {v}" for k, v in {"target": "t.jsonl", **search}.items())
    return f"climb: {{super_clusters: {super_clusters}, search: {{{fields}}}}}\n"


@pytest.mark.parametrize(
    "extra, message",
    [
        (climb(candidate_pool=1e9), "climb.search.candidate_pool: got 1000000000.0: Input should be a valid integer"),
        (climb(candidate_pool="1e9"), "climb.search.candidate_pool: got '1e9': Input should be a valid integer"),
        (
            climb(candidate_pool=10**9),
            "climb.search.candidate_pool: got 1000000000: Input should be less than or equal",
        ),
        (climb(candidate_pool=100_000, super_clusters=1000), "above the limit of 10000000"),
        (
            climb(proxy_tokens=1_000_000, super_clusters=1000),
            "climb.search.proxy_tokens: 1000000 tokens x 1000 super-clusters",
        ),
        (climb(runs_per_round=[16, 10**6]), "climb.search.runs_per_round.1: got 1000000: Input should be less than"),
        (climb(runs_per_round=[1] * 1000), "climb.search.runs_per_round: got [1, 1,"),
        (climb(dirichlet_scale=".inf"), "climb.search.dirichlet_scale: got inf: Input should be a finite number"),
        (climb(max_epochs=".nan"), "climb.search.max_epochs: got nan: Input should be a finite number"),
        (climb(narrowing=0), "climb.search.narrowing: got 0: Input should be greater than or equal to 0.001"),
        (
            "climb: {super_clusters: 100000, search: {target: t.jsonl}}\n",
            "climb.super_clusters: got 100000: Input should be",
        ),
    ],
)
def test_memory_sized_climb_settings_are_bounded_before_any_work(tmp_path, extra, message):
    """Issue 10: ``candidate_pool: 1e9`` passed and took 6 GB in the search stage; every setting that sizes an
    allocation has a limit, alone and with the cluster count it multiplies."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, extra))
    assert "\n" not in str(err.value) and message in str(err.value), err.value


ALIAS_BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
run_dir: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"just some words, not settings\n", "expected a mapping of settings at the top level, got text"),
        (b"- run_dir: x\n- seed: 1\n", "expected a mapping of settings at the top level, got a list"),
        (b"42\n", "expected a mapping of settings at the top level, got a number"),
        (bytes(range(256)) * 8, "not UTF-8 text (byte 128)"),
        (ALIAS_BOMB.encode(), "not valid YAML (aliases (*a) are not allowed in a run config at line 2"),
        (b"seed: " + b"9" * 5000 + b"\n", "not valid YAML (a value cannot be read"),
        (b"[" * 50_000, "not valid YAML (nested too deeply)"),
        (b"run_dir: x\n" + b"# padding\n" * 200_000, "larger than 1048576 bytes"),
    ],
)
def test_a_file_that_is_not_a_config_is_one_line_naming_it(tmp_path, content, reason):
    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert str(err.value).startswith(f"{p}: {reason}"), err.value
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_a_directory_or_an_unreadable_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r": is a directory, not a config file$"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"/dev/zero: larger than 1048576 bytes"):  # a file that never ends
        load_config("/dev/zero")
    p = tmp_path / "c.yaml"
    p.write_text(GOOD.read_text())
    p.chmod(0)
    try:
        if p.open("rb"):  # root reads it anyway
            pytest.skip("running as root: file permissions do not apply")
    except PermissionError:
        with pytest.raises(ConfigError, match=r"c.yaml: cannot read the config file \(permission denied\)$"):
            load_config(p)


def test_a_missing_tokenizer_or_embedding_model_stops_at_load(tmp_path):
    """Issue 10: each was first loaded by a stage's workers, after the costly stages before it (the LLM's only
    matter when an LLM stage is on)."""
    for extra, message in [
        ("tokens: {tokenizer: no-such/tokenizer}\n", "tokens.tokenizer: 'no-such/tokenizer' is not 'smollm2'"),
        (f"tokens: {{tokenizer: {tmp_path}}}\n", f"tokens.tokenizer: {tmp_path} is neither a tokenizer.json"),
        ("climb: {embedding_model: /no/model, search: {target: t}}\n", "climb.embedding_model: '/no/model' is not"),
        (f"climb: {{embedding_model: {tmp_path}, search: {{target: t}}}}\n", "a folder without a model"),
        (
            "cleanup: {enabled: true}\nllm: {backend: llama_cpp, model: /no/model.gguf}\n",
            "llm.model: '/no/model.gguf' is not a .gguf file",
        ),
        (
            "classify: {enabled: true}\nllm: {backend: openai, base_url: 'http://h/v1', tokenizer: no/tok}\n",
            "llm.tokenizer: 'no/tok' is not 'smollm2'",
        ),
    ]:
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, extra))
        assert "\n" not in str(err.value) and message in str(err.value), err.value
    bad_json = tmp_path / "tokenizer.json"
    bad_json.write_text("{not json")
    with pytest.raises(ConfigError, match=r"tokens.tokenizer: .*tokenizer.json is not a tokenizer \(JSONDecodeError"):
        load_config(write(tmp_path, f"tokens: {{tokenizer: {bad_json}}}\n"))


def test_the_embed_stage_checks_its_model_up_front(tmp_path):
    from curation.embed import Embedder, EmbedStage

    EmbedStage("dedup", Embedder()).preflight()  # the model distilled from the packaged one
    EmbedStage("dedup", Embedder("minilm")).preflight()  # the packaged model
    with pytest.raises(ValueError, match=r"^climb.embedding_model: 'nope' is not 'model2vec', 'minilm'"):
        EmbedStage("dedup", Embedder("nope")).preflight()


def test_the_configs_accepted_so_far_still_load_with_their_hash(tmp_path):
    """Stricter validation must not refuse a config that ran, nor change the hash its run directory holds."""
    import yaml

    from pipelines.config import parse_config, parse_yaml

    from conftest import make_config

    for path in [*(REPO / "pipelines/configs").glob("*.yaml"), make_config(tmp_path / "c.yaml", tmp_path, tmp_path)]:
        cfg = load_config(path)
        recorded = yaml.safe_dump(cfg.model_dump(), sort_keys=False).encode()  # as the driver records it
        again = parse_config(parse_yaml(recorded, "config.yaml"), tmp_path)
        assert again.content_hash() == cfg.content_hash()


def test_cli_refuses_a_binary_config_in_one_line_with_exit_2(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes(bytes(range(256)))
    proc = curate("run", str(p), check=False)
    assert (
        proc.returncode == 2
        and proc.stderr.strip() == f"curate: config error: {p}: not UTF-8 text (byte 128): not a run config"
    )
