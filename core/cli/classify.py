"""``classify`` subcommand: top-k ImageNet classes of image files."""

from __future__ import annotations

import argparse

from core.cli import emit_json


def top_k_arg(value: str) -> int:
    """Parses --top: an integer from 1 to 1000."""
    k = int(value)
    if not 1 <= k <= 1000:
        raise argparse.ArgumentTypeError(f"--top must be from 1 to 1000, got {k}")
    return k


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("classify", help="top ImageNet classes of photos")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--top", type=top_k_arg, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Classifies each readable file; exit 2 if any could not be read."""
    from core.models.backbones import load_backbone
    from core.models.predictions import classify_images

    results, images, slots = read_images(args.images)
    if images:
        for slot, preds in zip(slots, classify_images(load_backbone(args.backbone), images, args.top)):
            results[slot]["predictions"] = [p.as_dict() for p in preds]
    return report(results, args.json)


def read_images(paths) -> tuple[list[dict], list, list[int]]:
    """Reads image files: a result row per file (with ``error`` for unreadable ones), the images, their rows."""
    from core.data.images import ImageInputError, load_image_file

    results, images, slots = [], [], []
    for path in paths:
        try:
            images.append(load_image_file(path))
            slots.append(len(results))
            results.append({"file": path})
        except ImageInputError as exc:
            results.append({"file": path, "error": str(exc)})
    return results, images, slots


def report(results: list[dict], as_json: bool) -> int:
    """Prints the results (JSON or a table); exit status 2 when any file failed."""
    if as_json:
        emit_json(results)
    else:
        _print_table(results)
    return 2 if any("error" in r for r in results) else 0


def _print_table(results) -> None:
    """Human-readable output."""
    for result in results:
        print(result["file"])
        if "error" in result:
            print(f"  error: {result['error']}")
        for p in result.get("predictions", []):
            print(f"  {p['prob']:7.2%}  {p['label']} ({p['index']})")
