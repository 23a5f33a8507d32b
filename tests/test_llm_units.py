"""Fast tests of the LLM hook library's pure parts: chunking, hook resolution and parsing, cache, retries."""
from __future__ import annotations

import multiprocessing
import random
import re

import pytest

from curation.llm.cache import ReplyCache, cache_key
from curation.llm.chunking import merge_chunks, split_into_chunks
from curation.llm.hooks import (
    ANNOTATE,
    MATH_CLEANUP,
    NO_USEFUL_CONTENT,
    QUALITY_ANNOTATE,
    ReplyParseError,
    get_hook,
    parse_quality_score,
)
from curation.llm.openai_http import OpenAIBackend, parse_retry_after
from curation.llm.protocol import Completion


def words(text: str) -> int:
    """A tokenizer stand-in where the token count is easy to reason about: one token per word."""
    return len(text.split())


# -- chunking --------------------------------------------------------------------------------------------
def test_chunks_keep_every_character_and_respect_the_limit():
    rng = random.Random(0)
    paragraphs = [" ".join(f"w{rng.randrange(1000)}" for _ in range(rng.randrange(1, 40))) for _ in range(30)]
    text = "\n\n".join(paragraphs) + "\n"
    chunks = split_into_chunks(text, words, 25)
    assert "".join(chunks) == text
    assert all(words(chunk) <= 25 for chunk in chunks)
    assert len(chunks) > 5


def test_chunks_break_on_paragraph_boundaries_when_paragraphs_fit():
    text = "alpha beta gamma\n\ndelta epsilon\n\nzeta eta theta iota"
    chunks = split_into_chunks(text, words, 5)
    assert chunks == ["alpha beta gamma\n\ndelta epsilon\n\n", "zeta eta theta iota"]


def test_a_paragraph_longer_than_a_chunk_is_split_not_dropped():
    long_paragraph = " ".join(f"t{i}" for i in range(53))
    text = f"short intro\n\n{long_paragraph}\n\nshort outro"
    chunks = split_into_chunks(text, words, 10)
    assert "".join(chunks) == text
    assert all(words(chunk) <= 10 for chunk in chunks)
    assert sum(words(c) for c in chunks) == words(text)


def test_a_single_enormous_word_is_split_by_characters():
    chars = lambda text: len(text)
    blob = "x" * 95
    chunks = split_into_chunks(f"ab\n\n{blob}", chars, 20)
    assert "".join(chunks) == f"ab\n\n{blob}"
    assert all(len(chunk) <= 20 for chunk in chunks)


def test_chunks_hold_the_limit_even_when_token_counts_do_not_add_up():
    """Real tokenizers merge across piece boundaries; a superadditive count makes every packed chunk overshoot
    its summed estimate, which the repair pass must catch."""
    superadditive = lambda text: len(text) ** 2 // 40
    text = "\n\n".join(f"p{i} ab" for i in range(12))
    chunks = split_into_chunks(text, superadditive, 20)
    assert "".join(chunks) == text
    assert all(superadditive(chunk) <= 20 for chunk in chunks)


def test_empty_text_has_no_chunks_and_bad_limit_is_refused():
    assert split_into_chunks("", words, 5) == []
    with pytest.raises(ValueError, match="max_tokens"):
        split_into_chunks("a", words, 0)


def test_merge_joins_in_order_and_skips_blank_outputs():
    assert merge_chunks(["first\n", "  ", "second"]) == "first\n\nsecond"


# -- hooks -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reply, score", [
    ("The text explains limits well.\nEducational score: 4", 4),
    ("Educational Score: **3**", 3),
    ("educational score: 1 ... on reflection, Educational score: 2", 2),
    ("5", 5),
])
def test_quality_score_is_parsed_from_the_reply(reply, score):
    assert parse_quality_score(reply) == score


@pytest.mark.parametrize("reply", ["I think this is good.", "Educational score: 7", "score 3.5 out of 5"])
def test_a_reply_without_a_score_is_a_parse_error(reply):
    with pytest.raises(ReplyParseError):
        parse_quality_score(reply)


def test_math_cleanup_sentinel_means_no_content_and_other_replies_pass_through():
    assert MATH_CLEANUP.parse(f"  {NO_USEFUL_CONTENT}.\n") is None
    assert MATH_CLEANUP.parse("$x^2$ is a square.\n") == "$x^2$ is a square."
    system, user = MATH_CLEANUP.build_messages("page text")
    assert system["role"] == "system" and "LaTeX" in system["content"] and NO_USEFUL_CONTENT in system["content"]
    assert user == {"role": "user", "content": "page text"}


def test_builtin_names_resolve_and_unknown_names_are_refused():
    assert get_hook("math-cleanup") is MATH_CLEANUP
    assert get_hook("quality-annotate") is QUALITY_ANNOTATE and QUALITY_ANNOTATE.mode == ANNOTATE
    with pytest.raises(ValueError, match="unknown hook 'cleanup'"):
        get_hook("cleanup")
    with pytest.raises(ValueError, match="cannot load"):
        get_hook("no_such_module_xyz:fn")


