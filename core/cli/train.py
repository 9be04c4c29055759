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
    """Builds the page's job spec from the options and runs it through the one runner; saves the model."""
    from core.transfer.export import ExportError

    if not args.out.endswith(".keras"):
        progress("error: --out must end with .keras")
        return 2
    try:
        job = train_job(args)
        result = _train(job, args)
    except (ExportError, ValueError) as exc:
        progress(f"error: {exc}")
        return 2
    if args.json:
        emit_json(result)
    else:
        print(f"{len(result['classes'])} classes, {result['train_count']} training and {result['val_count']} "
              f"validation photos: validation accuracy {result['val_accuracy']:.1%} in {result['seconds']:.1f} s; "
              f"saved {args.out}")
    return 0


def train_job(args):
    """The ``TrainJob`` the page would submit for these options (a bad value raises ``ValueError`` before work)."""
    from core.transfer.finetune import FineTuneSettings
    from core.transfer.pipeline import DataSettings
    from core.transfer.training import HeadSettings
    from core.work.specs import TrainJob

    named = args.data in ("bundled", "oxford-pets", "cats-vs-dogs")
    source = args.data if named else "zip" if args.data.lower().endswith(".zip") else "folder"
    data = DataSettings(source, "" if named else args.data, args.task, args.per_class, args.val_fraction, args.seed,
                        args.official_split, args.views)
    fine = FineTuneSettings(blocks=args.fine_tune_blocks, epochs=args.fine_tune_epochs,
                            learning_rate=args.fine_tune_learning_rate, precision=args.fine_tune_precision) \
        if args.fine_tune_blocks else None
    head = HeadSettings(learning_rate=args.learning_rate, epochs=args.epochs, batch_size=args.batch_size)
    return TrainJob(args.backbone, data, head, fine)


def _train(job, args) -> dict:
    """Runs the job, printing its steps; returns the JSON result."""
    import time

    from core.data.downloads import Downloading
    from core.transfer.pipeline import Assembled
    from core.work.runner import run as run_job
    from core.work.training import Problem

    start, last, shown = time.perf_counter(), None, {}
    for record in run_job(job):
        if isinstance(record, Problem):
            raise record.error
        if isinstance(record, Downloading):
            _download_progress(record, shown)
        else:
            _print_step(record, job.training)
        last = record if isinstance(record, Assembled) else last
    result = _result(last.report, args)
    _save_bundle(last.model, last.report, job, args)
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
    from core.work.report import curves, fine_tune_summary

    split = report.data.split
    result = {"classes": list(report.data.dataset.classes), "train_count": int(len(split.train)),
              "val_count": int(len(split.val)), "views": args.views,
              "val_accuracy": report.evaluation.accuracy if report.evaluation else None,
              "history": curves(report.history), "seconds": None}
    if report.fine_tune is not None:
        result["fine_tune"] = fine_tune_summary(report)
    return result


def _save_bundle(model, report, job, args) -> None:
    """Writes the page's download bundle: the model at ``--out``, its labels, TFLite, report (the page's, with
    the spec), predict.py."""
    from pathlib import Path

    from core.transfer.export import bundle_files, write_bundle
    from core.work.report import training_report

    out = Path(args.out)
    summary = training_report(report, job) or _result(report, args)
    write_bundle(out.parent, bundle_files(model, report.data.dataset.classes, summary, model_file=out.name))


def _download_progress(record, shown: dict) -> None:
    """Prints download progress every 5%."""
    percent = int(100 * record.done / record.total) if record.total else record.done >> 20
    if percent // 5 != shown.get(record.name, -1):
        shown[record.name] = percent // 5
        progress(f"downloading {record.name}: " + (f"{percent}%" if record.total else f"{percent} MiB"))


def _extraction_progress(step) -> None:
    """Prints one line per extraction step."""
    left = f", {step.seconds_left:.0f} s left" if step.seconds_left else ""
    view = f" view {step.view_index + 1}/{step.view_count} ({step.view})" if step.view_count > 1 else ""
    progress(f"embeddings{view} {step.done}/{step.total} ({step.computed} computed, "
             f"{step.images_per_s:.1f} images/s{left})")
