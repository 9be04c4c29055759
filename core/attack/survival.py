"""Does the attack survive everyday changes: JPEG re-compression, a small resize, a slight blur?"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from core.models.classifier import Classifier


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    """Re-compresses an 8-bit image as JPEG at a quality from 1 to 95."""
    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be from 1 to 95, got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue()), formats=("JPEG",)).convert("RGB"), dtype=np.uint8)


def resize_round_trip(image: np.ndarray, scale: float = 0.9) -> np.ndarray:
    """Shrinks an image by ``scale`` and resizes it back (bilinear), as a re-upload might."""
    if not 0.25 <= scale < 1:
        raise ValueError(f"resize scale must be from 0.25 to below 1, got {scale}")
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                          Image.Resampling.BILINEAR)
    return np.asarray(small.resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)


def blur(image: np.ndarray, radius: float = 0.5) -> np.ndarray:
    """A slight Gaussian blur of the given radius in pixels."""
    if not 0 < radius <= 5:
        raise ValueError(f"blur radius must be above 0 and at most 5 pixels, got {radius}")
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)), dtype=np.uint8)


@dataclass(frozen=True)
class SurvivalSettings:
    """How hard the survival checks shake the adversarial image."""

    jpeg_quality: int = 75
    resize_scale: float = 0.9
    blur_radius: float = 0.5

    def __post_init__(self):
        jpeg(np.zeros((8, 8, 3), np.uint8), self.jpeg_quality)
        resize_round_trip(np.zeros((8, 8, 3), np.uint8), self.resize_scale)
        blur(np.zeros((8, 8, 3), np.uint8), self.blur_radius)


def survival(attacker: Classifier, adversarial: np.ndarray, clean_top: int, target: tuple[int, ...],
             settings: SurvivalSettings = SurvivalSettings()) -> list[dict]:
    """Classifies the adversarial image after everyday changes: does the attack still win?

    Args:
        attacker: the attacked classifier.
        adversarial: ``uint8`` attacked image.
        clean_top: the clean photo's top-1 class (for untargeted attacks).
        target: target classes; empty for untargeted.
        settings: strength of each change.

    Returns:
        One row per check: ``{"check", "setting", "top_index", "top_label", "top_prob", "target_prob",
        "survives"}``; the first row is the unchanged image.
    """
    variants = [
        ("none (as saved)", "PNG, lossless", adversarial),
        ("JPEG re-compression", f"quality {settings.jpeg_quality}", jpeg(adversarial, settings.jpeg_quality)),
        ("small resize", f"to {settings.resize_scale:.0%} and back",
         resize_round_trip(adversarial, settings.resize_scale)),
        ("slight blur", f"Gaussian, radius {settings.blur_radius:g} px", blur(adversarial, settings.blur_radius)),
    ]
    probs = attacker.probabilities(np.stack([v[2] for v in variants]).astype(np.float32))
    return [outcome_row(attacker, {"check": check, "setting": setting}, p, clean_top, target)
            for (check, setting, _), p in zip(variants, probs)]


def outcome_row(attacker: Classifier, row: dict, probs: np.ndarray, clean_top: int, target: tuple[int, ...]) -> dict:
    """Adds the top-1 class, target probability and whether the attack holds to a table row."""
    top1 = int(probs.argmax())
    group = list(target) if target else [clean_top]
    holds = top1 in group if target else top1 != clean_top
    return {**row, "top_index": top1, "top_label": attacker.label(top1), "top_prob": float(probs[top1]),
            "target_prob": float(probs[group].sum()), "survives": bool(holds)}
