"""Parity and zero-shot figures for the closing notes of the foundation.

Usage: python bench/bench_zero_shot.py

Prints, per EfficientNet-Lite size, the largest absolute logit difference to
the PyTorch reference on the six single photos, and the share of pets-mini
photos whose top-1 ImageNet class is in the right group (cat classes for cats,
dog classes for dogs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.data.images import load_image_file  # noqa: E402
from core.models.backbones import load_backbone  # noqa: E402
from core.models.imagenet import CAT_CLASSES, DOG_CLASSES  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
REFERENCE = np.load(ROOT / "tests" / "fixtures" / "reference_logits.npz")


def parity(backbone, variant: str) -> float:
    """Largest absolute logit difference to the PyTorch reference."""
    photos = sorted((DATA / "singles").glob("*.jpg"))
    logits = backbone.logits(np.stack([backbone.prepare(load_image_file(p)) for p in photos]))
    expected = np.stack([REFERENCE[f"{variant}/{p.name}/logits"] for p in photos])
    return float(np.abs(logits - expected).max())


def zero_shot(backbone) -> tuple[float, float, float]:
    """Right-group share for cats, dogs and all of pets-mini."""
    files = sorted((DATA / "pets-mini").glob("*/*.jpg"))
    top1 = backbone.logits(np.stack([backbone.prepare(load_image_file(f)) for f in files])).argmax(axis=1)
    cats = [int(i) in CAT_CLASSES for f, i in zip(files, top1) if f.parent.name == "cat"]
    dogs = [int(i) in DOG_CLASSES for f, i in zip(files, top1) if f.parent.name == "dog"]
    return float(np.mean(cats)), float(np.mean(dogs)), float(np.mean(cats + dogs))


def main() -> None:
    print(f"{'backbone':<20} {'max |logit diff|':>17} {'cats':>6} {'dogs':>6} {'all':>6}")
    for variant in ("lite0", "lite1", "lite2"):
        backbone = load_backbone(f"efficientnet_{variant}")
        cats, dogs, both = zero_shot(backbone)
        diff = parity(backbone, variant)
        print(f"{backbone.spec.display_name:<20} {diff:>17.2e} {cats:>6.1%} {dogs:>6.1%} {both:>6.1%}")


if __name__ == "__main__":
    main()
