"""``curate serve-llm``: serve a local model over the OpenAI chat completions API on loopback.

Registered by ``pipelines.cli``; imports stay inside ``serve_llm`` so ``curate --help`` stays instant.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve-llm",
        help="serve a local LLM over an OpenAI-compatible API",
        description="Serve a local model (default: the packaged SmolLM2-135M-Instruct GGUF) at "
        "POST /v1/chat/completions and GET /v1/models, for the `openai` LLM backend.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    parser.add_argument(
        "--model", default=None, help="a .gguf file or Hugging Face model folder (default: packaged SmolLM2)"
    )
    parser.add_argument(
        "--runtime",
        choices=("transformers", "llama_cpp"),
        default="transformers",
        help="local runtime (llama_cpp needs llama-cpp-python installed)",
    )
    parser.add_argument("--batch-size", type=int, default=8, help="most requests decoded together")
    parser.add_argument("--max-tokens", type=int, default=512, help="reply limit when a request gives none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the model (default: the runtime's; 1 is faster on a busy machine)",
    )
    parser.set_defaults(func=serve_llm)


def serve_llm(args: argparse.Namespace) -> int:
    import sys
    import time

    from curation.llm.backends import make_backend
    from curation.llm.local_model import LlamaCppBackend, TransformersBackend
    from curation.llm.server import make_server

    settings = {"backend": args.runtime, "model": args.model, "seed": args.seed, "threads": args.threads}
    if args.runtime == "transformers":
        settings.update(batch_size=args.batch_size)
    started = time.perf_counter()
    backend = make_backend(settings)
    assert isinstance(backend, (TransformersBackend, LlamaCppBackend))  # the runtimes offered above
    backend.load()
    server = make_server(backend, args.host, args.port, batch_size=args.batch_size, default_max_tokens=args.max_tokens)
    host, port = str(server.server_address[0]), server.server_address[1]
    print(
        f"serve-llm: model {backend.model} loaded in {time.perf_counter() - started:.1f}s; "
        f"listening on http://{host}:{port}/v1",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
