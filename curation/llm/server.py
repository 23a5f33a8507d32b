"""An OpenAI-compatible chat completions server for a local backend (``curate serve-llm``).

It lets a user without vLLM point the HTTP backend, or any OpenAI client, at the packaged model, and it gives
the tests a real server on a real socket. Standard library HTTP on loopback by default; one worker thread
owns the model and takes whatever requests are waiting (up to ``batch_size``) as one batch, so concurrent
clients share a forward pass instead of queueing behind each other.

Everything a client sends is bounded (``server_limits.ServerLimits``), because one careless or hostile client must not be
able to take the only model thread or the machine's memory: the body size (413, refused before it is read),
the time to send a request (408; a body shorter than its Content-Length cannot hold a thread), ``max_tokens``
(400 above the limit; never clamped, so a client is never silently given less than it asked for), the prompt
with the reply (400 past the model's context), the wall-clock time of a generation, and the number of open
connections (503). A generation stops between two tokens when its client disconnects, when its time is up,
or when the server closes (Ctrl-C, SIGTERM). Off loopback it needs an explicit ``allow_remote`` and an API
key; with a key set, every route but ``/health`` wants ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hmac
import json
import queue
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from curation.llm.local_model import LlamaCppBackend, TransformersBackend
from curation.llm.protocol import Backend, BackendError, ChatRequest, Completion, Result
from curation.llm.server_limits import ServerLimits, chat_request, check_bind

#: backend error reasons that are the client's fault (400) or the server's state (503) rather than a model failure
CLIENT_ERRORS = {"context_length_exceeded": 400, "server_stopping": 503}

REQUEST_TIMEOUT_MESSAGE = "the request was not received in time (curate serve-llm --read-timeout)"


@dataclass
class _Job:
    """One accepted request on its way to the model; ``cancelled`` is set when its client disconnects."""

    request: ChatRequest
    deadline: float
    future: Future = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)


def _resolve(job: _Job, result: Result) -> None:
    """Give ``job`` its result unless it has one (the batcher and a closing server may both try)."""
    try:
        job.future.set_result(result)
    except InvalidStateError:
        pass


def _shutting_down(detail: str = "the server is shutting down") -> BackendError:
    return BackendError("server_stopping", detail)


class _Batcher:
    """Feeds concurrent requests to the backend in batches from a single thread.

    After the first request of a batch it waits up to ``batch_wait`` seconds for others: clients that send
    together rarely arrive within the same microsecond, and without the wait two concurrent clients would
    alternate batches of one. A local backend is given ``should_stop`` so that a generation whose client has
    gone, whose time is up, or whose server is closing stops at its next token instead of holding the thread.
    """

    def __init__(self, backend: Backend, batch_size: int, batch_wait: float):
        self.backend, self.batch_size, self.batch_wait = backend, batch_size, batch_wait
        self.stopping = threading.Event()
        self._submit_lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="serve-llm-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: ChatRequest, budget: float) -> _Job:
        job = _Job(request, time.monotonic() + budget)
        with self._submit_lock:  # a job is either queued before close() drains the queue, or failed here
            if self.stopping.is_set():
                _resolve(job, _shutting_down())
            else:
                self._queue.put(job)
        return job

    def should_stop(self, job: _Job) -> bool:
        return self.stopping.is_set() or job.cancelled.is_set() or time.monotonic() >= job.deadline

    def close(self, wait: float = 10.0) -> None:
        """Stop generating (at the next token), answer every queued request 503, and let the thread end."""
        with self._submit_lock:
            self.stopping.set()
            self._queue.put(None)
        self._thread.join(wait)  # a backend without should_stop may not stop; the thread is a daemon then
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                _resolve(job, _shutting_down())

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
            if self.stopping.is_set():
                self._fail(batch, _shutting_down())
            else:
                self._run([job for job in batch if not job.cancelled.is_set()])  # nobody waits for the others

    @staticmethod
    def _fail(jobs: list[_Job], error: BackendError) -> None:
        for job in jobs:
            _resolve(job, error)

    def _run(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        requests = [job.request for job in jobs]

        def on_result(i: int, result: Result) -> None:
            if self.stopping.is_set() and isinstance(result, Completion) and result.finish_reason == "length":
                # cut short by the shutdown: a 503 is retried and never cached, a truncated reply would be both
                result = _shutting_down("the server shut down during this generation")
            _resolve(jobs[i], result)

        try:
            if isinstance(self.backend, (TransformersBackend, LlamaCppBackend)):
                self.backend.complete_many(requests, on_result, should_stop=lambda i: self.should_stop(jobs[i]))
            else:
                self.backend.complete_many(requests, on_result)
        except Exception as err:  # noqa: BLE001 - keep serving; fail only this batch
            self._fail(jobs, BackendError("local_model_error", f"{type(err).__name__}: {err}"))
        self._fail(jobs, BackendError("no_reply", "the backend reported no result for this request"))


class _ReadWatchdog:
    """Closes connections that take longer than ``timeout`` to send a whole request.

    A socket timeout bounds each ``recv``, not the request: a client sending a byte every few seconds
    (slowloris), or a body shorter than its Content-Length, would hold its thread for ever. Handlers are armed
    while they read; one thread closes those past their deadline (answering 408 once a request line has come,
    quietly for an idle kept-alive connection), which ends the blocked read.
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._deadlines: dict[Any, tuple[float, bool]] = {}  # handler -> (deadline, a request line has come)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="serve-llm-watchdog", daemon=True)
        self._thread.start()

    def arm(self, handler: Any) -> None:
        with self._lock:
            self._deadlines[handler] = (time.monotonic() + self.timeout, False)

    def begin(self, handler: Any) -> None:
        """A request line has arrived: from now on an expired read is answered 408."""
        with self._lock:
            if handler in self._deadlines:
                self._deadlines[handler] = (self._deadlines[handler][0], True)

    def disarm(self, handler: Any) -> bool:
        """Stop watching ``handler``; False when its time had run out and its connection is already closed."""
        with self._lock:
            self._deadlines.pop(handler, None)
            return not handler.timed_out

    def close(self) -> None:
        self._closed.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._closed.wait(min(0.2, self.timeout / 4)):
            now = time.monotonic()
            with self._lock:
                expired = [(h, begun) for h, (deadline, begun) in self._deadlines.items() if deadline <= now]
                for handler, _ in expired:
                    del self._deadlines[handler]
                    handler.timed_out = True
            for handler, begun in expired:
                _abort(handler.connection, _raw_response(408, REQUEST_TIMEOUT_MESSAGE) if begun else b"")


