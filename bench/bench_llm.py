"""Throughput of the LLM hook backends: the local transformers backend (tokens/s by batch size) and
`curate serve-llm` through the HTTP backend (requests/s by client concurrency). Prints tables; asserts nothing.

    python bench/bench_llm.py [--max-tokens 32] [--requests 8]
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROMPTS = [f"Explain in one sentence why {n} is {'even' if n % 2 == 0 else 'odd'}." for n in range(64)]


def requests_for(n: int, max_tokens: int):
    from curation.llm.protocol import ChatRequest

    return [ChatRequest([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], max_tokens) for i in range(n)]


def bench_local(max_tokens: int, n_requests: int) -> None:
    from curation.llm.local_model import TransformersBackend, dense_copy_of_gguf, packaged_gguf_path

    started = time.perf_counter()
    dense_copy_of_gguf(packaged_gguf_path())  # the one-off GGUF conversion, if not cached yet
    converted = time.perf_counter() - started
    started = time.perf_counter()
    backend = TransformersBackend().load()
    load_s = time.perf_counter() - started
    print(f"\nlocal transformers backend, {backend.model}: GGUF->cache {converted:.1f}s (0 if cached), "
          f"load from cache {load_s:.1f}s")
    backend.complete_many(requests_for(1, 4), lambda i, r: None)  # warm-up
    print(f"{'batch':>5} {'requests':>8} {'gen tokens':>10} {'seconds':>8} {'gen tok/s':>9} {'all tok/s':>9}")
    for batch_size in (1, 4, 8):
        backend.batch_size = batch_size
        before = backend.stats.as_dict()
        started = time.perf_counter()
        backend.complete_many(requests_for(n_requests, max_tokens), lambda i, r: None)
        seconds = time.perf_counter() - started
        after = backend.stats.as_dict()
        generated = after["completion_tokens"] - before["completion_tokens"]
        prompt = after["prompt_tokens"] - before["prompt_tokens"]
        print(f"{batch_size:>5} {n_requests:>8} {generated:>10} {seconds:>8.1f} {generated / seconds:>9.1f} "
              f"{(generated + prompt) / seconds:>9.1f}")


def bench_server(max_tokens: int, n_requests: int) -> None:
    from curation.llm import make_backend

    server = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "serve-llm", "--port", "0", "--batch-size", "8"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"listening on (http://\S+)", line).group(1)
        print(f"\ncurate serve-llm (batch up to 8) through the HTTP backend; {line.strip()}")
        print(f"{'concurrency':>11} {'requests':>8} {'seconds':>8} {'req/s':>6} {'gen tok/s':>9}")
        for concurrency in (1, 2, 4, 8):
            backend = make_backend({"base_url": url, "concurrency": concurrency})
            started = time.perf_counter()
            backend.complete_many(requests_for(n_requests, max_tokens), lambda i, r: None)
            seconds = time.perf_counter() - started
            stats = backend.stats
            assert stats.errors == 0, stats
            print(f"{concurrency:>11} {n_requests:>8} {seconds:>8.1f} {n_requests / seconds:>6.2f} "
                  f"{stats.completion_tokens / seconds:>9.1f}")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--only", choices=("local", "server"))
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; max_tokens={args.max_tokens}")
    if args.only != "server":
        bench_local(args.max_tokens, args.requests)
    if args.only != "local":
        bench_server(args.max_tokens, args.requests)
    print("\nanchor (measured on this machine kind, see DESIGN.md): llama-cpp-python ~70 tok/s with the prompt "
          "counted, transformers ~9 tok/s, on 2 cores")


if __name__ == "__main__":
    main()
