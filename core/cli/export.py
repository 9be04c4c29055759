"""``export`` subcommand: a trained ``.keras`` model as a TensorFlow Lite file."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from core.cli import emit_json, progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("export", help="convert a trained .keras model to TensorFlow Lite")
    parser.add_argument("--model", required=True, metavar="MODEL.keras")
    parser.add_argument("--tflite", required=True, metavar="OUT.tflite")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Loads the model safely, converts it and writes the file."""
    from core.export import ModelCheckError, load_model_file, tflite_bytes

    try:
        model, classes = load_model_file(args.model)
    except ModelCheckError as exc:
        progress(f"error: {args.model}: {exc}")
        return 2
    with contextlib.redirect_stdout(sys.stderr):  # the converter's prints would break --json
        content = tflite_bytes(model)
    Path(args.tflite).write_bytes(content)
    result = {"tflite": args.tflite, "bytes": len(content), "classes": classes,
              "input_size": int(model.input_shape[1])}
    if args.json:
        emit_json(result)
    else:
        print(f"wrote {args.tflite} ({len(content) / 1e6:.1f} MB, {len(classes)} classes)")
    return 0
