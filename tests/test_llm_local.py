"""The local backends: real generations from the packaged SmolLM2 model in this process."""

from __future__ import annotations

import importlib.util

import pytest

from curation.llm import make_backend, run_hook
from curation.llm.local_model import LlamaCppBackend, packaged_gguf_path
from curation.llm.protocol import ChatRequest, Completion, complete_one


@pytest.fixture(scope="module")
def local_backend():
    return make_backend({"backend": "transformers", "batch_size": 4, "seed": 0, "threads": 1}).load()


def ask(backend, prompts: list[str], max_tokens: int) -> list[Completion]:
    results: dict[int, Completion] = {}
    backend.complete_many(
        [ChatRequest([{"role": "user", "content": p}], max_tokens) for p in prompts],
        lambda i, result: results.__setitem__(i, result),
    )
    return [results[i] for i in range(len(prompts))]


def test_packaged_model_is_found_without_importing_its_package():
    path = packaged_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_local_backend_generates_batched_deterministic_text(local_backend):
    prompts = ["What is 2+2?", "Name a prime number.", "Write a very long story about a dragon."]
    first = ask(local_backend, prompts, max_tokens=12)
    assert all(isinstance(c, Completion) and c.text.strip() for c in first)
    assert all(c.completion_tokens <= 12 and c.prompt_tokens > 5 for c in first)
    assert first[2].finish_reason == "length" and first[2].completion_tokens == 12
    assert {c.finish_reason for c in first} <= {"stop", "length"}
    # greedy decoding: the same request alone gives the same text as inside a padded batch
    alone = complete_one(local_backend, ChatRequest([{"role": "user", "content": prompts[0]}], 12))
    assert alone.text == first[0].text
    assert local_backend.count_tokens("The derivative of $x^2$ is $2x$.") > 5
    assert local_backend.stats.requests == 4


@pytest.mark.slow
def test_local_backend_runs_a_hook_and_caches_it(local_backend, tmp_path):
    # the first text is one the 135M model rewrites in 13 tokens (greedy), so the ok path is really taken;
    # 24 leaves it room while the boilerplate-only second text still costs little when it runs to the limit
    texts = ["Home | Login\n\nThe integral of 2x is x^2 + C.", "Click here to subscribe!"]
    results = run_hook("math-cleanup", texts, local_backend, tmp_path, max_tokens=24)
    assert len(results) == 2 and all(r.n_chunks == 1 and r.completion_tokens <= 24 for r in results)
    cleaned = [r for r in results if r.status == "ok"]
    assert cleaned, [(r.status, r.reason) for r in results]
    assert all(r.text and r.text != texts[r.id] and r.reason is None for r in cleaned)
    assert all(r.reason and r.text in (texts[r.id], None) for r in results if r.status != "ok")
    before = local_backend.stats.requests
    again = run_hook("math-cleanup", texts, local_backend, tmp_path, max_tokens=24)
    assert local_backend.stats.requests == before
    assert [r.as_dict() | {"cached_chunks": 0} for r in again] == [r.as_dict() for r in results]

    scored = run_hook("quality-annotate", texts, local_backend, tmp_path, max_tokens=24)
    for result, text in zip(scored, texts):
        assert result.text == text  # annotation never rewrites
        assert (result.status == "ok" and result.value in range(6)) or (
            result.status == "kept" and result.reason in ("unparseable_reply", "truncated") and result.value is None
        )


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed")
def test_llama_cpp_backend_says_how_to_get_its_runtime():
    backend = make_backend({"backend": "llama_cpp"})
    assert isinstance(backend, LlamaCppBackend) and backend.model == "SmolLM2-135M-Instruct.Q4_1"
    with pytest.raises(ImportError, match="llama-cpp-python"):
        backend.count_tokens("x")


def test_unknown_backend_and_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="unknown backend 'vllm'"):
        make_backend({"backend": "vllm"})
    with pytest.raises(ValueError, match="bad settings for backend 'transformers'"):
        make_backend({"backend": "transformers", "temprature": 0.2})
    # one `threads` setting (and `curate serve-llm --threads`) for either local runtime
    assert make_backend({"backend": "llama_cpp", "threads": 2}).threads == 2
    assert make_backend({"backend": "transformers", "threads": 2}).threads == 2


def test_backend_for_builds_one_backend_per_settings():
    """Stages share a process's backend, so a local model loads once however many batches and stages ask."""
    from curation.llm.backends import backend_for

    first = backend_for({"backend": "llama_cpp", "seed": 3, "threads": 1})
    assert backend_for({"threads": 1, "seed": 3, "backend": "llama_cpp"}) is first
    assert backend_for({"backend": "llama_cpp", "seed": 4, "threads": 1}) is not first


def test_http_backend_can_chunk_with_the_packaged_tokenizer():
    from curation.llm.openai_http import OpenAIBackend
    from curation.tokens import approximate_token_count

    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer="smollm2")
    text = "Let $f(x) = x^2 + 1$; then $f'(x) = 2x$."
    assert backend.count_tokens("Hello world") == 2  # SmolLM2's BPE: "Hello", " world"
    assert backend.count_tokens(text) == 26
    assert OpenAIBackend("http://127.0.0.1:9/v1", "m").count_tokens(text) == approximate_token_count(text)