def _abort(sock: socket.socket, last_words: bytes) -> None:
    """Send ``last_words`` if the socket takes them now, then shut it, waking any thread blocked reading it."""
    try:
        if last_words:
            sock.send(last_words, socket.MSG_DONTWAIT)
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _client_gone(sock: socket.socket) -> bool:
    """Whether the client has closed its end: its socket reads as end of file (or fails)."""
    poller = select.poll()  # not select.select: that fails on descriptors past 1024
    poller.register(sock, select.POLLIN)
    try:
        if not poller.poll(0):  # nothing to read: still there (recv would wait for the socket's timeout)
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class _InFlight:
    """Counts requests from arrival to answer, so that a closing server lets them be answered (503) first."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0, timeout)


class ChatCompletionServer(ThreadingHTTPServer):
    """The HTTP server; it owns the batcher and the watchdog, so closing it stops their threads too.

    It holds at most ``max_connections`` connections: the next one is answered 503 at once rather than given a
    thread, so no number of clients can exhaust threads or queue unbounded work for the model.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type,
        batcher: _Batcher,
        watchdog: _ReadWatchdog,
        in_flight: _InFlight,
        limits: ServerLimits,
    ):
        self.batcher, self.watchdog, self.in_flight, self.limits = batcher, watchdog, in_flight, limits
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        try:
            super().__init__(address, handler)
        except BaseException:
            batcher.close()
            watchdog.close()
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _abort(request, _busy_response(self.limits.max_connections))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()  # stops the generation at its next token and fails what waits: 503
        self.in_flight.wait_idle(2.0)  # let the handlers (daemon threads) write those 503s before the process ends
        self.watchdog.close()


def _error_payload(status: int, message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "code": status}}


def _raw_response(status: int, message: str, extra_headers: str = "") -> bytes:
    """A whole JSON error response, for threads that have no handler to write it with (accept, watchdog)."""
    data = json.dumps(_error_payload(status, message)).encode()
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\nConnection: close\r\n"
    return f"{head}{extra_headers}Content-Length: {len(data)}\r\n\r\n".encode() + data


def _busy_response(max_connections: int) -> bytes:
    message = f"the server holds {max_connections} connections already (--max-connections); retry later"
    return _raw_response(503, message, "Retry-After: 1\r\n")


