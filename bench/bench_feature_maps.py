"""Feature maps and Grad-CAM speed for one photo, after the model is loaded.

Usage: python bench/bench_feature_maps.py [--backbones NAME ...] [--repeats N]

Prints one table row per (backbone, operation): the first call (which traces
the TensorFlow graph once per backbone) and the median of the later calls,
against the targets of issue 3 (feature maps < 0.3 s, Grad-CAM < 0.6 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.images import load_image_file  # noqa: E402
from core.explain.feature_maps import extract_features, render_stage, top_channels  # noqa: E402
from core.explain.gradcam import grad_cam, gradcam_overlay  # noqa: E402
from core.models.backbones import availability, list_backbones, load_backbone  # noqa: E402

PHOTO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "singles" / "cat_bengal_fullbody.jpg"
TARGETS = {"feature maps": 0.3, "Grad-CAM": 0.6}


def feature_maps_once(backbone, image):
    """What the page does for a new photo: prepare, one forward pass, top 16 of every stage, draw one stage."""
    features = extract_features(backbone, backbone.prepare(image))
    tops = [top_channels(stage.activations, 16) for stage in features.stages]
    render_stage(features.stages[0], tops[0], min_size=112)
    return features


def gradcam_once(backbone, image):
    """Grad-CAM of the top-1 class and its overlay."""
    pixels = backbone.prepare(image)
    return gradcam_overlay(pixels, grad_cam(backbone, pixels).heatmap)


def timings(fn, repeats: int) -> tuple[float, float]:
    """Seconds of the first call and the median of ``repeats`` later calls."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    later = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        later.append(time.perf_counter() - start)
    return first, statistics.median(later)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite0"])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    if args.backbones == ["all"]:
        args.backbones = [s.name for s in list_backbones() if availability(s.name)[0]]
    image = load_image_file(PHOTO)
    print(f"photo: {PHOTO.name}; {os.cpu_count()} CPUs; median of {args.repeats} calls after a first (tracing) call")
    print(f"{'backbone':<20} {'operation':<14} {'first s':>8} {'median s':>9} {'target s':>9}  ok")
    failed = False
    for name in args.backbones:
        backbone = load_backbone(name)
        for label, fn in (("feature maps", feature_maps_once), ("Grad-CAM", gradcam_once)):
            first, median = timings(lambda fn=fn, backbone=backbone: fn(backbone, image), args.repeats)
            ok = median < TARGETS[label]
            failed |= not ok
            verdict = "yes" if ok else "NO"
            print(f"{name:<20} {label:<14} {first:>8.3f} {median:>9.3f} {TARGETS[label]:>9.1f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
