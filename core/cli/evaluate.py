"""``evaluate`` subcommand: accuracy, per-class accuracy and confusion matrix of a saved model."""

from __future__ import annotations

from collections import Counter

from core.cli import emit_json, progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("evaluate", help="score a trained .keras model on labelled photos")
    parser.add_argument("--model", required=True, metavar="MODEL.keras")
    parser.add_argument("--data", required=True, help="a folder or .zip (or 'bundled', 'oxford-pets', "
                                                                "'cats-vs-dogs')")
    parser.add_argument("--task", required=True, choices=["species", "breeds", "folders"])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def load_trained_model(path: str):
    """Loads a saved Transfer Lab model (safe mode, size checks) and its class names (labels.txt beside it wins)."""
    from pathlib import Path

    from core.transfer.export import parse_labels
    from core.transfer.loading import load_model_file

    labels = Path(path).with_name("labels.txt")
    return load_model_file(path, parse_labels(labels.read_text(encoding="utf-8")) if labels.is_file() else None)


def run(args) -> int:
    """Scores the model on the photos of classes it knows; reports the others."""
    from core.data.archives import ArchiveError
    from core.data.datasets import DatasetError, open_dataset
    from core.data.downloads import NoNetworkError
    from core.data.images import ImageInputError, load_image_file
    from core.transfer.evaluation import evaluate_probs
    from core.transfer.pipeline import predict_probs

    try:
        model, classes = load_trained_model(args.model)
        dataset = open_dataset(args.data, args.task)
    except (DatasetError, ArchiveError, NoNetworkError, ValueError, OSError) as exc:
        progress(f"error: {exc}")
        return 2
    index = {name: i for i, name in enumerate(classes)}
    images, labels, unknown, unreadable = [], [], Counter(), []
    for sample in dataset.samples:
        name = dataset.classes[sample.label]
        if name not in index:
            unknown[name] += 1
            continue
        try:
            images.append(load_image_file(sample.path))
            labels.append(index[name])
        except ImageInputError as exc:
            unreadable.append({"file": sample.name, "error": str(exc)})
    evaluation = evaluate_probs(predict_probs(model, images), labels, classes)
    result = {**evaluation.as_dict(), "unknown_classes": dict(unknown), "unreadable": unreadable}
    for name, count in unknown.items():
        progress(f"not counted: {count} photo(s) of {name!r}, a class the model does not know")
    if args.json:
        emit_json(result)
    else:
        print(f"accuracy {evaluation.accuracy:.1%} on {evaluation.count} photos")
        for name, accuracy in evaluation.per_class.items():
            print(f"  {accuracy:7.1%}  {name}")
    return 0
