"""`curate serve-llm` under hostile clients: every limit of `curation.llm.server` on a real loopback socket.

The refusals that come before the model (body size, slow or short bodies, connections, fields, keys, binds) run
against a server whose packaged model is never loaded, so they are fast; those about generation (context,
disconnects, time budget, shutdown) load the real model once for the module and are marked slow.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from curation.llm.local_model import TransformersBackend
from curation.llm.openai_http import OpenAIBackend
from curation.llm.server import make_server
from curation.llm.server_limits import ENV_API_KEY, ServerLimits, check_bind, is_loopback

REPO = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"


@contextmanager
def serving(backend: TransformersBackend | None = None, **options) -> Iterator[tuple[str, int]]:
    """A real server on a free loopback port, serving from a thread; yields (base URL, port)."""
    server = make_server(backend or TransformersBackend(threads=1), "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.shutdown()
        server.server_close()


def exchange(port: int, data: bytes, wait: float = 10.0) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes (or ``wait`` passes); the reply and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return reply, time.monotonic() - started


def post_head(length: int | str) -> bytes:
    return f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()


def chat(max_tokens: int = 3, content: str = "Say hi.", **fields) -> dict:
    return {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, **fields}


# -- refusals before the model ---------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_unread_with_413():
    with serving(limits=ServerLimits(max_body_bytes=1000)) as (url, port):
        reply, seconds = exchange(port, post_head(50_000_000) + b'{"messages": ')  # declares 50 MB, sends 13 bytes
        assert reply.startswith(b"HTTP/1.1 413") and b"over this server's limit of 1000 bytes" in reply
        assert seconds < 5  # answered from the header, without waiting for (or reading) the body
        # the real client, sending a body over the limit, is told why
        refused = requests.post(url + CHAT, json=chat(content="x" * 5000), timeout=10)
        assert refused.status_code == 413 and "1000 bytes" in refused.json()["error"]["message"]
        # a body without Content-Length is not read at all
        chunked, _ = exchange(port, f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        assert chunked.startswith(b"HTTP/1.1 411")


def test_a_body_shorter_than_its_content_length_gets_408_and_frees_its_thread():
    with serving(limits=ServerLimits(read_timeout=0.5, max_connections=1)) as (url, port):
        reply, seconds = exchange(port, post_head(100) + b'{"messages"')
        assert reply.startswith(b"HTTP/1.1 408") and b"not received in time" in reply
        assert 0.4 < seconds < 3
        # a client trickling its headers a byte at a time is cut off on the same deadline, not per byte
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            try:
                for byte in post_head(10):
                    sock.sendall(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                pass
        assert time.monotonic() - started < 3
        # the only connection slot is free again
        assert requests.get(url + "/health", timeout=5).status_code == 200


def test_connections_over_the_cap_are_answered_503():
    with serving(limits=ServerLimits(max_connections=2, read_timeout=5)) as (url, port):
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(b"GET /health HTTP/1.1\r\n")  # a request begun and never finished
            time.sleep(0.2)
            reply, seconds = exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 503") and b"2 connections" in reply and seconds < 2
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.3)
        assert requests.get(url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"max_tokens": 10**9}, "max_tokens must be an integer from 1 to 64 (this server's limit)"),
        ({"max_completion_tokens": 0}, "max_completion_tokens must be an integer from 1 to 64"),
        ({"max_tokens": True}, "max_tokens must be an integer"),
        ({"max_tokens": "5"}, "max_tokens must be an integer"),
        ({"n": 2}, "n must be an integer from 1 to 1"),
        ({"n": True}, "n must be an integer from 1 to 1"),
        ({"temperature": -1}, "temperature must be a number from 0 to 2"),
        ({"temperature": 1e308 * 10}, "temperature must be a number from 0 to 2"),
        ({"seed": -1}, "seed must be an integer from 0"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages must be"),
    ],
)
def test_request_fields_are_validated_naming_the_field(fields, named):
    with serving(limits=ServerLimits(max_tokens=64, default_max_tokens=16)) as (url, _):
        body = {**chat(), **fields}
        if "max_completion_tokens" in fields:
            del body["max_tokens"]
        refused = requests.post(url + CHAT, data=json.dumps(body), timeout=10)  # json.dumps writes inf as Infinity
        assert refused.status_code == 400 and named in refused.json()["error"]["message"]


def test_a_key_is_required_when_set():
    with serving(api_key="s3cret") as (url, _):
        assert requests.get(url + "/v1/models", timeout=5).status_code == 401
        wrong = requests.post(url + CHAT, json=chat(), headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401 and "Authorization: Bearer" in wrong.json()["error"]["message"]
        assert requests.get(url + "/health", timeout=5).status_code == 200  # liveness stays open
        # the HTTP backend sends its key as a bearer token
        assert OpenAIBackend(url + "/v1", api_key="s3cret").model == "SmolLM2-135M-Instruct.Q4_1"


def test_binding_off_loopback_needs_allow_remote_and_a_key():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("no-such-host.invalid")
    with pytest.raises(ValueError, match="not a loopback address.*--allow-remote"):
        make_server(TransformersBackend(), "0.0.0.0", 0)
    with pytest.raises(ValueError, match="needs an API key"):
        check_bind("0.0.0.0", allow_remote=True, api_key=None)
    check_bind("0.0.0.0", allow_remote=True, api_key="k")  # both given: allowed


@pytest.mark.parametrize("extra", [[], ["--allow-remote"]])
def test_serve_llm_refuses_a_non_loopback_host_at_once(extra):
    env = {name: value for name, value in os.environ.items() if name != ENV_API_KEY}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "serve-llm", "--host", "0.0.0.0", "--port", "0", *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "0.0.0.0" in done.stderr
    assert ("needs an API key" if extra else "--allow-remote") in done.stderr
    assert time.monotonic() - started < 30  # refused before loading the model


# -- generation: the real model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return TransformersBackend(threads=1, batch_size=4).load()


@pytest.mark.slow
def test_a_prompt_over_the_context_is_refused_400(model):
    with serving(model) as (url, _):
        long = requests.post(url + CHAT, json=chat(content="seven " * 9000), timeout=60)
        assert long.status_code == 400
        assert re.search(
            r"the prompt is \d+ tokens and max_tokens 3: together over the model's context of 8192", long.text
        )
        assert requests.post(url + CHAT, json=chat(2), timeout=60).json()["usage"]["completion_tokens"] == 2


@pytest.mark.slow
def test_generation_stops_when_its_client_disconnects(model):
    with serving(model) as (url, _):
        before = model.stats.completion_tokens
        with pytest.raises(requests.Timeout):  # the client gives up after a second and closes its connection
            requests.post(url + CHAT, json=chat(4000, "Write a very long story about a dragon."), timeout=1)
        started = time.monotonic()
        reply = requests.post(url + CHAT, json=chat(2), timeout=30).json()
        assert reply["usage"]["completion_tokens"] == 2 and time.monotonic() - started < 10  # the model was free
        assert model.stats.completion_tokens - before < 200  # the abandoned request was stopped, not run to 4000


@pytest.mark.slow
def test_a_generation_past_its_time_budget_ends_as_length(model):
    with serving(model, limits=ServerLimits(request_timeout=1.5)) as (url, _):
        started = time.monotonic()
        reply = requests.post(url + CHAT, json=chat(4000, "Write a very long story about a dragon."), timeout=60)
        assert reply.status_code == 200 and time.monotonic() - started < 6
        body = reply.json()
        assert body["choices"][0]["finish_reason"] == "length" and 0 < body["usage"]["completion_tokens"] < 4000


@pytest.mark.slow
def test_closing_the_server_stops_a_generation_in_progress(model):
    server = make_server(model, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    answers: list[requests.Response] = []
    client = threading.Thread(
        target=lambda: answers.append(requests.post(url + CHAT, json=chat(4000, "Tell a long story."), timeout=60))
    )
    client.start()
    time.sleep(1.5)
    started = time.monotonic()
    server.shutdown()
    server.server_close()
    assert time.monotonic() - started < 5
    client.join(10)
    assert answers and answers[0].status_code == 503  # retried by the HTTP backend, never cached as truncated
    assert "shut down during this generation" in answers[0].json()["error"]["message"]


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_llm_stops_mid_generation_on_ctrl_c_and_sigterm(stop):
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve-llm", "--port", "0", "--threads", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        assert match, f"serve-llm did not start, exit code {process.poll()}"
        body = chat(4000, "Write a very long story about a dragon.")
        answers: list[int] = []
        client = threading.Thread(
            target=lambda: answers.append(
                requests.post(match.group(1) + "/chat/completions", json=body, timeout=60).status_code
            ),
            daemon=True,
        )
        client.start()
        time.sleep(2)  # the generation is under way
        started = time.monotonic()
        process.send_signal(stop)
        assert process.wait(15) == 0 and time.monotonic() - started < 10
        client.join(5)
        assert answers == [503]  # told before the server went, so the HTTP backend retries it
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
