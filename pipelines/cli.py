"""The `curate` command line.

Subcommands come from modules with a ``register(subparsers)`` function: ``pipelines.commands`` (run, stats,
extract-html, eval-extract) and ``curation.llm.commands`` (serve-llm, which needs nothing else). A registered
subcommand sets ``func`` on its parser; ``func(args)`` returns the process exit code. Heavy imports stay inside
the ``func`` bodies so that ``curate --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "pipelines.commands",
    "curation.llm.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate", description="Pretraining data curation: WARC shards to a parquet mixture."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # each one exists: a module that fails to import is a real error
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
