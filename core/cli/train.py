"""``train`` subcommand: train a classifier head on a frozen backbone and save the whole model."""

from __future__ import annotations

from core.cli import emit_json, positive_int, progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("train", help="train a classifier on a frozen backbone (cached embeddings)")
    parser.add_argument("--data", required=True, help="a folder, a .zip, 'bundled' (the photos shipped with the lab), "
                                                                "'oxford-pets' or 'cats-vs-dogs'")
    parser.add_argument("--task", required=True, choices=["species", "breeds", "folders"])
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--per-class", type=int, default=0, help="at most N photos per class (0: all)")
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--official-split", action="store_true", help="use Oxford-IIIT Pet's trainval/test split")
    parser.add_argument("--views", type=int, default=4, choices=[1, 2, 4],
                        help="views of each photo the head learns from, as the app's Augmented views (default 4): "
                             "1 the deployed centre crop only, 2 adds its mirror image, 4 also the uncropped frame "
                             "and its mirror (validation always uses the deployed view)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fine-tune-blocks", type=int, default=0, metavar="N",
                        help="then unfreeze the top N backbone blocks and fine-tune on the photos (slow on a CPU)")
    parser.add_argument("--fine-tune-epochs", type=positive_int, default=3, metavar="E")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-5)
    parser.add_argument("--fine-tune-precision", choices=["auto", "float32", "mixed_float16"], default="auto",
                        help="auto: mixed_float16 on a GPU, float32 on a CPU")
    parser.add_argument("--out", required=True, metavar="MODEL.keras",
                        help="the model; labels.txt, MODEL.tflite, report.json/.md and predict.py go beside it")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Loads the data, then runs the training pipeline (the page's too) and saves the assembled model."""
    from core.data.archives import ArchiveError
    from core.data.datasets import DatasetError, limit_per_class, open_dataset
    from core.data.downloads import ChecksumError, NoNetworkError
    from core.transfer.export import ExportError

    if not args.out.endswith(".keras"):
        progress("error: --out must end with .keras")
        return 2
    try:
        settings = training_settings(args)
        dataset = limit_per_class(open_dataset(args.data, args.task, progress=_download_progress()),
                                  args.per_class, args.seed)
        result = _train(dataset, args, settings)
    except (DatasetError, ArchiveError, NoNetworkError, ChecksumError, ExportError, ValueError) as exc:
        progress(f"error: {exc}")
        return 2
    if args.json:
        emit_json(result)
    else:
        print(f"{len(result['classes'])} classes, {result['train_count']} training and {result['val_count']} "
              f"validation photos: validation accuracy {result['val_accuracy']:.1%} in {result['seconds']:.1f} s; "
              f"saved {args.out}")
    return 0


def training_settings(args):
    """The pipeline's settings from the command line (a bad value raises ``ValueError`` before any work)."""
    from core.transfer.finetune import FineTuneSettings
    from core.transfer.pipeline import TrainingSettings
    from core.transfer.training import HeadSettings

    fine = FineTuneSettings(blocks=args.fine_tune_blocks, epochs=args.fine_tune_epochs,
                            learning_rate=args.fine_tune_learning_rate, precision=args.fine_tune_precision) \
        if args.fine_tune_blocks else None
    head = HeadSettings(learning_rate=args.learning_rate, epochs=args.epochs, batch_size=args.batch_size)
    return TrainingSettings(views=args.views, val_fraction=args.val_fraction, seed=args.seed,
                            official_split=args.official_split, head=head, fine_tune=fine)


def _train(dataset, args, settings) -> dict:
    """Runs the pipeline, printing its steps; returns the JSON result."""
    import time

    from core.models.backbones import load_backbone
    from core.transfer.pipeline import Assembled, train_steps

    start = time.perf_counter()
    for note in dataset.skipped:
        progress(f"skipped {note}")
    backbone = load_backbone(args.backbone)
    # This process owns its backbone, so fine-tuning may change it in place (no second copy to load).
    last = None
    for record in train_steps(dataset, backbone, settings, fine_tune_embedding=backbone.embedding_model):
        _print_step(record, settings)
        last = record if isinstance(record, Assembled) else last
    result = _result(last.report, args)
    _save_bundle(last.model, last.report, args, result)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _print_step(record, settings) -> None:
    """One progress line per pipeline step (stderr), as before the pipeline was shared."""
    from core.transfer.pipeline import Assembled, Epoch, Extracting, Prepared

    if isinstance(record, Extracting):
        _extraction_progress(record.step)
    elif isinstance(record, Prepared):
        for name, message in record.data.embeddings.failed:
            progress(f"skipped {name}: {message}")
        if record.data.split.duplicate_groups:
            progress(f"found {len(record.data.split.duplicate_groups)} groups of near-duplicate photos; "
                     "each group stays on one side of the split")
    elif isinstance(record, Assembled) and settings.fine_tune is not None and not record.fine_tuned:
        progress(f"fine-tuning the top {settings.fine_tune.blocks} block(s) on "
                 f"{len(record.report.data.split.train)} photos")
    elif isinstance(record, Epoch):
        name = "fine-tune epoch" if record.phase == "fine-tune" else "epoch"
        progress(f"{name} {record.epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in record.logs.items()))


def _result(report, args) -> dict:
    """The JSON contract: classes, counts, views, accuracy, curves (and fine-tuning's)."""
    split = report.data.split
    result = {"classes": list(report.data.dataset.classes), "train_count": int(len(split.train)),
              "val_count": int(len(split.val)), "views": args.views,
              "val_accuracy": report.evaluation.accuracy if report.evaluation else None,
              "history": _history(report.history), "seconds": None}
    fine = report.fine_tune
    if fine is not None:
        result["fine_tune"] = {"val_accuracy": fine.evaluation.accuracy if fine.evaluation else None,
                               "history": _history({k: v[fine.start_epoch:] for k, v in fine.history.items()}),
                               "seconds": round(fine.seconds, 3), "unfrozen": list(fine.unfrozen),
                               "precision": fine.precision}
    return result


def _save_bundle(model, report, args, result) -> None:
    """Writes the page's download bundle: the model at ``--out``, its labels, TFLite, report, predict.py."""
    from pathlib import Path

    from core.transfer.export import bundle_files, run_report, write_bundle

    classes = report.data.dataset.classes
    summary = run_report({"dataset": str(args.data), "task": args.task, "backbone": args.backbone,
                          "classes": classes, "settings": {
                              "epochs": args.epochs, "batch_size": args.batch_size,
                              "learning_rate": args.learning_rate, "seed": args.seed, "views": args.views},
                          "train_count": result["train_count"], "val_count": result["val_count"],
                          "evaluation": report.evaluation, "history": result["history"],
                          "fine_tune": result.get("fine_tune")}) if report.evaluation else dict(result)
    out = Path(args.out)
    write_bundle(out.parent, bundle_files(model, classes, summary, model_file=out.name))


def _history(history: dict) -> dict:
    """The four curves of the JSON contract."""
    return {key: history.get(key, []) for key in ("loss", "val_loss", "accuracy", "val_accuracy")}


def _download_progress():
    """Prints download progress every 5%."""
    last = {}

    def report(name, done, total):
        percent = int(100 * done / total) if total else done >> 20
        if percent // 5 != last.get(name, -1):
            last[name] = percent // 5
            progress(f"downloading {name}: " + (f"{percent}%" if total else f"{percent} MiB"))

    return report


def _extraction_progress(step) -> None:
    """Prints one line per extraction step."""
    left = f", {step.seconds_left:.0f} s left" if step.seconds_left else ""
    view = f" view {step.view_index + 1}/{step.view_count} ({step.view})" if step.view_count > 1 else ""
    progress(f"embeddings{view} {step.done}/{step.total} ({step.computed} computed, "
             f"{step.images_per_s:.1f} images/s{left})")
