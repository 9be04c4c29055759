"""Process-wide objects every session's jobs reuse, built once, bounded, safe to use from job threads.

Each is read-only once built (a backbone's weights, a visualiser's compiled step, an attacker's traced
gradient, a finished ideal image), so sharing it across sessions and threads cannot leak one learner's work
into another's. They live here, not in Streamlit's resource cache, so a runner works in a process without
Streamlit (the CLI, a worker) and a client's "clear cache" cannot drop one under a running job.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

from core.models.backbones import load_backbone

T = TypeVar("T")


class Shared(Generic[T]):
    """A bounded LRU of objects made by ``make(key)``: one build per key even when threads ask at once
    (cachetools' ``cached`` would let two threads build the same 400 MB backbone)."""

    def __init__(self, maxsize: int, make: Callable[[Hashable], T] | None = None):
        self.make, self._cache = make, LRUCache(maxsize=maxsize)
        self._lock, self._building = threading.Lock(), {}

    def __call__(self, key: Hashable, make: Callable[[], T] | None = None) -> T:
        """The object of ``key``, built now by ``make()`` (or the cache's ``make(key)``) if it is not here."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # others asking for this key wait here; other keys do not
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            try:
                value = make() if make is not None else self.make(key)
                with self._lock:
                    self._cache[key] = value
            finally:
                with self._lock:
                    self._building.pop(key, None)
            return value

    def peek(self, key: Hashable) -> T | None:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._cache[key] = value

    def values(self) -> list[T]:
        with self._lock:
            return list(self._cache.values())

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _backbone(name: str):
    backbone = load_backbone(name)
    # A backbone lives as long as the process: move its ~400k objects out of the cyclic collector's reach, so
    # a full collection (0.2 s with one backbone, more under load, holding the GIL) does not stall everyone.
    gc.freeze()
    return backbone


def _visualiser(name: str):
    from core.visualise.optimise import Visualiser

    model = backbones(name)
    return Visualiser(model.model, name=model.spec.display_name)


def _attacker(name: str):
    from core.attack.attack import Attacker

    return Attacker.for_backbone(backbones(name)).warm_up()


# Room for all six backbones, so the second-opinion table does not evict and reload the one a page is using.
backbones: Shared = Shared(6, _backbone)
visualisers: Shared = Shared(6, _visualiser)  # one compiled step set per backbone
attackers: Shared = Shared(6, _attacker)  # one traced input gradient per backbone
# Finished ideal images by (backbone, IdealConfig): a seeded run is reproducible, so a second learner asking the
# same gets it at once. Records are frozen, so handing one object to many sessions is safe.
ideal_results: Shared = Shared(64)
# Learners' classifiers by store key (the page registers the live model it stored, so the same process never
# reloads it), and what is derived from one: ("visualiser" | "attacker", key). A key is a content hash, known only
# to the session that stored the model; the bound keeps a classroom's models from piling up.
learner_models: Shared = Shared(8)
learner_derived: Shared = Shared(16)
# Datasets as listed by (source, task, folder stamp): file names and labels only, read-only (a run limits a copy).
datasets: Shared = Shared(8)
# Embeddings of uploaded photos by (embedder, photo set): memory only, never the shared disk cache; the same
# photos trained again compute nothing. Keyed by content, so only that photo set's owner can ask for it.
private_embeddings: Shared = Shared(16)
# Finished head-only runs by their head's store key, so fine-tuning one in this process starts at once.
runs: Shared = Shared(8)
# One photo's light results by (backbone, photo content[, class]): its feature maps (1-5 MB each), Grad-CAMs
# and top-5. In a class every learner starts from the same sample photo, so thirty sessions compute it once
# (per session, 26 new sessions computed the same maps one after another: a page change took up to 50 s).
# Keyed by content, so only someone holding the same photo can ask, and would compute the same; the arrays are
# read-only, since many sessions read one object.
photo_features: Shared = Shared(16)
photo_gradcams: Shared = Shared(64)
photo_top5: Shared = Shared(256)


def learner_model(store, key: str) -> tuple:
    """The learner's classifier stored under ``key`` and its class names (loaded in Keras safe mode once)."""
    def load():
        from core.transfer.loading import load_model_bytes

        model, classes = load_model_bytes(store.get(key))
        return model, tuple(classes)

    return learner_models(key, load)


def store_model(store, model, classes) -> str:
    """Puts a learner's classifier in the store (``.keras`` bytes, labels inside) and keeps the live model under
    its key, so this process's jobs use it as it is; returns the key."""
    from core.transfer.export import keras_bytes

    key = store.put(keras_bytes(model, classes))
    learner_models.put(key, (model, tuple(classes)))
    return key


def clear_all() -> None:
    """Forgets every shared object (tests; a process that changes backbones' weights files)."""
    for cache in (backbones, visualisers, attackers, ideal_results, learner_models, learner_derived, datasets,
                  private_embeddings, runs, photo_features, photo_gradcams, photo_top5):
        cache.clear()


def attacker_for(store, backbone: str, model: str = ""):
    """The attacker of an ImageNet backbone, or of the learner's classifier stored under ``model``."""
    if not model:
        return attackers(backbone)

    def make():
        from core.attack.attack import Attacker

        classifier, classes = learner_model(store, model)
        return Attacker(classifier, "probabilities", classes, name="your classifier").warm_up()

    return learner_derived(("attacker", model), make)
