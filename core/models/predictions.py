"""Predictions of a classifier: softmax, the top-k classes of a photo, and the ImageNet top-k of photos with a
loaded backbone (the ``Classifier`` wrapper itself is core.models.classifier)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.models.imagenet import class_name


@dataclass(frozen=True)
class Prediction:
    """One class and its probability."""

    index: int
    label: str
    prob: float

    def as_dict(self) -> dict:
        return asdict(self)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probs: np.ndarray, k: int = 5, labels=None) -> list[Prediction]:
    """The k most probable classes of one probability vector.

    Args:
        probs: ``(num_classes,)`` probabilities.
        k: how many, 1 to num_classes.
        labels: class names; ImageNet names when None.

    Returns:
        Predictions, most probable first.
    """
    if not 1 <= k <= len(probs):
        raise ValueError(f"top k must be between 1 and {len(probs)}, got {k}")
    order = np.argsort(-np.asarray(probs), kind="stable")[:k]
    name = (lambda i: labels[i]) if labels is not None else class_name
    return [Prediction(int(i), name(int(i)), float(probs[i])) for i in order]


def classify_images(backbone, images: list[np.ndarray], k: int = 5, batch_size: int = 32) -> list[list[Prediction]]:
    """Top-k ImageNet predictions for RGB photos of any size.

    Args:
        backbone: a loaded ``core.models.backbones.Backbone``.
        images: ``uint8`` RGB arrays.
        k: classes per photo.
        batch_size: photos per forward pass.

    Returns:
        One list of predictions per photo.
    """
    if not images:
        return []
    pixels = np.stack([backbone.prepare(image) for image in images])
    probs = softmax(backbone.logits(pixels, batch_size))
    return [top_k(p, k) for p in probs]
