"""``curate serve-llm``: serve a local model over the OpenAI chat completions API on loopback.

Registered by ``pipelines.cli``; imports stay inside ``serve_llm`` so ``curate --help`` stays instant. The
limits a request is held to are flags here and fields of ``curation.llm.server.ServerLimits`` (why each exists
is there); the ones left unset are sized to the model's context once it is loaded.
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
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (needs an API key; the server has no TLS)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require `Authorization: Bearer KEY` (default: env CURATION_LLM_API_KEY; the variable keeps the key "
        "out of the process list)",
    )
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
    parser.add_argument(
        "--max-tokens-limit",
        type=int,
        default=None,
        help="largest max_tokens a request may ask; more is refused with 400 (default: the model's context)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body; more is refused with 413 unread (default: 128 bytes per context token, "
        "at least 1 MiB)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=None,
        help="seconds a client has to send a whole request, and an idle connection stays open (default: 10)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=None,
        help="seconds from a request's arrival to its answer; a generation past it ends as finish_reason "
        "length (default: 300)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="open connections held at once; more are answered 503 (default: 32)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the model (default: the runtime's; 1 is faster on a busy machine)",
    )
    parser.set_defaults(func=serve_llm)


def serve_llm(args: argparse.Namespace) -> int:
    import os
    import signal
    import sys
    import time

    from curation.llm.backends import make_backend
    from curation.llm.local_model import LlamaCppBackend, TransformersBackend
    from curation.llm.server import make_server
    from curation.llm.server_limits import ENV_API_KEY, ServerLimits, check_bind

    api_key = args.api_key or os.environ.get(ENV_API_KEY) or None
    try:  # before loading the model: a refused bind should say so at once, not after a minute
        check_bind(args.host, allow_remote=args.allow_remote, api_key=api_key)
    except ValueError as err:
        print(f"curate serve-llm: {err}", file=sys.stderr)
        return 2
    settings = {"backend": args.runtime, "model": args.model, "seed": args.seed, "threads": args.threads}
    if args.runtime == "transformers":
        settings.update(batch_size=args.batch_size)
    started = time.perf_counter()
    backend = make_backend(settings)
    assert isinstance(backend, (TransformersBackend, LlamaCppBackend))  # the runtimes offered above
    backend.load()
    try:
        limits = ServerLimits.for_context(
            backend.context_tokens,
            max_body_bytes=args.max_body_bytes,
            max_tokens=args.max_tokens_limit,
            default_max_tokens=args.max_tokens,
            read_timeout=args.read_timeout,
            request_timeout=args.request_timeout,
            max_connections=args.max_connections,
        )
        server = make_server(
            backend,
            args.host,
            args.port,
            batch_size=args.batch_size,
            limits=limits,
            api_key=api_key,
            allow_remote=args.allow_remote,
        )
    except (ValueError, OSError) as err:
        print(f"curate serve-llm: {err}", file=sys.stderr)
        return 2
    host, port = str(server.server_address[0]), server.server_address[1]
    print(
        f"serve-llm: model {backend.model} loaded in {time.perf_counter() - started:.1f}s; "
        f"listening on http://{host}:{port}/v1",
        flush=True,
    )
    print(
        f"serve-llm: limits: body {limits.max_body_bytes} bytes, max_tokens {limits.max_tokens}, "
        f"read {limits.read_timeout:g}s, request {limits.request_timeout:g}s, {limits.max_connections} connections; "
        f"API key {'required' if api_key else 'not required'}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()  # stops a generation in progress at its next token
    sys.stdout.flush()
    return 0
