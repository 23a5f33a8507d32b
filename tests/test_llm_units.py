"""Fast tests of the LLM hook library's pure parts: chunking, hook resolution and parsing, cache, retries."""

from __future__ import annotations

import multiprocessing
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from curation.llm.cache import ReplyCache, cache_key
from curation.llm.chunking import (
    merge_chunks,
    split_into_chunks,
    split_into_counted_chunks,
)
from curation.llm.hooks import (
    ANNOTATE,
    MATH_CLEANUP,
    NO_USEFUL_CONTENT,
    QUALITY_ANNOTATE,
    QUALITY_ANNOTATE_SYSTEM,
    Hook,
    ReplyParseError,
    get_hook,
    parse_quality_score,
    prompt_fingerprint,
)
from curation.llm.openai_http import OpenAIBackend, parse_retry_after
from curation.llm.protocol import (
    BackendError,
    ChatRequest,
    Completion,
    complete_one,
    completion_from_payload,
)


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
    assert split_into_counted_chunks(text, words, 25) == [(chunk, words(chunk)) for chunk in chunks]


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
    chars = len
    blob = "x" * 95
    chunks = split_into_chunks(f"ab\n\n{blob}", chars, 20)
    assert "".join(chunks) == f"ab\n\n{blob}"
    assert all(len(chunk) <= 20 for chunk in chunks)


def test_chunks_hold_the_limit_even_when_token_counts_do_not_add_up():
    """Real tokenizers merge across piece boundaries; a superadditive count makes every packed chunk overshoot
    its summed estimate, which the repair pass must catch."""

    def superadditive(text: str) -> int:
        return len(text) ** 2 // 40

    text = "\n\n".join(f"p{i} ab" for i in range(12))
    chunks = split_into_chunks(text, superadditive, 20)
    assert "".join(chunks) == text
    assert all(superadditive(chunk) <= 20 for chunk in chunks)
    # the counts handed to the runner are the real ones, also for chunks the repair pass re-packed
    assert split_into_counted_chunks(text, superadditive, 20) == [(chunk, superadditive(chunk)) for chunk in chunks]


def test_empty_text_has_no_chunks_and_bad_limit_is_refused():
    assert split_into_chunks("", words, 5) == []
    with pytest.raises(ValueError, match="max_tokens"):
        split_into_chunks("a", words, 0)


def test_merge_joins_in_order_and_skips_blank_outputs():
    assert merge_chunks(["first\n", "  ", "second"]) == "first\n\nsecond"


# -- hooks -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply, score",
    [
        ("The text explains limits well.\nEducational score: 4", 4),
        ("Educational Score: **3**", 3),
        ("educational score: 1 ... on reflection, Educational score: 2", 2),
        ("5", 5),
    ],
)
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
    hook = get_hook(
        {
            "name": "grade",
            "system": "You grade.",
            "prompt": "Grade this:\n{text}",
            "mode": "annotate",
            "value_pattern": r"grade:\s*(\d+)",
        }
    )
    assert hook.build_messages("2+2=4") == [
        {"role": "system", "content": "You grade."},
        {"role": "user", "content": "Grade this:\n2+2=4"},
    ]
    assert hook.parse("Grade: 3 ... final grade: 4") == 4
    with pytest.raises(ReplyParseError):
        hook.parse("no grade")
    other = get_hook(
        {
            "name": "grade",
            "system": "You grade.",
            "prompt": "Grade it:\n{text}",
            "mode": "annotate",
            "value_pattern": r"grade:\s*(\d+)",
        }
    )
    assert other.fingerprint != hook.fingerprint  # an edited prompt must not reuse cached replies
    reparsed = get_hook(
        {
            "name": "grade",
            "system": "You grade.",
            "prompt": "Grade this:\n{text}",
            "mode": "annotate",
            "value_pattern": r"mark:\s*(\d+)",
        }
    )
    assert reparsed.fingerprint == hook.fingerprint  # a parser edit reads the cached raw replies again


