"""Bench: does the recognisable recipe make images that another network also recognises, and how fast?

For each target class: 256 steps at 224 px on EfficientNet-Lite0 (recognisable and naive),
save the PNG, and let EfficientNet-Lite2 (a network the image was not made on) classify the
PNG as it would a photo. Targets (issue 6): Siamese cat on Lite0 gives a summed cat
probability (281-285) of at least 0.9 on Lite2 in recognisable mode (the naive mode a few
percent), in under 15 s on a 2-core CPU.

Run: ``python bench/bench_ideal_cat.py [--steps 256] [--out DIR] [--naive]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core.models.backbones import load_backbone  # noqa: E402
from core.models.imagenet import CAT_CLASSES, class_name  # noqa: E402
from core.visualise.opinions import judge  # noqa: E402
from core.visualise.optimise import IdealConfig, Visualiser, mode_config  # noqa: E402

# (target classes, classes whose summed Lite2 probability is reported)
TARGETS = (((284,), CAT_CLASSES), ((340,), (340,)), ((281,), CAT_CLASSES), ((1,), (1,)))


def run_one(visualiser, config: IdealConfig, out: Path) -> tuple[Path, float]:
    """Runs one visualisation to the end; returns the saved PNG and the seconds it took."""
    start = time.perf_counter()
    image = None
    for record in visualiser.run(config):
        image = record.image
    seconds = time.perf_counter() - start
    name = "-".join(map(str, config.classes))
    path = out / f"{config.mode}_{name}_{config.steps}steps_{config.size}px_seed{config.seed}.png"
    Image.fromarray(image).save(path)
    return path, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "ideal_cat_bench"),
                        help="folder for the PNGs (look at them: a learner should see the class)")
    parser.add_argument("--naive", action="store_true", help="also run the naive mode for every target")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    maker, judge_net = load_backbone("efficientnet_lite0"), load_backbone("efficientnet_lite2")
    visualiser = Visualiser(maker.model, name="Lite0")
    warm = time.perf_counter()
    list(visualiser.run(IdealConfig(classes=(284,), steps=1, size=args.size)))
    list(visualiser.run(mode_config("naive", classes=(284,), steps=1, size=args.size)))
    print(f"compile (trace both steps once): {time.perf_counter() - warm:.1f} s; "
          f"CPU cores visible: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'target':<24} {'mode':<13} {'Lite0 (own)':>11} {'Lite2':>7} {'Lite2 top-1':<26} {'seconds':>7}")
    for classes, judged in TARGETS:
        modes = ("recognisable", "naive") if args.naive or classes == (284,) else ("recognisable",)
        for mode in modes:
            config = mode_config(mode, classes=classes, steps=args.steps, size=args.size, seed=args.seed,
                                 record_every=args.steps)
            path, seconds = run_one(visualiser, config, out)
            png = np.asarray(Image.open(path).convert("RGB"))
            own, _ = judge(maker, png, judged)
            other, probs = judge(judge_net, png, judged)
            top = int(np.argmax(probs))
            label = " + ".join(class_name(c) for c in classes)
            summed = "cats" if judged == CAT_CLASSES else "target"
            print(f"{label:<24} {mode:<13} {own:>11.3f} {other:>7.3f} {class_name(top)[:20] + f' {probs[top]:.0%}':<26}"
                  f" {seconds:>7.1f}   (P summed over {summed}; {path})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
