"""Backbone bench: load times, and classification throughput against the raw model call.

Usage: python bench/bench_backbones.py [--repeats N]

Prints a table: first load (with weight conversion, empty cache) and cached
load per backbone; then, for the default backbone, images per second at batch
32 for the whole pipeline (crop/resize, model, softmax, top-5) and for the raw
model call on the same pre-decoded, pre-resized tensors, and their ratio
(target: the pipeline keeps at least 80% of the raw throughput).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.data.images import load_image_file  # noqa: E402
from core.models.backbones import availability, list_backbones, load_backbone  # noqa: E402
from core.models.predictions import classify_images  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "data" / "pets-mini"


def timed(fn):
    """Seconds one call takes, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def load_times() -> list[tuple[str, float, float]]:
    """First (converting) and cached load time of each available backbone."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TRANSFER_LAB_CACHE"] = cache
        for spec in list_backbones():
            if availability(spec.name)[0]:
                first, _ = timed(lambda name=spec.name: load_backbone(name))
                cached, _ = timed(lambda name=spec.name: load_backbone(name))
                rows.append((spec.display_name, first, cached))
    return rows


def throughput(name: str, repeats: int) -> tuple[float, float]:
    """Images per second of the pipeline and of the raw model call, batch 32."""
    backbone = load_backbone(name)
    images = [load_image_file(p) for p in sorted(PHOTOS.glob("*/*.jpg"))[:32]]
    pixels = np.stack([backbone.prepare(i) for i in images]).astype(np.float32)
    backbone.model.predict_on_batch(pixels)  # warm-up: trace and compile once
    classify_images(backbone, images, k=5)
    raw = min(timed(lambda: backbone.model.predict_on_batch(pixels))[0] for _ in range(repeats))
    pipe = min(timed(lambda: classify_images(backbone, images, k=5, batch_size=32))[0] for _ in range(repeats))
    return len(images) / pipe, len(images) / raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'backbone':<20} {'first load (s)':>15} {'cached load (s)':>16}")
    for name, first, cached in load_times():
        print(f"{name:<20} {first:>15.2f} {cached:>16.2f}")
    print()
    print(f"{'backbone':<20} {'pipeline img/s':>15} {'raw model img/s':>16} {'ratio':>7}")
    for name in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
        pipe, raw = throughput(name, args.repeats)
        print(f"{name:<20} {pipe:>15.1f} {raw:>16.1f} {pipe / raw:>7.2f}")


if __name__ == "__main__":
    main()