def make_server(
    backend: Backend,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    batch_size: int = 8,
    batch_wait: float = 0.02,
    limits: ServerLimits | None = None,
    api_key: str | None = None,
    allow_remote: bool = False,
) -> ChatCompletionServer:
    """A ready server (``port=0`` picks a free one; see ``server.server_address``). Call ``serve_forever``.

    A non-loopback ``host`` needs ``allow_remote`` and an ``api_key`` (see ``check_bind``).
    """
    check_bind(host, allow_remote=allow_remote, api_key=api_key)
    limits = limits or ServerLimits()
    batcher = _Batcher(backend, batch_size, batch_wait)
    watchdog = _ReadWatchdog(limits.read_timeout)
    in_flight = _InFlight()
    handler = _handler_class(backend.model, batcher, watchdog, in_flight, limits, api_key)
    return ChatCompletionServer((host, port), handler, batcher, watchdog, in_flight, limits)


def _handler_class(
    model_name: str,
    batcher: _Batcher,
    watchdog: _ReadWatchdog,
    in_flight: _InFlight,
    limits: ServerLimits,
    api_key: str | None,
) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {api_key}".encode() if api_key else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = limits.read_timeout + 1  # per recv/send; the watchdog, which answers 408, bounds the request
        timed_out = False  # set by the watchdog

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

        def handle_one_request(self) -> None:
            watchdog.arm(self)
            try:
                super().handle_one_request()
            finally:
                watchdog.disarm(self)
            if self.timed_out:
                self.close_connection = True

        def parse_request(self) -> bool:
            watchdog.begin(self)
            return super().parse_request()

        def _send(self, status: int, payload: dict, headers: tuple[tuple[str, str], ...] = ()) -> None:
            if not watchdog.disarm(self):  # too late: the watchdog has answered 408 and closed the connection
                return
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers:
                    self.send_header(name, value)
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timed out, disconnected) while we worked
                self.close_connection = True

        def _error(self, status: int, message: str, kind: str = "invalid_request_error", close: bool = False) -> None:
            self.close_connection = self.close_connection or close
            headers = (("WWW-Authenticate", "Bearer"),) if status == 401 else ()
            self._send(status, _error_payload(status, message, kind), headers)

        def _authorized(self) -> bool:
            """True with no key set or the right one sent; otherwise answers 401 (compared in constant time)."""
            if expected is None or hmac.compare_digest(
                (self.headers.get("Authorization") or "").encode("utf-8", "replace"), expected
            ):
                return True
            self._error(401, "missing or wrong API key: send the header Authorization: Bearer <key>", close=True)
            return False

        def do_GET(self) -> None:
            route = self.path.rstrip("/")
            if route == "/health":
                self._send(200, {"status": "ok"})
            elif not self._authorized():
                return
            elif route in ("/v1/models", "/models"):
                model = {"id": model_name, "object": "model", "created": 0, "owned_by": "curation"}
                self._send(200, {"object": "list", "data": [model]})
            else:
                self._error(404, f"no route {self.path}")

        def _read_body(self) -> bytes | None:
            """The body, or None after answering why not: no length (411), too long (413), cut short (400/408)."""
            declared = self.headers.get("Content-Length")
            if self.headers.get("Transfer-Encoding") or declared is None:
                self._error(411, "send the body with a Content-Length header", close=True)
                return None
            if not declared.strip().isdigit():
                self._error(400, f"Content-Length {declared[:40]!r} is not a byte count", close=True)
                return None
            length = int(declared)
            if length > limits.max_body_bytes:
                self._error(
                    413,
                    f"body of {length} bytes is over this server's limit of {limits.max_body_bytes} bytes "
                    "(curate serve-llm --max-body-bytes)",
                    close=True,
                )
                return None
            try:
                body = self.rfile.read(length)
            except OSError:
                body = b""
            if len(body) < length:
                self._error(400, f"body ended after {len(body)} of its {length} bytes (Content-Length)", close=True)
                return None
            watchdog.disarm(self)
            return body

        def _await(self, job: _Job) -> Result | None:
            """The job's result, or None if the client disconnected first (its generation is then stopped)."""
            while True:
                try:
                    return job.future.result(timeout=0.2)
                except TimeoutError:
                    if _client_gone(self.connection):
                        job.cancelled.set()
                        self.close_connection = True
                        return None

        def do_POST(self) -> None:
            if not self._authorized():
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route {self.path}", close=True)  # the body was not read: close
                return
            raw = self._read_body()
            if raw is None:
                return
            try:
                request = chat_request(json.loads(raw or b"null"), limits)
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                self._error(400, str(err))
                return
            with in_flight.held():
                result = self._await(batcher.submit(request, limits.request_timeout))
                if result is None:
                    return
                if isinstance(result, BackendError):
                    status = CLIENT_ERRORS.get(result.reason, 500)
                    self._error(status, str(result), "invalid_request_error" if status == 400 else "server_error")
                    return
                self._send(200, completion_payload(result, model_name))

    return Handler


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
