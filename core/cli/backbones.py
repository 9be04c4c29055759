"""``backbones``, ``download-weights`` and ``download-dataset`` subcommands."""

from __future__ import annotations

from core.cli import emit_json, progress


def register(subparsers) -> None:
    """Adds the subcommands."""
    parser = subparsers.add_parser("backbones", help="list backbones and whether each is available")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run_backbones)
    parser = subparsers.add_parser("download-weights", help="download Keras Applications weights (network)")
    parser.add_argument("name", help="mobilenet_v2, resnet50 or vgg16")
    parser.set_defaults(func=run_download)
    parser = subparsers.add_parser("download-dataset", help="download and extract a dataset (network; before class)")
    parser.add_argument("name", choices=["oxford-pets", "cats-vs-dogs"])
    parser.set_defaults(func=run_download_dataset)


def run_backbones(args) -> int:
    """Prints each backbone with its input size and availability."""
    from core.models.backbones import availability, list_backbones

    rows = []
    for spec in list_backbones():
        available, reason = availability(spec.name)
        rows.append({"name": spec.name, "display_name": spec.display_name, "input_size": spec.input_size,
                     "available": available, "reason": reason, "weights": spec.weights_source})
    if args.json:
        emit_json(rows)
    else:
        for row in rows:
            mark = "yes" if row["available"] else "no "
            print(f"{row['name']:<20} {row['input_size']:>4}px  available: {mark}  {row['reason']}")
    return 0


def run_download(args) -> int:
    """Downloads one Keras Applications weight file with a progress line."""
    from core.data.downloads import ChecksumError, NoNetworkError
    from core.models.backbones import download_keras_weights

    def report(done, total):
        progress(f"{done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else ""))

    try:
        print(download_keras_weights(args.name, report))
    except (ValueError, NoNetworkError, ChecksumError) as exc:
        progress(f"error: {exc}")
        return 2
    return 0


def run_download_dataset(args) -> int:
    """Downloads and extracts Oxford-IIIT Pet or Cats vs Dogs, so learners in classroom mode can use it."""
    from core.data.archives import ArchiveError
    from core.data.downloads import ChecksumError, NoNetworkError
    from core.data.public_datasets import fetch_cats_vs_dogs, fetch_oxford_pets

    fetch = fetch_oxford_pets if args.name == "oxford-pets" else fetch_cats_vs_dogs
    try:
        print(fetch(lambda name, done, total: progress(f"{name}: {done / 1e6:.1f} MB")))
    except (NoNetworkError, ChecksumError, ArchiveError, OSError) as exc:
        progress(f"error: {exc}")
        return 2
    return 0
