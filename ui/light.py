"""Light work, shared by every session: one photo's top-5, feature maps and Grad-CAM.

Each runs at once in the learner's own thread (``ui.jobs.light_work``: heavy jobs hold still meanwhile) and is
kept process-wide by (backbone, photo content[, class]) in ``core.work.shared``, so a class that opens the same
sample photo computes it once, and the next rerun of a page (a widget touched, a poll) computes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

from core.explain.feature_maps import FeatureMaps, extract_features
from core.explain.gradcam import GradCam, grad_cam
from core.models.predictions import Prediction, classify_images
from core.work import shared
from ui.jobs import light_work

T = TypeVar("T")


def light_result(cache: shared.Shared, key: Hashable, make: Callable[[], T]) -> T:
    """``cache``'s value for ``key``; made by ``make()`` as light work when no session has made it yet (others
    asking for the same key meanwhile wait for that one build)."""
    found = cache.peek(key)
    if found is not None:
        return found
    with light_work():
        return cache(key, make)


def read_only(*arrays: np.ndarray) -> None:
    """Many sessions read one cached result: a page that tried to change it in place would fail, not leak."""
    for array in arrays:
        array.setflags(write=False)


def photo_features(backbone_name: str, digest: str, backbone, pixels: np.ndarray) -> FeatureMaps:
    """Every stage of one photo, computed once per (backbone, photo content)."""
    def make() -> FeatureMaps:
        features = extract_features(backbone, pixels)
        read_only(features.logits, *(stage.activations for stage in features.stages))
        return features

    return light_result(shared.photo_features, (backbone_name, digest), make)


def photo_gradcam(backbone_name: str, digest: str, class_index: int, backbone, pixels: np.ndarray) -> GradCam:
    """Grad-CAM of one class for one photo, computed once per (backbone, photo content, class)."""
    def make() -> GradCam:
        result = grad_cam(backbone, pixels, class_index)
        read_only(result.heatmap, result.scores)
        return result

    return light_result(shared.photo_gradcams, (backbone_name, digest, class_index), make)


def photo_top5(backbone, photos: Sequence) -> list[list[Prediction]]:
    """Each photo's ImageNet top-5 (``photos``: ``ui`` Photos, with ``image`` and ``digest``); the photos no
    session has classified yet go through the backbone in one batch."""
    keys = [(backbone.name, photo.digest) for photo in photos]
    results = {key: shared.photo_top5.peek(key) for key in keys}
    missing = {key: photo for key, photo in zip(keys, photos) if results[key] is None}
    if missing:
        with light_work():
            found = classify_images(backbone, [photo.image for photo in missing.values()], k=5)
        for key, predictions in zip(missing, found):
            results[key] = tuple(predictions)
            shared.photo_top5.put(key, results[key])
    return [list(results[key]) for key in keys]
