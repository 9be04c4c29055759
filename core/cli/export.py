"""``export`` subcommand: a trained ``.keras`` model as the take-away bundle, or a TensorFlow Lite file."""

from __future__ import annotations

from pathlib import Path

from core.cli import emit_json, progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("export", help="write a trained .keras model's bundle (or just its .tflite)")
    parser.add_argument("--model", required=True, metavar="MODEL.keras")
    parser.add_argument("--labels", metavar="labels.txt",
                        help="its class names, one a line (default: those inside the model, or beside it)")
    parser.add_argument("--out", metavar="FOLDER",
                        help="write model.keras, labels.txt, model.tflite and predict.py there (as the page's zip)")
    parser.add_argument("--tflite", metavar="OUT.tflite", help="write only the TensorFlow Lite file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Loads the model safely, converts it and writes the files."""
    from core.transfer.export import ExportError, bundle_files, parse_labels, write_bundle
    from core.transfer.loading import ModelCheckError, load_model_file

    if not (args.out or args.tflite):
        progress("error: give --out FOLDER (the bundle) or --tflite OUT.tflite")
        return 2
    labels = Path(args.labels) if args.labels else Path(args.model).with_name("labels.txt")
    try:
        classes = parse_labels(labels.read_text(encoding="utf-8")) if labels.is_file() else None
        model, classes = load_model_file(args.model, classes)
        files = bundle_files(model, classes)
    except (ModelCheckError, ExportError, OSError) as exc:
        progress(f"error: {args.model}: {exc}")
        return 2
    written = [str(p) for p in write_bundle(args.out, files)] if args.out else []
    if args.tflite:
        Path(args.tflite).write_bytes(files["model.tflite"])
        written.append(args.tflite)
    result = {"files": written, "tflite": args.tflite, "bytes": len(files["model.tflite"]), "classes": classes,
              "input_size": int(model.input_shape[1])}
    if args.json:
        emit_json(result)
    else:
        print(f"wrote {', '.join(written)} ({len(classes)} classes)")
    return 0
