"""Ideal cat's runner: an ``IdealJob`` becomes ``IdealProgress`` records (the images so far, the last one live).

Finished ImageNet images are shared through ``core.work.shared.ideal_results``: the same backbone and settings
give the same image, so a second request (another learner, the CLI) takes it at once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from core.visualise.optimise import IdealConfig
from core.work import shared
from core.work.specs import IdealJob
from core.work.store import Store


@dataclass(frozen=True, eq=False)
class IdealImage:
    """One visualisation as far as it got: the image, (step, target probability) pairs and the loss terms."""

    config: IdealConfig
    made_on: str
    image: np.ndarray
    curve: tuple[tuple[int, float], ...] = ()
    losses: tuple[dict, ...] = ()
    seconds: float = 0.0

    @property
    def step(self) -> int:
        return self.curve[-1][0] if self.curve else 0

    def as_json(self) -> dict:
        return {"mode": self.config.mode, "classes": list(self.config.classes), "step": self.step,
                "steps": self.config.total_steps, "prob": self.curve[-1][1] if self.curve else None,
                "seconds": round(self.seconds, 3), "image_sha256": hashlib.sha256(self.image.tobytes()).hexdigest()}


@dataclass(frozen=True, eq=False)
class IdealProgress:
    """The job's record: every image reached so far (the last may be unfinished) and the share done."""

    images: tuple[IdealImage, ...]
    fraction: float

    def as_json(self) -> dict:
        return {"record": "ideal", "fraction": round(self.fraction, 4), "images": [i.as_json() for i in self.images]}

    def files(self) -> dict[str, bytes]:
        """The images as PNGs (what ``python -m core run --out`` writes)."""
        from core.data.images import to_png_bytes

        return {f"ideal_{i}_{image.config.mode}.png": to_png_bytes(image.image) for i, image in enumerate(self.images)}


def run_job(job: IdealJob, store: Store, should_stop: Callable[[], bool]) -> Iterator[IdealProgress]:
    """Each config in turn (cached ones at once); ends after the current step when ``should_stop()``."""
    visualiser, count, finished = _visualiser(job, store), len(job.configs), ()
    for index, config in enumerate(job.configs):
        key = None if job.model else (job.backbone, config)
        cached = shared.ideal_results.peek(key) if key else None
        if cached is not None:
            finished += (cached,)
            yield IdealProgress(finished, (index + 1) / count)
            continue
        image = None
        for image, done in _optimise(visualiser, config, job.backbone):
            yield IdealProgress(finished + (image,), (index + done) / count)
            if should_stop():
                return
        finished += (image,)
        if key:
            shared.ideal_results.put(key, image)
        if should_stop():
            return


def _optimise(visualiser, config: IdealConfig, made_on: str) -> Iterator[tuple[IdealImage, float]]:
    """The visualiser's steps as growing ``IdealImage``s with the config's share done."""
    start, curve, losses = time.perf_counter(), [], []
    for record in visualiser.run(config):
        curve.append((record.step, record.prob))
        losses.append({"step": record.step, **record.losses})
        image = IdealImage(config, made_on, record.image, tuple(curve), tuple(losses), time.perf_counter() - start)
        yield image, record.step / record.total_steps


def _visualiser(job: IdealJob, store: Store):
    """The backbone's shared visualiser, or one of the learner's classifier (shared by its store key)."""
    if not job.model:
        return shared.visualisers(job.backbone)

    def make():
        from core.visualise.optimise import Visualiser

        return Visualiser(shared.learner_model(store, job.model)[0], outputs="probabilities", name="your classifier")

    return shared.learner_derived(("visualiser", job.model), make)
