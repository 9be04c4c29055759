"""``python -m core``: the command line for Transfer Lab's operations.

Each module in this package that defines ``register(subparsers)`` adds one
subcommand; the handler it sets as ``func`` returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys


def emit_json(value) -> None:
    """Prints one JSON document to stdout."""
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def progress(message: str) -> None:
    """Prints a progress line to stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


def positive_int(value: str) -> int:
    """Parses an option that takes a whole number of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """Builds the parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Transfer Lab command line")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand and returns its exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # bad settings or an unreadable photo (ImageInputError is a ValueError)
        progress(f"error: {exc}")
        return 2