def test_fingerprint_covers_the_whole_prompt_and_nothing_else():
    """The built-ins hash the messages they send, user template included, not only their system prompt."""
    assert QUALITY_ANNOTATE.fingerprint == prompt_fingerprint(QUALITY_ANNOTATE.build_messages)
    new_template = Hook(
        "quality-annotate",
        lambda chunk: [
            {"role": "system", "content": QUALITY_ANNOTATE_SYSTEM},
            {"role": "user", "content": f"Page:\n{chunk}"},
        ],
        parse_quality_score,
        mode=ANNOTATE,
        max_tokens=128,
    )
    assert new_template.fingerprint != QUALITY_ANNOTATE.fingerprint
    new_parser = Hook(
        "quality-annotate", QUALITY_ANNOTATE.build_messages, lambda reply: 0, mode=ANNOTATE, max_tokens=128
    )
    assert new_parser.fingerprint == QUALITY_ANNOTATE.fingerprint
    assert MATH_CLEANUP.fingerprint not in ("", QUALITY_ANNOTATE.fingerprint)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "x", "prompt": "no placeholder"}, "{text}"),
        ({"name": "x", "prompt": "{text}", "mode": "annotate"}, "value_pattern"),
        ({"name": "x", "prompt": "{text}", "temprature": 0}, "unknown field"),
        ({"prompt": "{text}"}, "'name' is required"),
    ],
)
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
    settings = {
        "hook": "h",
        "fingerprint": "f",
        "model": "m",
        "max_tokens": 8,
        "temperature": 0.0,
        "seed": 0,
        "chunk": chunk,
    }
    settings.update(overrides)
    return cache_key(**settings)


def test_cache_key_changes_with_everything_that_changes_the_reply():
    base = _key("c")
    for change in (
        {"hook": "h2"},
        {"fingerprint": "f2"},
        {"model": "m2"},
        {"max_tokens": 9},
        {"temperature": 0.5},
        {"seed": 1},
        {"chunk": "d"},
    ):
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


class BrokenTransferServer:
    """A loopback server whose answers break mid-transfer (a chunked body with an unreadable chunk size), which
    requests raises as ``ChunkedEncodingError`` rather than a ``ConnectionError``. ``GET /v1/models`` breaks
    ``broken_listings`` times and then answers; every ``POST`` breaks."""

    def __init__(self, broken_listings: int):
        self.broken_listings, self.gets, self.posts = broken_listings, 0, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _broken(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"zz\r\n{}\r\n")
                self.close_connection = True

            def do_GET(self):
                server.gets += 1
                if server.gets <= server.broken_listings:
                    return self._broken()
                body = b'{"object": "list", "data": [{"id": "m"}]}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.posts += 1
                self._broken()

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def test_a_transfer_broken_midway_is_retried_and_then_fails_only_its_request():
    server = BrokenTransferServer(broken_listings=2)
    try:
        backend = OpenAIBackend(server.url, max_retries=2, backoff_base=0.01, timeout=10)
        assert backend.model == "m"  # GET /models is retried like a completion: two blips cost nothing
        assert server.gets == 3 and backend.stats.retries == 2
        with pytest.raises(BackendError) as failed:
            complete_one(backend, ChatRequest([{"role": "user", "content": "hi"}], 4))
        assert failed.value.reason == "connection_error" and "after 3 attempts" in failed.value.detail
        assert server.posts == 3 and backend.stats.errors == 1
    finally:
        server.close()


def test_a_models_listing_that_keeps_failing_is_a_backend_error_after_the_retries():
    server = BrokenTransferServer(broken_listings=10)
    try:
        backend = OpenAIBackend(server.url, max_retries=1, backoff_base=0.01, timeout=10)
        with pytest.raises(BackendError, match="after 2 attempts") as failed:
            _ = backend.model
        assert failed.value.reason == "connection_error" and server.gets == 2
    finally:
        server.close()


def test_completion_payloads_are_read_one_way_and_bad_shapes_are_malformed():
    payload = {
        "choices": [{"message": {"role": "assistant", "content": "4"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1},
    }
    assert completion_from_payload(payload) == Completion("4", "length", 9, 1)
    assert completion_from_payload({"choices": [{"message": {"content": None}}]}) == Completion("", "stop", 0, 0)
    for bad in ({"choices": []}, {"choices": [{"text": "4"}]}, "not a dict", None):
        with pytest.raises(BackendError) as failed:
            completion_from_payload(bad)
        assert failed.value.reason == "malformed_response"


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

    from curation.classify import predict_quality, train_quality_classifier

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
