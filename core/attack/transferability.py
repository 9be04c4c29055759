"""Adversarial transferability: do other networks, never attacked, fall for the same image? ("Transfer" in
core/transfer/ is transfer learning; this module is about an attack carrying over to other networks.)"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.attack.survival import outcome_row
from core.models.classifier import Classifier


def resize_to(image: np.ndarray, size: int) -> np.ndarray:
    """Resizes a prepared image to another network's input size (bicubic, no crop)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def transfer(attackers: list[Classifier], clean: np.ndarray, adversarial: np.ndarray,
             target: tuple[int, ...]) -> list[dict]:
    """Shows the adversarial image to other networks: does it fool them too?

    Both images are resized (no crop) to each network's input size.

    Args:
        attackers: the other ImageNet classifiers.
        clean: ``uint8`` clean photo as the attacked network saw it.
        adversarial: ``uint8`` attacked image.
        target: target classes; empty for untargeted (fooled = top-1 changed).

    Returns:
        One row per network: ``{"network", "clean_index", "clean_label", "clean_prob", "top_index", "top_label",
        "top_prob", "target_prob", "survives"}`` (``survives``: the attack also works on this network).
    """
    rows = []
    for other in attackers:
        pair = np.stack([resize_to(clean, other.input_size), resize_to(adversarial, other.input_size)])
        probs = other.probabilities(pair.astype(np.float32))
        clean_top = int(probs[0].argmax())
        row = {"network": other.name, "clean_index": clean_top, "clean_label": other.label(clean_top),
               "clean_prob": float(probs[0][clean_top])}
        rows.append(outcome_row(other, row, probs[1], clean_top, target))
    return rows
