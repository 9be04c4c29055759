"""``attack`` subcommand: a bounded adversarial attack on one photo, saved as 8-bit PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import emit_json, progress


def target_arg(value: str) -> tuple[int, ...]:
    """Parses --target: ``untargeted`` or comma-separated ImageNet class indices (0-999)."""
    if value.strip().lower() == "untargeted":
        return ()
    try:
        indices = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target must be class indices like 284 or 281,285, or untargeted; "
                                         f"got {value!r}") from None
    if any(not 0 <= i <= 999 for i in indices) or len(set(indices)) != len(indices):
        raise argparse.ArgumentTypeError(f"--target indices must be distinct and from 0 to 999, got {value!r}")
    return indices


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("attack", help="turn a photo into an adversarial example (saved as PNGs)")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--target", type=target_arg, required=True,
                        help="INDEX[,INDEX...] (any of them wins, e.g. 281,282,283,284,285 for any cat) or untargeted")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--method", choices=("pgd", "fgsm"), default="pgd")
    parser.add_argument("--eps", type=int, default=2, help="L-inf budget in pixel levels, 0-255 (default 2)")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random start")
    parser.add_argument("--random-start", action="store_true", help="PGD from a random point inside the budget")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for clean.png, adversarial.png, "
                                                                    "perturbation.png")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def attack_job(args, store):
    """The spec the page would submit for this photo and these settings (its pixels go to ``store``)."""
    from core.attack.attack import AttackConfig
    from core.data.images import load_image_file
    from core.work.specs import AttackJob
    from core.work.store import put_array

    config = AttackConfig(method=args.method, eps=args.eps, steps=args.steps, target=args.target,
                          random_start=args.random_start, seed=args.seed)
    return AttackJob(args.backbone, put_array(store, load_image_file(args.image)), config)


def run(args) -> int:
    """Attacks the photo through the one runner, saves the three PNGs and reports what the saved files are
    classified as."""
    from core.attack.attack import amplification_factor, amplify, measure
    from core.data.images import load_image_file, to_png_bytes
    from core.models.backbones import get_spec
    from core.work import shared
    from core.work.runner import run as run_job
    from core.work.store import default_store

    store = default_store()
    job = attack_job(args, store)
    progress(f"preparing {get_spec(args.backbone).display_name}'s input gradient (once)")
    for last in run_job(job, store):
        record = last.step
        if not record.final:
            progress(f"step {record.step}/{last.total_steps}: {record.top[0].label} {record.top[0].prob:.1%}, "
                     f"target {record.target_prob:.1%}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {**last.files(), "perturbation.png": amplify(record.perturbation, amplification_factor(job.config.eps))}
    for name, data in files.items():
        (out / name).write_bytes(data if isinstance(data, bytes) else to_png_bytes(data))
    attacker = shared.attackers(args.backbone)
    report = _report(measure(attacker, load_image_file(out / "clean.png"), load_image_file(out / "adversarial.png"),
                             job.config.target), last.seconds)
    if args.json:
        emit_json(report)
    else:
        _print(report, out, job.config.targeted)
    return 0


def _report(measured: dict, seconds: float) -> dict:
    """The JSON contract, from measurements on the re-read PNGs."""
    return {"before": measured["before"][0].as_dict(), "after": measured["after"][0].as_dict(),
            "target_prob": measured["target_prob"], "linf": measured["linf"], "l2": measured["l2"],
            "success": bool(measured["success"]), "seconds": seconds}


def _print(report: dict, out: Path, targeted: bool) -> None:
    """Human-readable output."""
    before, after = report["before"], report["after"]
    print(f"before: {before['label']} ({before['index']}) {before['prob']:.1%}")
    print(f"after:  {after['label']} ({after['index']}) {after['prob']:.1%}")
    kind = "target" if targeted else "original class"
    print(f"{kind} probability {report['target_prob']:.1%}, L-inf {report['linf']} levels, L2 {report['l2']:.1f}, "
          f"{'success' if report['success'] else 'failed'} in {report['seconds']:.2f} s")
    print(f"saved {out / 'clean.png'}, {out / 'adversarial.png'}, {out / 'perturbation.png'}")
