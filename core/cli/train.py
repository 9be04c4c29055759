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
    """Loads the data, extracts (cached) embeddings, trains the head and saves the assembled model."""
    from core.data.archives import ArchiveError
    from core.data.datasets import DatasetError, limit_per_class, open_dataset
    from core.data.downloads import ChecksumError, NoNetworkError
    from core.transfer.training import HeadSettings

    if not args.out.endswith(".keras"):
        progress("error: --out must end with .keras")
        return 2
    try:
        settings = HeadSettings(learning_rate=args.learning_rate, epochs=args.epochs, batch_size=args.batch_size,
                                seed=args.seed)
        dataset = limit_per_class(open_dataset(args.data, args.task, progress=_download_progress()),
                                  args.per_class, args.seed)
    except (DatasetError, ArchiveError, NoNetworkError, ChecksumError, ValueError) as exc:
        progress(f"error: {exc}")
        return 2
    from core.transfer.export import ExportError

    try:
        result = _train(dataset, args, settings)
    except ExportError as exc:
        progress(f"error: {exc}")
        return 2
    if args.json:
        emit_json(result)
    else:
        print(f"{len(result['classes'])} classes, {result['train_count']} training and {result['val_count']} "
              f"validation photos: validation accuracy {result['val_accuracy']:.1%} in {result['seconds']:.1f} s; "
              f"saved {args.out}")
    return 0


def _train(dataset, args, settings) -> dict:
    """The training run itself; returns the JSON result."""
    import time

    from core.data.embeddings import embedder_for, run_extraction
    from core.models.backbones import load_backbone
    from core.transfer.evaluation import evaluate_probs
    from core.transfer.pipeline import export_model, prepare_data
    from core.transfer.training import train_head

    start = time.perf_counter()
    for note in dataset.skipped:
        progress(f"skipped {note}")
    backbone = load_backbone(args.backbone)
    embeddings, _ = run_extraction(embedder_for(backbone), dataset.samples, on_step=_extraction_progress,
                                   views=args.views)
    for name, message in embeddings.failed:
        progress(f"skipped {name}: {message}")
    data = prepare_data(dataset, embeddings, args.val_fraction, args.seed, args.official_split)
    if data.split.duplicate_groups:
        progress(f"found {len(data.split.duplicate_groups)} groups of near-duplicate photos; "
                 "each group stays on one side of the split")
    trained = train_head(*data.train, len(dataset.classes), *data.val, settings=settings,
                         on_epoch=lambda r: progress(f"epoch {r.epoch}: " + ", ".join(
                             f"{k} {v:.4f}" for k, v in r.logs.items())))
    val_x, val_y = data.val
    evaluation = evaluate_probs(trained.head.predict(val_x, verbose=0), val_y, dataset.classes) if len(val_y) \
        else None
    model = export_model(backbone.embedding_model(), trained.head, dataset.classes)
    result = {"classes": list(dataset.classes), "train_count": int(len(data.split.train)),
              "val_count": int(len(data.split.val)), "views": args.views,
              "val_accuracy": evaluation.accuracy if evaluation else None,
              "history": _history(trained.history), "seconds": None}
    if args.fine_tune_blocks:
        model, result["fine_tune"] = _fine_tune(backbone, trained.head, data, args)
    _save_bundle(model, dataset, args, evaluation, result)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _save_bundle(model, dataset, args, evaluation, result) -> None:
    """Writes the page's download bundle: the model at ``--out``, its labels, TFLite, report, predict.py."""
    from pathlib import Path

    from core.transfer.export import bundle_files, run_report, write_bundle

    report = run_report({"dataset": str(args.data), "task": args.task, "backbone": args.backbone,
                         "classes": dataset.classes, "settings": {
                             "epochs": args.epochs, "batch_size": args.batch_size,
                             "learning_rate": args.learning_rate, "seed": args.seed, "views": args.views},
                         "train_count": result["train_count"], "val_count": result["val_count"],
                         "evaluation": evaluation, "history": result["history"],
                         "fine_tune": result.get("fine_tune")}) if evaluation else dict(result)
    out = Path(args.out)
    write_bundle(out.parent, bundle_files(model, dataset.classes, report, model_file=out.name))


def _history(history: dict) -> dict:
    """The four curves of the JSON contract."""
    return {key: history.get(key, []) for key in ("loss", "val_loss", "accuracy", "val_accuracy")}


def _fine_tune(backbone, head, data, args):
    """Phase two: the top blocks of this process's own backbone, trained on the photos; returns (model, JSON)."""
    import numpy as np

    from core.data.images import load_image_file
    from core.transfer.finetune import FineTuneSettings, fine_tune

    settings = FineTuneSettings(blocks=args.fine_tune_blocks, epochs=args.fine_tune_epochs,
                                learning_rate=args.fine_tune_learning_rate, seed=args.seed,
                                precision=args.fine_tune_precision)
    pixels = np.stack([backbone.prepare(load_image_file(data.sample(row).path))
                       for row in range(len(data.labels))])
    progress(f"fine-tuning the top {settings.blocks} block(s) on {len(data.split.train)} photos")
    tuned = fine_tune(backbone.embedding_model(), head, data.dataset.classes,
                      pixels[data.split.train], data.labels[data.split.train], pixels[data.split.val],
                      data.labels[data.split.val], settings,
                      on_epoch=lambda r: progress(f"fine-tune epoch {r.epoch}: " + ", ".join(
                          f"{k} {v:.4f}" for k, v in r.logs.items())))
    val = data.split.val
    accuracy = float(np.mean(np.argmax(tuned.model.predict(pixels[val], verbose=0), 1) == data.labels[val])) \
        if len(val) else None
    return tuned.model, {"val_accuracy": accuracy, "history": _history(tuned.history),
                         "seconds": round(tuned.seconds, 3), "unfrozen": list(tuned.unfrozen),
                         "precision": tuned.precision}


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
