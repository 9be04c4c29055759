"""Light work, shared by every session: one photo's top-5, feature maps and Grad-CAM.

Each runs at once in the learner's own thread (``ui.jobs.light_work``: heavy jobs hold still meanwhile) and is
kept process-wide by (backbone, photo content[, class]) in ``core.work.shared``, so a class that opens the same
sample photo computes it once, and the next rerun of a page (a widget touched, a poll) computes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

from core.explain.feature_maps import FeatureMaps, extract_features
from core.explain.gradcam import GradCam, grad_cam
from core.models.predictions import Prediction, classify_images
from core.work import shared
from ui.jobs import light_work

T = TypeVar("T")
log = logging.getLogger(__name__)


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
    return light_result(shared.photo_features, (backbone_name, digest), lambda: _features(backbone, pixels))


def photo_gradcam(backbone_name: str, digest: str, class_index: int, backbone, pixels: np.ndarray) -> GradCam:
    """Grad-CAM of one class for one photo, computed once per (backbone, photo content, class)."""
    return light_result(shared.photo_gradcams, (backbone_name, digest, class_index),
                        lambda: _gradcam(backbone, pixels, class_index))


def _features(backbone, pixels: np.ndarray) -> FeatureMaps:
    features = extract_features(backbone, pixels)
    read_only(features.logits, *(stage.activations for stage in features.stages))
    return features


def _gradcam(backbone, pixels: np.ndarray, class_index: int) -> GradCam:
    result = grad_cam(backbone, pixels, class_index)
    read_only(result.heatmap, result.scores)
    return result


_warmed: set[str] = set()
_warmed_lock = threading.Lock()


def warm_feature_maps(backbone, photo) -> threading.Thread | None:
    """Computes ``photo``'s feature maps and its top class's Grad-CAM in the background, once per backbone and
    process (Home calls it with its first photo, by default the sample the Feature maps page opens with).

    The first Feature maps page of a process builds the stage model and traces Grad-CAM (1.5 s on an idle
    2-core machine, 8 s with thirty learners and a job running); done here, no learner waits for it."""
    with _warmed_lock:
        if backbone.name in _warmed:
            return None
        _warmed.add(backbone.name)

    def warm() -> None:
        try:
            pixels = backbone.prepare(photo.image)
            features = shared.photo_features((backbone.name, photo.digest), lambda: _features(backbone, pixels))
            top = int(np.argmax(features.logits))
            shared.photo_gradcams((backbone.name, photo.digest, top), lambda: _gradcam(backbone, pixels, top))
        except Exception as exc:  # only a head start: the page computes it again, and reports a problem there
            log.warning("feature maps warm-up of %s failed: %r", backbone.name, exc)

    thread = threading.Thread(target=warm, name="warm-feature-maps", daemon=True)
    thread.start()
    return thread


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
