"""Local backends: a model in this process, for users without a GPU server (and for tests and serve-llm).

``TransformersBackend`` is the default because it installs from wheels; ``LlamaCppBackend`` is ~8x faster
but llama-cpp-python compiles from source for minutes, so it is an opt-in setting (see README.md).

A GGUF file is dequantised by transformers on every load (about 20-40 s for SmolLM2-135M here), so the first
load saves the dense model and tokenizer with ``save_pretrained`` into the user cache; later loads read that
in a few seconds. The copy is written to a temporary folder and renamed, so concurrent processes never see a
half-written model.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from curation.llm.protocol import (
    BackendError,
    ChatRequest,
    Completion,
    OnResult,
    Result,
    UsageStats,
    completion_from_payload,
)
from curation.models import packaged_gguf_path, user_cache_dir


def model_display_name(model: str | os.PathLike | None) -> str:
    """Stable name for a model setting: the GGUF file stem or the folder/hub name (used in cache keys)."""
    path = Path(model) if model is not None else packaged_gguf_path()
    return path.stem if path.suffix == ".gguf" else (path.name if path.exists() else str(model))


def dense_copy_dir(gguf: Path, cache_dir: Path | None = None) -> Path:
    """Where the dense copy of a GGUF lives (it may not exist yet): named by file stem and size."""
    return (cache_dir or user_cache_dir()) / "models" / f"{gguf.stem}-{gguf.stat().st_size}"


def dense_copy_of_gguf(gguf: Path, cache_dir: Path | None = None) -> Path:
    """Folder holding a ``save_pretrained`` copy of a GGUF model, created on first use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = dense_copy_dir(gguf, cache_dir)
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # weights are already dense (dequantised on load); drop the marker that blocks saving
        quantizer.remove_quantization_config(model)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:  # another process finished first; its copy is as good as ours
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class TransformersBackend:
    """A causal LM run by transformers on CPU (or GPU when ``device`` says so), batched and seeded.

    ``model`` is a ``.gguf`` file, a Hugging Face model folder, or ``None`` for the packaged SmolLM2. Requests
    are decoded greedily when ``temperature == 0``; otherwise sampled with ``torch.manual_seed(seed)`` per
    batch, so the same batch gives the same output. ``threads`` sets torch's (process-wide) CPU thread count:
    on a machine shared with other work, 1 thread was 5x faster here than torch's default of one per core,
    whose threads spin waiting for each other when the cores are busy.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        batch_size: int = 8,
        seed: int = 0,
        device: str = "cpu",
        cache_dir: str | os.PathLike | None = None,
        name: str | None = None,
        threads: int | None = None,
    ):
        self.threads = threads
        self.model_path = Path(model) if model is not None else None
        self.model = name or model_display_name(model)
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.stats = UsageStats()
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    def load(self) -> TransformersBackend:
        """Load now rather than on the first request (servers call this before listening)."""
        with self._lock:
            if self._model is None:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                if self.threads:
                    torch.set_num_threads(self.threads)
                source = self.model_path or packaged_gguf_path()
                if source.suffix == ".gguf":
                    source = dense_copy_of_gguf(source, self.cache_dir)
                tokenizer = AutoTokenizer.from_pretrained(str(source))
                tokenizer.padding_side = "left"  # decoder-only batching: pad before the prompt
                if tokenizer.pad_token is None:
                    tokenizer.pad_token = tokenizer.eos_token
                model: Any = AutoModelForCausalLM.from_pretrained(str(source))
                model = model.to(self.device)
                model.eval()
                self._tokenizer, self._model = tokenizer, model
        return self

    @property
    def tokenizer(self):
        self.load()
        return self._tokenizer

    @property
    def context_tokens(self) -> int:
        """The longest sequence, prompt and reply together, the model takes (its position embeddings)."""
        self.load()
        return int(self._model.config.max_position_embeddings)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def complete_many(
        self, requests: Sequence[ChatRequest], on_result: OnResult, should_stop: StopCheck | None = None
    ) -> None:
        """Batch requests that share sampling settings; each batch's results are reported when it ends.

        ``should_stop(i)`` is asked between tokens (``curate serve-llm`` passes it): once true, request ``i``
        ends with what it has, marked ``finish_reason="length"``.
        """
        self.load()
        order = sorted(range(len(requests)), key=lambda i: (requests[i].temperature, requests[i].seed or 0))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            groups: dict[tuple, list[int]] = {}
            for i in batch:
                groups.setdefault((requests[i].temperature, requests[i].seed), []).append(i)
            for indices in groups.values():
                stop = None if should_stop is None else _rows_of(indices, should_stop)
                try:
                    results = self.generate([requests[i] for i in indices], stop)
                except Exception as err:  # noqa: BLE001 - a runtime failure fails these requests, not the run
                    results = [BackendError("local_model_error", f"{type(err).__name__}: {err}")] * len(indices)
                for i, result in zip(indices, results):
                    self.stats.add(attempts=1)
                    self.stats.record(result)
                    on_result(i, result)

    def generate(self, requests: Sequence[ChatRequest], should_stop: StopCheck | None = None) -> list[Result]:
        """One padded batch through ``model.generate``; every request must share temperature and seed.

        A request whose prompt and ``max_tokens`` together do not fit the context gets a
        ``context_length_exceeded`` error instead of a place in the batch: the model cannot attend past its
        context, and a megabyte prompt would otherwise cost minutes of prefill.
        """
        self.load()
        tokenizer = self._tokenizer
        prompts = [
            tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False) for r in requests
        ]
        ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        context = self.context_tokens
        results: list[Result | None] = [None] * len(requests)
        for row, (request, prompt) in enumerate(zip(requests, ids)):
            if len(prompt) + request.max_tokens > context:
                results[row] = BackendError(
                    "context_length_exceeded",
                    f"the prompt is {len(prompt)} tokens and max_tokens {request.max_tokens}: together over the "
                    f"model's context of {context} tokens",
                )
        fits = [row for row, result in enumerate(results) if result is None]
        if fits:
            row_stop = None if should_stop is None else _rows_of(fits, should_stop)
            for row, completion in zip(
                fits, self._generate_fitting([requests[r] for r in fits], [ids[r] for r in fits], row_stop)
            ):
                results[row] = completion
        return [result for result in results if result is not None]

    def _generate_fitting(
        self, requests: Sequence[ChatRequest], ids: list[list[int]], should_stop: StopCheck | None
    ) -> list[Completion]:
        """Left-pad the token ids into one batch, generate, and cut each row at its own stop."""
        import torch

        tokenizer, model = self._tokenizer, self._model
        width = max(len(row) for row in ids)
        input_ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(row)) + row for row in ids])
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in ids])
        stopper = _StopRows(width, [r.max_tokens for r in requests], should_stop)
        temperature = requests[0].temperature
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with self._lock, torch.no_grad():
            torch.manual_seed(requests[0].seed if requests[0].seed is not None else self.seed)
            output = model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=max(r.max_tokens for r in requests),
                stopping_criteria=[stopper],
                pad_token_id=tokenizer.pad_token_id,
                top_k=None,
                top_p=None,
                **sampling,
            )
        eos_ids = set(_as_list(model.generation_config.eos_token_id)) | {tokenizer.eos_token_id}
        completions = []
        for row, request in enumerate(requests):
            generated = output[row, width:].tolist()
            interrupted = stopper.interrupted[row]
            limit = request.max_tokens if interrupted is None else min(request.max_tokens, interrupted)
            stop = next((k for k, token in enumerate(generated) if token in eos_ids), None)
            if stop is not None and stop < limit:
                tokens, finish_reason = generated[:stop], "stop"
            else:
                tokens, finish_reason = generated[:limit], "length"
            completions.append(
                Completion(
                    text=tokenizer.decode(tokens, skip_special_tokens=True),
                    finish_reason=finish_reason,
                    prompt_tokens=len(ids[row]),
                    completion_tokens=len(tokens),
                )
            )
        return completions


StopCheck = Callable[[int], bool]


def _rows_of(indices: Sequence[int], should_stop: StopCheck) -> StopCheck:
    """``should_stop`` asked by row of a sub-batch rather than by index of the whole request list."""
    return lambda row: should_stop(indices[row])


class _StopRows:
    """A stopping criterion that ends each row of a batch on its own.

    A row ends at its own request's ``max_tokens`` (rather than the batch's largest) or as soon as
    ``should_stop(row)`` says so; ``interrupted[row]`` is then the number of tokens it had. ``generate`` ends
    when every row has, so a cancelled request frees the model thread at its next token.
    """

    def __init__(self, prompt_width: int, max_tokens: list[int], should_stop: StopCheck | None):
        self.prompt_width, self.max_tokens, self.should_stop = prompt_width, max_tokens, should_stop
        self.interrupted: list[int | None] = [None] * len(max_tokens)

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        produced = input_ids.shape[1] - self.prompt_width
        for row in range(len(self.max_tokens)):
            if self.interrupted[row] is None and self.should_stop is not None and self.should_stop(row):
                self.interrupted[row] = produced
        done = [produced >= limit or self.interrupted[row] is not None for row, limit in enumerate(self.max_tokens)]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _llama_stopper(i: int, should_stop: StopCheck) -> Any:
    """llama-cpp-python's stopping criteria asking ``should_stop(i)`` after each token."""
    from llama_cpp import StoppingCriteriaList

    return StoppingCriteriaList([lambda _ids, _logits: should_stop(i)])


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class LlamaCppBackend:
    """The same GGUF through llama-cpp-python: ~70 tokens/s here against ~10 for transformers, but the package
    compiles llama.cpp from source on install. Imported lazily; absent, it says how to get it.

    ``threads`` is named as in ``TransformersBackend`` (llama.cpp's ``n_threads``), so one ``threads`` setting
    and ``curate serve-llm --threads`` work for either runtime; ``None`` leaves llama.cpp's default.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        n_ctx: int = 4096,
        seed: int = 0,
        threads: int | None = None,
        name: str | None = None,
    ):
        self.model_path = Path(model) if model is not None else packaged_gguf_path()
        self.model = name or model_display_name(self.model_path)
        self.n_ctx, self.seed, self.threads = n_ctx, seed, threads
        self.stats = UsageStats()
        self._llama: Any = None
        self._lock = threading.Lock()

    def load(self) -> LlamaCppBackend:
        with self._lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError as err:
                    raise ImportError(
                        "the llama_cpp backend needs llama-cpp-python, which compiles llama.cpp from source "
                        "(about 8 minutes on 2 cores): `uv pip install llama-cpp-python`; or use "
                        "backend: transformers"
                    ) from err
                self._llama = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    seed=self.seed,
                    n_threads=self.threads,
                    verbose=False,
                )
        return self

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    @property
    def context_tokens(self) -> int:
        """The context llama.cpp was opened with (``n_ctx``): prompt and reply together must fit in it."""
        return self.n_ctx

    def complete_many(
        self, requests: Sequence[ChatRequest], on_result: OnResult, should_stop: StopCheck | None = None
    ) -> None:
        """One request at a time; ``should_stop(i)``, asked between tokens, ends request ``i`` early as ``length``."""
        self.load()
        for i, request in enumerate(requests):
            try:
                with self._lock:
                    reply = self._llama.create_chat_completion(
                        messages=request.messages,
                        max_tokens=request.max_tokens,
                        temperature=request.temperature,
                        seed=request.seed if request.seed is not None else self.seed,
                        stopping_criteria=None if should_stop is None else _llama_stopper(i, should_stop),
                    )
                completion = completion_from_payload(reply)
                if should_stop is not None and should_stop(i) and completion.finish_reason == "stop":
                    completion = dataclasses.replace(completion, finish_reason="length")  # stopped by us, not the model
                result: Result = completion
            except BackendError as err:
                result = err
            except Exception as err:  # noqa: BLE001 - one failed request, not the run
                result = BackendError("local_model_error", f"{type(err).__name__}: {err}")
            self.stats.add(attempts=1)
            self.stats.record(result)
            on_result(i, result)
