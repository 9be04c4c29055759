"""Second opinions: what other networks see in a generated image, asked the way a photo is classified."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np

from core.data.images import center_crop_resize
from core.models.imagenet import class_name
from core.models.predictions import softmax, top_k


@dataclass(frozen=True)
class Opinion:
    """What one network sees in an image."""

    backbone: str
    target_prob: float
    top_label: str
    top_prob: float
    made_on: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def judge(backbone, image: np.ndarray, classes) -> tuple[float, np.ndarray]:
    """Classifies an image as a photo, the way the Home page and ``classify`` CLI do.

    Args:
        backbone: a loaded ``core.models.backbones.Backbone``.
        image: ``(h, w, 3)`` uint8 RGB, for example the saved PNG.
        classes: ImageNet indices whose probabilities are summed.

    Returns:
        ``(summed probability of classes, all 1000 probabilities)``.
    """
    probs = softmax(backbone.logits(backbone.prepare(image)[None]))[0]
    return float(probs[list(classes)].sum()), probs


def judge_model(model: keras.Model, image: np.ndarray, classes,
                crop_fraction: float = 0.875) -> tuple[float, np.ndarray]:
    """Classifies an image with a pixels-to-probabilities model (a trained head), as ``judge`` does a backbone.

    Args:
        model: pixels (0-255) to class probabilities.
        image: ``(h, w, 3)`` uint8 RGB.
        classes: indices whose probabilities are summed.
        crop_fraction: centre crop before resizing, as the backbone's own preprocessing.

    Returns:
        ``(summed probability of classes, every class's probability)``.
    """
    pixels = center_crop_resize(image, int(model.input.shape[1]), crop_fraction)
    probs = np.asarray(model(pixels[None].astype(np.float32), training=False))[0]
    return float(probs[list(classes)].sum()), probs


def second_opinion(image: np.ndarray, classes, backbones, made_on: str = "") -> list[Opinion]:
    """Asks several networks what they see in a generated image.

    An image that only fools the network it was made on is close to adversarial
    noise; one that other networks also call a cat holds real cat features.

    Args:
        image: ``(h, w, 3)`` uint8 RGB.
        classes: ImageNet target indices (empty for a trained head's classes: no target column).
        backbones: loaded backbones to ask.
        made_on: registry name of the network the image was made on (flagged in the result).

    Returns:
        One ``Opinion`` per backbone, in the order given.
    """
    opinions = []
    for backbone in backbones:
        target, probs = judge(backbone, image, classes)
        best = top_k(probs, 1)[0]
        opinions.append(Opinion(backbone.spec.display_name, target, best.label, best.prob,
                                backbone.spec.name == made_on))
    return opinions


def target_label(classes) -> str:
    """A short display name for a set of ImageNet targets, e.g. ``"Siamese cat"`` or ``"5 classes"``."""
    classes = tuple(classes)
    if tuple(sorted(classes)) == tuple(range(281, 286)):
        return "all cats"
    return class_name(classes[0]) if len(classes) == 1 else " + ".join(class_name(c) for c in classes[:3]) + (
        f" + {len(classes) - 3} more" if len(classes) > 3 else "")
