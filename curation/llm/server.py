"""An OpenAI-compatible chat completions server for a local backend (``curate serve-llm``).

It lets a user without vLLM point the HTTP backend, or any OpenAI client, at the packaged model, and it gives
the tests a real server on a real socket. Standard library HTTP on loopback by default; one worker thread
owns the model and takes whatever requests are waiting (up to ``batch_size``) as one batch, so concurrent
clients share a forward pass instead of queueing behind each other.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from curation.llm.protocol import Backend, BackendError, ChatRequest, Completion


class _Batcher:
    """Feeds concurrent requests to the backend in batches from a single thread.

    After the first request of a batch it waits up to ``batch_wait`` seconds for others: clients that send
    together rarely arrive within the same microsecond, and without the wait two concurrent clients would
    alternate batches of one.
    """

    def __init__(self, backend: Backend, batch_size: int, batch_wait: float):
        self.backend, self.batch_size, self.batch_wait = backend, batch_size, batch_wait
        self._queue: queue.Queue[tuple[ChatRequest, Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="serve-llm-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: ChatRequest) -> Future:
        future: Future = Future()
        self._queue.put((request, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.monotonic() + self.batch_wait
            while len(batch) < self.batch_size:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self._run(batch)

    def _run(self, batch: list[tuple[ChatRequest, Future]]) -> None:
        futures = [future for _, future in batch]
        try:
            self.backend.complete_many(
                [request for request, _ in batch], lambda i, result: futures[i].set_result(result)
            )
        except Exception as err:  # noqa: BLE001 - keep serving; fail only this batch
            for future in futures:
                if not future.done():
                    future.set_result(BackendError("local_model_error", f"{type(err).__name__}: {err}"))


def _chat_request(body: Any, default_max_tokens: int) -> ChatRequest:
    """Validate an OpenAI chat completions body; a ValueError becomes a 400 naming the field."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
        raise ValueError("messages must be a non-empty list of {role, content} objects with string content")
    if body.get("stream"):
        raise ValueError("stream=true is not supported")
    if body.get("n", 1) != 1:
        raise ValueError("only n=1 is supported")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens", default_max_tokens))
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("max_tokens must be a positive integer")
    temperature = body.get("temperature", 0.0)
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError("temperature must be a number >= 0")
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ValueError("seed must be an integer")
    return ChatRequest(
        [{"role": m["role"], "content": m["content"]} for m in messages], max_tokens, float(temperature), seed
    )


class ChatCompletionServer(ThreadingHTTPServer):
    """The HTTP server; it owns the batcher so closing the server stops the model thread too."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, batcher: _Batcher):
        super().__init__(address, handler)
        self.batcher = batcher

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()


def make_server(
    backend: Backend,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    batch_size: int = 8,
    batch_wait: float = 0.02,
    default_max_tokens: int = 512,
) -> ChatCompletionServer:
    """A ready server (``port=0`` picks a free one; see ``server.server_address``). Call ``serve_forever``."""
    batcher = _Batcher(backend, batch_size, batch_wait)
    model_name = backend.model

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timed out) while we worked
                self.close_connection = True

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": model_name, "object": "model", "created": 0, "owned_by": "curation"}],
                    },
                )
            elif self.path.rstrip("/") == "/health":
                self._send(200, {"status": "ok"})
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = _chat_request(json.loads(self.rfile.read(length) or b"null"), default_max_tokens)
            except (ValueError, json.JSONDecodeError) as err:
                self._error(400, str(err))
                return
            result = batcher.submit(request).result()
            if isinstance(result, BackendError):
                self._error(500, str(result), "server_error")
                return
            self._send(200, completion_payload(result, model_name))

    return ChatCompletionServer((host, port), Handler, batcher)


def completion_payload(completion: Completion, model: str) -> dict:
    """The OpenAI ``chat.completion`` object for one completion."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        },
    }
