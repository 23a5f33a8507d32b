"""Backend for any OpenAI-compatible chat completions server (vLLM, llama.cpp server, Ollama, NIM, serve-llm).

Written against the failure modes of real servers rather than the happy path: requests run in a bounded
thread pool so a large batch cannot flood the server; each has a timeout so a hung response cannot stall a
run; connection errors, 429 and 5xx are retried with exponential backoff and jitter (a 429's Retry-After is
honoured); ``finish_reason == "length"`` is passed up so truncated outputs are never mistaken for complete
ones; and one failing request becomes a ``BackendError`` for that request alone.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from curation.llm.protocol import (
    BackendError,
    ChatRequest,
    Completion,
    OnResult,
    UsageStats,
    completion_from_payload,
)
from curation.tokens import TokenCountFn, approximate_token_count, count_function

T = TypeVar("T")

ENV_BASE_URL = ("CURATION_LLM_BASE_URL", "OPENAI_BASE_URL")
ENV_MODEL = ("CURATION_LLM_MODEL",)
ENV_API_KEY = ("CURATION_LLM_API_KEY", "OPENAI_API_KEY")


def _from_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, given either as delta-seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str, wait: float | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.wait = reason, detail, wait


class OpenAIBackend:
    """Chat completions over HTTP.

    ``base_url`` is the API root including ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``). ``base_url``, ``model``
    and ``api_key`` fall back to ``CURATION_LLM_BASE_URL``/``OPENAI_BASE_URL``, ``CURATION_LLM_MODEL`` and
    ``CURATION_LLM_API_KEY``/``OPENAI_API_KEY``; with no model anywhere, the first one ``GET /models`` lists is
    used. ``tokenizer`` names a tokenizer matching the served model for chunking (see ``tokens.py``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        tokenizer: str | None = None,
        seed: int = 0,
    ):
        base_url = base_url or _from_env(ENV_BASE_URL)
        if not base_url:
            raise ValueError("OpenAIBackend needs base_url (config `llm.base_url` or env CURATION_LLM_BASE_URL)")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.base_url = base_url.rstrip("/")
        self._model = model or _from_env(ENV_MODEL)
        self.api_key = api_key or _from_env(ENV_API_KEY)
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.tokenizer_spec = tokenizer
        self.stats = UsageStats()
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        self._local = threading.local()
        self._count: TokenCountFn | None = None

    # -- identity and tokens -------------------------------------------------------------------------
    @property
    def model(self) -> str:
        if self._model is None:
            listing = self._with_retries(lambda: self._get_json("/models"))
            try:
                self._model = listing["data"][0]["id"]
            except (KeyError, IndexError, TypeError) as err:
                raise BackendError("malformed_response", f"GET {self.base_url}/models: {listing!r}") from err
        return self._model

    def count_tokens(self, text: str) -> int:
        if self._count is None:
            self._count = count_function(self.tokenizer_spec) if self.tokenizer_spec else approximate_token_count
        return self._count(text)

    # -- requests ------------------------------------------------------------------------------------
    def complete_many(self, requests: Sequence[ChatRequest], on_result: OnResult) -> None:
        """Run the requests ``concurrency`` at a time; ``on_result`` is called in this thread as each ends."""
        if not requests:
            return
        model = self.model
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            futures = {pool.submit(self._complete, model, request): i for i, request in enumerate(requests)}
            for future in as_completed(futures):
                result = future.result()
                self.stats.record(result)
                on_result(futures[future], result)

    def _complete(self, model: str, request: ChatRequest) -> Completion | BackendError:
        body = {
            "model": model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        try:
            return self._with_retries(lambda: completion_from_payload(self._post("/chat/completions", body)))
        except BackendError as err:
            return err

    def _with_retries(self, call: Callable[[], T]) -> T:
        """``call()``, retried with backoff while it raises ``_Retryable``; then that failure as a ``BackendError``.

        The one retry policy for every request: ``GET /models`` goes through it too, because a single blip
        there would otherwise fail every document of the run. Each HTTP attempt and retry is counted in
        ``stats``.
        """
        attempt = 0
        while True:
            self.stats.add(attempts=1)
            try:
                return call()
            except _Retryable as err:
                if attempt >= self.max_retries:
                    raise BackendError(err.reason, f"{err.detail} (after {attempt + 1} attempts)") from err
                self.stats.add(retries=1)
                time.sleep(self._backoff(attempt, err.wait))
                attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After is a floor, not a suggestion."""
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        with self._random_lock:
            delay = ceiling * (0.5 + 0.5 * self._random.random())
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    # -- transport -----------------------------------------------------------------------------------
    def _session(self):
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
        return session

    def _get_json(self, path: str) -> Any:
        return self._request("GET", path, None)

    def _post(self, path: str, body: dict) -> object:
        return self._request("POST", path, body)

    def _request(self, method: str, path: str, body: dict | None) -> object:
        import requests

        url = self.base_url + path
        try:
            response = self._session().request(method, url, json=body, timeout=self.timeout)
        except requests.Timeout as err:
            raise _Retryable("timeout", f"{method} {url}: no answer within {self.timeout}s") from err
        except requests.ConnectionError as err:
            raise _Retryable("connection_error", f"{method} {url}: {err}") from err
        except requests.RequestException as err:
            if isinstance(err, ValueError):  # InvalidURL, MissingSchema, InvalidHeader: a setting, not a blip
                raise BackendError("invalid_request", f"{method} {url}: {err}") from err
            # the transfer broke after the connection was made (ChunkedEncodingError, ContentDecodingError ...):
            # as transient as a dropped connection, and it must fail this request, not the run
            raise _Retryable("connection_error", f"{method} {url}: {type(err).__name__}: {err}") from err
        status = response.status_code
        if status == 429:
            raise _Retryable(
                "http_429", f"{method} {url}: rate limited", parse_retry_after(response.headers.get("Retry-After"))
            )
        if status >= 500:
            raise _Retryable(f"http_{status}", f"{method} {url}: {response.text[:200]}")
        if status >= 400:
            raise BackendError(f"http_{status}", f"{method} {url}: {response.text[:200]}")
        try:
            return json.loads(response.content)
        except ValueError as err:
            raise BackendError(
                "malformed_response", f"{method} {url}: body is not JSON: {response.text[:200]!r}"
            ) from err
