"""``predict`` subcommand: a trained model's top classes for image files, with its own class names."""

from __future__ import annotations

from core.cli.classify import read_images, report, top_k_arg


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("predict", help="top classes of photos from a trained .keras model")
    parser.add_argument("--model", required=True, metavar="MODEL.keras")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--top", type=top_k_arg, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Predicts each readable file; exit 2 if any could not be read."""
    from core.cli.evaluate import load_trained_model
    from core.models.predictions import top_k
    from core.transfer.pipeline import predict_probs

    model, classes = load_trained_model(args.model)
    results, images, slots = read_images(args.images)
    if images:
        for slot, probs in zip(slots, predict_probs(model, images)):
            results[slot]["predictions"] = [p.as_dict() for p in top_k(probs, min(args.top, len(classes)), classes)]
    return report(results, args.json)
