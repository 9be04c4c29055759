"""``ideal`` subcommand: the image a backbone finds most like some ImageNet classes."""

from __future__ import annotations

import argparse
import time

from core.cli import emit_json, progress


def class_list(value: str) -> tuple[int, ...]:
    """Parses --class: comma-separated ImageNet indices, each 0 to 999."""
    try:
        classes = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--class takes indices like 284 or 281,282, got {value!r}") from None
    if not classes or not all(0 <= c < 1000 for c in classes):
        raise argparse.ArgumentTypeError(f"--class indices must be from 0 to 999, got {value!r}")
    return classes


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("ideal", help="generate the ideal image of ImageNet classes")
    parser.add_argument("--class", dest="classes", type=class_list, required=True, metavar="INDEX[,INDEX...]",
                        help="target class(es); several are averaged, e.g. 281,282,283,284,285 for all cats")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--mode", choices=("recognisable", "naive"), default="recognisable")
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, metavar="PNG", help="where to save the image")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def ideal_job(args):
    """The spec the page would submit for these settings (``core.work.specs.IdealJob``)."""
    from core.visualise.optimise import mode_config
    from core.work.specs import IdealJob

    config = mode_config(args.mode, classes=args.classes, steps=args.steps, size=args.size, seed=args.seed)
    return IdealJob(args.backbone, (config,))


def run(args) -> int:
    """Runs the job through the one runner, saves the PNG and reports the target probability measured on it."""
    from core.data.images import load_image_file
    from core.visualise.opinions import judge
    from core.work import shared
    from core.work.runner import run as run_job

    job = ideal_job(args)
    start, last = time.perf_counter(), None
    for last in run_job(job):
        image = last.images[-1]
        if image.step % 32 == 0 or image.step == image.config.total_steps:
            progress(f"step {image.step}/{image.config.total_steps}: target probability {image.curve[-1][1]:.3f}")
    seconds, config = time.perf_counter() - start, job.configs[0]
    _save_png(last.images[-1].image, args.out)
    backbone = shared.backbones(args.backbone)
    prob, _ = judge(backbone, load_image_file(args.out), config.classes)
    result = {"classes": list(config.classes), "prob": prob, "steps": config.total_steps, "seconds": seconds,
              "png": args.out}
    if args.json:
        emit_json(result)
    else:
        print(f"{args.out}: {config.total_steps} steps in {seconds:.1f} s; "
              f"{backbone.spec.display_name} gives the target classes {prob:.1%} on the saved PNG")
    return 0


def _save_png(image, path: str) -> None:
    """Writes a uint8 RGB image as PNG."""
    from PIL import Image

    Image.fromarray(image).save(path, format="PNG")
