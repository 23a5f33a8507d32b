"""The HTTP backend against `curate serve-llm` serving the real packaged model, directly and through a
fault-injecting proxy on loopback. One server process is shared by the whole session."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from curation.llm import make_backend, run_hook, summarize
from curation.llm.cache import CACHE_FILE

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def served_model():
    """`curate serve-llm` on a free loopback port; yields its /v1 URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve-llm", "--port", "0", "--batch-size", "4", "--threads", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()  # blocks until the model is loaded (or the process dies)
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"serve-llm did not start: {line!r}, exit code {process.poll()}"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


class FaultProxy:
    """A loopback HTTP proxy in front of the real server that injects faults into chat completions.

    ``rules`` maps a marker string to the faults to inject, in order, into requests whose body contains it;
    once a marker's faults are used up its requests pass through. Faults: ``500``, ``429`` (Retry-After: 1),
    ``hang`` (never answers until the proxy closes), ``malformed`` (200 with a body that is not JSON),
    ``length`` (the real reply with ``finish_reason`` rewritten to ``length``).
    """

    def __init__(self, upstream: str, rules: dict[str, list[str]] | None = None):
        self.upstream = upstream.rstrip("/")
        self.rules = {marker: list(faults) for marker, faults in (rules or {}).items()}
        self.forwarded = 0  # chat completions that reached the model
        self.events: list[tuple[float, str, str]] = []  # (time, marker, fault) for each injected fault
        self.pass_times: dict[str, list[float]] = {}  # marker -> when its requests were let through
        self.in_flight = self.max_in_flight = 0
        self.closed = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body: bytes, headers=()):
                try:
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                    self.close_connection = True

            def do_GET(self):
                upstream = requests.get(proxy.upstream + self.path.removeprefix("/v1"), timeout=30)
                self._reply(upstream.status_code, upstream.content, [("Content-Type", "application/json")])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    proxy._handle(self, body)
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _next_fault(self, body: bytes) -> tuple[str, str]:
        text = body.decode("utf-8", "replace")
        with self._lock:
            for marker, faults in self.rules.items():
                if marker in text:
                    if not faults:
                        self.pass_times.setdefault(marker, []).append(time.monotonic())
                        return marker, "pass"
                    fault = faults.pop(0)
                    self.events.append((time.monotonic(), marker, fault))
                    return marker, fault
        return "", "pass"

    def _handle(self, handler, body: bytes) -> None:
        _, fault = self._next_fault(body)
        if fault == "500":
            handler._reply(500, b'{"error": {"message": "injected"}}')
        elif fault == "429":
            handler._reply(429, b'{"error": {"message": "slow down"}}', [("Retry-After", "1")])
        elif fault == "hang":
            self.closed.wait(60)
        elif fault == "malformed":
            handler._reply(200, b'{"choices": [{"message": ', [("Content-Type", "application/json")])
        else:
            with self._lock:
                self.forwarded += 1
            upstream = requests.post(
                self.upstream + "/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=120,
            )
            content = upstream.content
            if fault == "length" and upstream.ok:
                payload = upstream.json()
                payload["choices"][0]["finish_reason"] = "length"
                content = json.dumps(payload).encode()
            handler._reply(upstream.status_code, content, [("Content-Type", "application/json")])

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_factory(served_model):
    proxies = []

    def make(rules=None) -> FaultProxy:
        proxies.append(FaultProxy(served_model, rules))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


# -- the server itself -----------------------------------------------------------------------------------
def test_server_lists_its_model_and_answers_chat_completions(served_model):
    models = requests.get(f"{served_model}/models", timeout=10).json()
    assert models["object"] == "list" and models["data"][0]["id"] == "SmolLM2-135M-Instruct.Q4_1"
    reply = requests.post(
        f"{served_model}/chat/completions",
        timeout=120,
        json={
            "model": "SmolLM2-135M-Instruct.Q4_1",
            "max_tokens": 3,
            "messages": [{"role": "user", "content": "Write a long essay about the number seven."}],
        },
    ).json()
    choice = reply["choices"][0]
    assert reply["object"] == "chat.completion" and choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "length" and reply["usage"]["completion_tokens"] == 3
    assert choice["message"]["content"].strip() and reply["usage"]["prompt_tokens"] > 10


def test_server_refuses_bad_requests_with_a_reason(served_model):
    bad = requests.post(f"{served_model}/chat/completions", json={"messages": "hi"}, timeout=10)
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]
    assert requests.post(f"{served_model}/chat/completions", data=b"{not json", timeout=10).status_code == 400
    assert requests.get(f"{served_model}/nowhere", timeout=10).status_code == 404


# -- faults: every document ends cleaned or with its reason ---------------------------------------------
# a template hook with a short prompt keeps each real generation around a second on a busy CPU, so the
# client timeout that the hung response must trip can stay small
TIDY = {"name": "tidy", "prompt": "Rewrite this neatly:\n{text}"}


