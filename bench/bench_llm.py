"""Throughput of the LLM hook backends: the local transformers backend (tokens/s by batch size) and
`curate serve-llm` through the HTTP backend (requests/s by client concurrency). Prints tables; asserts nothing.

    python bench/bench_llm.py [--max-tokens 32] [--requests 8]
"""

from __future__ import annotations

import argparse
import os
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


def bench_local(max_tokens: int, n_requests: int, threads: int | None) -> None:
    import tempfile

    started = time.perf_counter()
    import transformers  # noqa: F401 - timed apart from the model loads

    from curation.llm.local_model import TransformersBackend

    imported = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as empty_cache:
        started = time.perf_counter()
        TransformersBackend(cache_dir=empty_cache, threads=threads).load()
        first_load = time.perf_counter() - started
    started = time.perf_counter()
    backend = TransformersBackend(threads=threads).load()  # from the user cache: converted by now
    cached_load = time.perf_counter() - started
    print(
        f"\nlocal transformers backend, {backend.model}: import transformers {imported:.1f}s; load "
        f"{first_load:.1f}s from the GGUF (dequantise + save dense copy), {cached_load:.1f}s from the dense copy"
    )
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
        print(
            f"{batch_size:>5} {n_requests:>8} {generated:>10} {seconds:>8.1f} {generated / seconds:>9.1f} "
            f"{(generated + prompt) / seconds:>9.1f}"
        )


def bench_server(max_tokens: int, n_requests: int, threads: int | None) -> None:
    from curation.llm import make_backend

    command = [sys.executable, "-m", "pipelines.cli", "serve-llm", "--port", "0", "--batch-size", "8"]
    command += ["--threads", str(threads)] if threads else []
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
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
            print(
                f"{concurrency:>11} {n_requests:>8} {seconds:>8.1f} {n_requests / seconds:>6.2f} "
                f"{stats.completion_tokens / seconds:>9.1f}"
            )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--only", choices=("local", "server"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    import torch

    threads = args.threads or torch.get_num_threads()
    print(
        f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; max_tokens={args.max_tokens}"
    )
    if args.only != "server":
        bench_local(args.max_tokens, args.requests, args.threads)
    if args.only != "local":
        bench_server(args.max_tokens, args.requests, args.threads)
    print(
        "\nanchor (measured on this machine kind, see curation/llm/README.md): llama-cpp-python ~70 tok/s with the prompt "
        "counted, transformers ~9 tok/s, on 2 cores"
    )


if __name__ == "__main__":
    main()
