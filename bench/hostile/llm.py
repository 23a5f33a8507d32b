"""Hostile clients against ``curate serve-llm`` (issue 10, defect 4): every case must end bounded and say how.

Cases whose refusal comes before the model (a 50 MB body, a body shorter than its Content-Length) run the real
server in this process with the packaged model left unloaded, so they take seconds and little memory; cases about
the model (``max_tokens`` 10^9, a client leaving mid-generation, Ctrl-C mid-generation) start ``curate serve-llm``
as a user would, on a free loopback port, and report the server process's own peak memory beside the outcome,
since the bench measures this process only. Default limits throughout: the outcomes are what a user gets.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from curation.llm.server_limits import ENV_API_KEY

REPO = Path(__file__).resolve().parents[2]
CHAT = "/chat/completions"
STORY = "Write a very long story about a dragon."


def _chat(max_tokens: int, content: str = STORY) -> dict:
    return {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}


@contextmanager
def _in_process() -> Iterator[tuple[str, int]]:
    """The real server with its default limits, in this process, model never loaded; yields (/v1 URL, port)."""
    from curation.llm.local_model import TransformersBackend
    from curation.llm.server import make_server

    server = make_server(TransformersBackend(threads=1), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", port
    finally:
        server.shutdown()
        server.server_close()


class _Served:
    """``curate serve-llm`` in a subprocess on a free loopback port, as a user starts it."""

    def __init__(self, folder: Path, *flags: str):
        self.log = (folder / "serve-llm.log").open("w")
        command = [sys.executable, "-m", "pipelines.cli", "serve-llm", "--port", "0", "--threads", "1", *flags]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.process.stdout is not None
        match = re.search(r"listening on (http://\S+)", self.process.stdout.readline())
        if not match:
            self.stop()
            raise RuntimeError(f"serve-llm did not start (exit code {self.process.poll()}); see {self.log.name}")
        self.url = match.group(1)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> float:
        """Ctrl-C (SIGINT) it; the seconds it took to exit (killed, and ``inf``, past 30 s)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return float("inf")
        finally:
            self.log.close()


@contextmanager
def _served(folder: Path, *flags: str) -> Iterator[_Served]:
    server = _Served(folder, *flags)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()


def _timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _error(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:100]


def prompt_50mb(folder: Path) -> str:
    """A 50 MB prompt (the issue's: it once cost 9 GB) is refused from its Content-Length, unread."""
    body = folder / "prompt-50mb.json"
    body.write_text(json.dumps(_chat(16, "seven " * (50 * 2**20 // 6))))
    with _in_process() as (url, _), body.open("rb") as stream:
        response, seconds = _timed(lambda: requests.post(url + CHAT, data=stream, timeout=60))
        health = requests.get(url.removesuffix("/v1") + "/health", timeout=5).status_code
    return f"{response.status_code} in {seconds:.2f} s ({_error(response)}); /health then {health}"


def max_tokens_1e9(folder: Path) -> str:
    """``max_tokens`` 10^9 is refused at once instead of holding the model thread for days."""
    with _served(folder) as server:
        response, seconds = _timed(lambda: requests.post(server.url + CHAT, json=_chat(10**9), timeout=60))
        normal, normal_seconds = _timed(lambda: requests.post(server.url + CHAT, json=_chat(2), timeout=60))
        peak = server.peak_rss_mb()
    return (
        f"{response.status_code} in {seconds:.2f} s ({_error(response)}); a 2-token request then answered "
        f"{normal.status_code} in {normal_seconds:.2f} s; server peak RSS {peak:.0f} MB"
    )


def short_body(folder: Path) -> str:
    """A body shorter than its Content-Length gets 408 after the read timeout and frees its thread."""
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"messages": [{"role": "user", "content": "cut sh'
    )
    (folder / "short-body.http").write_bytes(request)
    with _in_process() as (url, port):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        seconds = time.monotonic() - started
        health, health_seconds = _timed(lambda: requests.get(url.removesuffix("/v1") + "/health", timeout=5))
    status = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    return f"{status!r} after {seconds:.1f} s, then closed; /health answered {health.status_code} in {health_seconds:.2f} s"


def disconnect_mid_generation(folder: Path) -> str:
    """A client that leaves mid-generation frees the model: the next request is answered within seconds."""
    with _served(folder) as server:
        try:
            requests.post(server.url + CHAT, json=_chat(8000), timeout=2)
            left = "the long request finished first (?)"
        except requests.Timeout:
            left = "client left after 2 s of an 8000-token generation"
        response, seconds = _timed(lambda: requests.post(server.url + CHAT, json=_chat(2), timeout=60))
        peak = server.peak_rss_mb()
    return f"{left}; next 2-token request answered {response.status_code} in {seconds:.2f} s; server peak RSS {peak:.0f} MB"


def ctrl_c_mid_generation(folder: Path) -> str:
    """Ctrl-C stops the server promptly while a long generation runs (it used to wait for the generation)."""
    with _served(folder) as server:
        answers: list[int] = []

        def long_request() -> None:
            try:
                answers.append(requests.post(server.url + CHAT, json=_chat(8000), timeout=60).status_code)
            except requests.RequestException as err:
                answers.append(-1)
                (folder / "client-error.txt").write_text(repr(err))

        client = threading.Thread(target=long_request, daemon=True)
        client.start()
        time.sleep(3)
        peak = server.peak_rss_mb()
        seconds = server.stop()
        code = server.process.returncode
        client.join(10)
    reply = f"its client got {answers[0]}" if answers else "its client got nothing"
    return f"SIGINT 3 s into an 8000-token generation: exited {code} in {seconds:.2f} s; {reply}; server peak RSS {peak:.0f} MB"


def bind_all_interfaces_without_key(folder: Path) -> str:
    """``--host 0.0.0.0`` without ``--allow-remote`` and a key exits with one line, before loading the model."""
    env = {name: value for name, value in os.environ.items() if name != ENV_API_KEY}  # no key from the caller
    outcomes = []
    for extra in ([], ["--allow-remote"]):
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "serve-llm", "--host", "0.0.0.0", "--port", "0", *extra],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        outcomes.append(f"{' '.join(extra) or 'no flag'}: exit {done.returncode} in {time.monotonic() - started:.1f} s")
    return "; ".join(outcomes) + f" ({message[:90]}...)"


CASES: dict[str, Callable[[Path], str]] = {
    "prompt_50mb": prompt_50mb,
    "max_tokens_1e9": max_tokens_1e9,
    "short_body": short_body,
    "disconnect_mid_generation": disconnect_mid_generation,
    "ctrl_c_mid_generation": ctrl_c_mid_generation,
    "bind_all_interfaces_without_key": bind_all_interfaces_without_key,
}