def test_cleanup_through_faults_gives_every_document_an_outcome(proxy_factory, tmp_path):
    proxy = proxy_factory(
        {
            "[r500]": ["500", "500"],  # recovers on the 3rd attempt
            "[r429]": ["429"],  # recovers after Retry-After
            "[rhang]": ["hang"],  # times out once, then recovers
            "[rbad]": ["malformed"],  # not retried: recorded
            "[rlen]": ["length"],  # truncated output: recorded, never merged
            "[rdown]": ["500", "500", "500", "500"],  # still failing after the last retry
        }
    )
    texts = [
        "[r500] The area of a circle is pi r^2.",
        "[r429] A prime has exactly two divisors.",
        "[rhang] The sum of angles in a triangle is 180 degrees.",
        "[rbad] Integrate x dx to get x^2/2.",
        "[rlen] The mean of 2 and 4 is 3.",
        "[rdown] sqrt(16) = 4.",
        "First paragraph: let f(x) = x^2.\n\nSecond paragraph: then f'(x) = 2x.\n\nThird paragraph: f''(x) = 2.",
        "The derivative of sin x is cos x.",
    ]
    ids = [f"doc{i}" for i in range(len(texts))]
    backend = make_backend(
        {"base_url": proxy.url, "concurrency": 3, "timeout": 10, "max_retries": 3, "backoff_base": 0.05}
    )
    results = run_hook(TIDY, texts, backend, tmp_path, ids=ids, chunk_tokens=12, max_tokens=8)

    assert [r.id for r in results] == ids  # one result per document, in order: none lost, none duplicated
    by_id = {r.id: r for r in results}
    assert by_id["doc3"].status == "kept" and by_id["doc3"].reason == "malformed_response"
    assert by_id["doc4"].status == "kept" and by_id["doc4"].reason == "truncated"
    assert by_id["doc5"].status == "kept" and by_id["doc5"].reason == "http_500"
    for failed in ("doc3", "doc4", "doc5"):
        assert by_id[failed].text == texts[ids.index(failed)]  # original text kept, nothing half-merged
    for result in results:
        # the tiny model at 8 tokens often truncates; a truncated doc must say so and keep its original text
        assert result.status == "ok" or (result.reason and result.text == texts[ids.index(result.id)])
    assert by_id["doc6"].n_chunks == 3
    assert {fault for _, _, fault in proxy.events} == {"500", "429", "hang", "malformed", "length"}
    assert proxy.rules["[rhang]"] == [] and proxy.rules["[r429]"] == []  # the faults were hit and retried past
    assert backend.stats.retries >= 2 + 1 + 1 + 3 and backend.stats.errors == 2
    assert proxy.max_in_flight <= 3  # bounded concurrency

    # Retry-After: the retry of the rate-limited request came at least a second after the 429
    retry_429 = requests_after(proxy, "[r429]")
    assert retry_429 - next(t for t, marker, _ in proxy.events if marker == "[r429]") >= 1.0

    # rerun with on_failure=drop: answered chunks come from the cache, failures are asked again and dropped
    forwarded_before = proxy.forwarded
    proxy.rules.update({"[rbad]": ["malformed"], "[rdown]": ["500"] * 4})
    again = run_hook(TIDY, texts, backend, tmp_path, ids=ids, chunk_tokens=12, max_tokens=8, on_failure="drop")
    assert [r.id for r in again] == ids
    assert {r.id: r.status for r in again if r.reason in ("malformed_response", "http_500")} == {
        "doc3": "dropped",
        "doc5": "dropped",
    }
    assert all(r.text is None for r in again if r.status == "dropped")
    assert proxy.forwarded == forwarded_before  # every answered chunk (even doc4's truncated one) was cached
    assert summarize(again)["dropped"] == sum(r.status == "dropped" for r in again)


def requests_after(proxy: FaultProxy, marker: str) -> float:
    """When the first request carrying ``marker`` after its faults were used up reached the proxy."""
    return proxy.pass_times[marker][0]


# -- kill midway, rerun: only the missing chunks reach the model ----------------------------------------
RESUME_SCRIPT = textwrap.dedent("""
    import json, sys
    from curation.llm import make_backend, run_hook
    url, cache_dir, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    backend = make_backend({"base_url": url, "concurrency": 1})
    run_hook("math-cleanup", texts, backend, cache_dir, max_tokens=6)
""")


def cached_replies(cache_dir: Path) -> int:
    path = cache_dir / CACHE_FILE
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
        except sqlite3.OperationalError:  # table not created yet
            return 0


def test_a_killed_run_resumes_asking_only_for_missing_chunks(proxy_factory, tmp_path):
    proxy = proxy_factory()
    texts = [f"Exercise {i}: compute {i} + {i}." for i in range(7)]
    texts.insert(3, texts[0])  # a duplicate document: asked once, answered for both
    distinct = len(set(texts))
    run = subprocess.Popen(
        [sys.executable, "-c", RESUME_SCRIPT, proxy.url, str(tmp_path), json.dumps(texts)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 300
        while cached_replies(tmp_path) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(30)
    done = cached_replies(tmp_path)
    assert 2 <= done < distinct, f"the run should have been killed midway ({done} of {distinct} done)"

    proxy.forwarded = 0
    backend = make_backend({"base_url": proxy.url, "concurrency": 2})
    results = run_hook("math-cleanup", texts, backend, tmp_path, max_tokens=6)
    assert proxy.forwarded == distinct - done  # the model was asked only for what the killed run had not saved
    assert backend.stats.requests == distinct - done
    assert cached_replies(tmp_path) == distinct
    assert len(results) == len(texts) and sum(r.cached_chunks for r in results) >= done
    assert all(r.status == "ok" or r.reason for r in results)
    assert results[3].text == results[0].text and results[3].status == results[0].status

    proxy.forwarded = 0
    run_hook("math-cleanup", texts, backend, tmp_path, max_tokens=6)
    assert proxy.forwarded == 0  # a complete rerun asks nothing