def test_template_hook_from_config():
    hook = get_hook({"name": "grade", "system": "You grade.", "prompt": "Grade this:\n{text}", "mode": "annotate",
                     "value_pattern": r"grade:\s*(\d+)"})
    assert hook.build_messages("2+2=4") == [{"role": "system", "content": "You grade."},
                                             {"role": "user", "content": "Grade this:\n2+2=4"}]
    assert hook.parse("Grade: 3 ... final grade: 4") == 4
    with pytest.raises(ReplyParseError):
        hook.parse("no grade")
    other = get_hook({"name": "grade", "system": "You grade.", "prompt": "Grade it:\n{text}", "mode": "annotate",
                      "value_pattern": r"grade:\s*(\d+)"})
    assert other.fingerprint != hook.fingerprint  # an edited prompt must not reuse cached replies


@pytest.mark.parametrize("spec, message", [
    ({"name": "x", "prompt": "no placeholder"}, "{text}"),
    ({"name": "x", "prompt": "{text}", "mode": "annotate"}, "value_pattern"),
    ({"name": "x", "prompt": "{text}", "temprature": 0}, "unknown field"),
    ({"prompt": "{text}"}, "'name' is required"),
])
def test_template_hook_errors_name_the_field(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        get_hook(spec)


def shout_prompt(chunk: str) -> str:
    return f"Repeat in capitals: {chunk}"


def test_callable_hook_named_module_function():
    hook = get_hook(f"{__name__}:shout_prompt")
    assert hook.build_messages("abc") == [{"role": "user", "content": "Repeat in capitals: abc"}]
    assert hook.parse(" ABC ") == "ABC"
    assert hook.fingerprint


# -- cache -----------------------------------------------------------------------------------------------
def _key(chunk: str, **overrides) -> str:
    settings = {"hook": "h", "fingerprint": "f", "model": "m", "max_tokens": 8, "temperature": 0.0, "seed": 0,
                "chunk": chunk}
    settings.update(overrides)
    return cache_key(**settings)


def test_cache_key_changes_with_everything_that_changes_the_reply():
    base = _key("c")
    for change in ({"hook": "h2"}, {"fingerprint": "f2"}, {"model": "m2"}, {"max_tokens": 9},
                   {"temperature": 0.5}, {"seed": 1}, {"chunk": "d"}):
        assert _key(**{"chunk": "c", **change}) != base
    assert _key("c") == base


def test_cache_round_trip_survives_reopening(tmp_path):
    with ReplyCache(tmp_path) as cache:
        cache.put(_key("a"), Completion("A", "stop", 5, 1), hook="h", model="m")
        cache.put(_key("b"), Completion("B", "length", 5, 8), hook="h", model="m")
    with ReplyCache(tmp_path) as cache:
        found = cache.get_many([_key("a"), _key("b"), _key("missing")])
    assert found == {_key("a"): Completion("A", "stop", 5, 1), _key("b"): Completion("B", "length", 5, 8)}


def _write_keys(directory: str, prefix: str, n: int) -> None:
    with ReplyCache(directory) as cache:
        for i in range(n):
            cache.put(_key(f"{prefix}{i}"), Completion(f"{prefix}{i}", "stop"), hook="h", model="m")


def test_cache_is_safe_for_concurrent_processes(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_keys, args=(str(tmp_path), prefix, 150)) for prefix in "pq"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with ReplyCache(tmp_path) as cache:
        assert len(cache) == 300


# -- HTTP retry policy -----------------------------------------------------------------------------------
def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_is_jittered_capped_and_honours_retry_after():
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", backoff_base=0.1, backoff_max=2.0)
    delays = [backend._backoff(attempt, None) for attempt in range(8)]
    assert 0.05 <= delays[0] <= 0.1 and 0.4 <= delays[3] <= 0.8
    assert max(delays) <= 2.0
    assert backend._backoff(0, 1.5) >= 1.5
    assert backend._backoff(0, 500.0) == 2.0  # a server asking for minutes is capped at backoff_max


def test_http_backend_needs_a_base_url(monkeypatch):
    for name in ("CURATION_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="base_url"):
        OpenAIBackend()
    monkeypatch.setenv("CURATION_LLM_BASE_URL", "http://127.0.0.1:1/v1/")
    monkeypatch.setenv("CURATION_LLM_MODEL", "phi-4")
    backend = OpenAIBackend()
    assert backend.base_url == "http://127.0.0.1:1/v1" and backend.model == "phi-4"


# -- quality classifier ----------------------------------------------------------------------------------
def test_quality_classifier_learns_a_score_from_embeddings_and_reports_heldout_error():
    import numpy as np

    from curation.llm.classify import predict_quality, train_quality_classifier

    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(200, 16))
    scores = np.clip(np.round(2.5 + 1.5 * embeddings[:, 0] + rng.normal(scale=0.2, size=200)), 0, 5)
    model, mae = train_quality_classifier(embeddings, scores, random_state=0)
    baseline = float(np.mean(np.abs(scores - scores.mean())))
    assert mae < baseline / 2
    predictions = predict_quality(model, embeddings * 10)
    assert predictions.min() >= 0 and predictions.max() <= 5
    again, mae_again = train_quality_classifier(embeddings, scores, random_state=0)
    assert mae_again == mae and np.array_equal(again.coef_, model.coef_)
    with pytest.raises(ValueError, match="at least 5"):
        train_quality_classifier(embeddings[:3], scores[:3], random_state=0)
