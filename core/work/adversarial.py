"""Adversarial dog's runners: the attack, its survival and transfer checks and the epsilon sweep, from specs.

The photo is prepared here (centre crop as the attacked backbone was trained, resized to its input), so the
page, the CLI and a worker attack exactly the same pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from core.attack.attack import AttackStep, attack, measure
from core.attack.survival import survival
from core.attack.sweep import epsilon_sweep
from core.attack.transferability import transfer
from core.data.images import center_crop_resize, to_png_bytes
from core.models.backbones import get_spec
from core.work import shared
from core.work.specs import AttackJob, SurvivalJob, SweepJob, TransferCheckJob
from core.work.store import Store, get_array

SURVIVAL_IDS = ("none", "jpeg", "resize", "blur")  # the order of core's survival rows


def prepared(attacker, backbone: str, image: np.ndarray) -> np.ndarray:
    """A photo as the attacked network sees it (a classifier of unknown backbone gets the usual ImageNet crop)."""
    if not backbone:
        return center_crop_resize(image, attacker.input_size)
    return center_crop_resize(image, attacker.input_size, get_spec(backbone).crop_fraction)


@dataclass(frozen=True, eq=False)
class AttackProgress:
    """One attack step: the photo as attacked, the step (its image and change), the time so far, and the
    measurement of the 8-bit image (the last record only: the final step, or the step a Stop kept)."""

    clean: np.ndarray
    step: AttackStep
    total_steps: int
    seconds: float
    measured: dict | None = None

    @property
    def fraction(self) -> float:
        return self.step.step / self.total_steps

    def as_json(self) -> dict:
        out = {"record": "attack", "step": self.step.step, "steps": self.total_steps,
               "target_prob": self.step.target_prob, "linf": int(self.step.linf), "seconds": round(self.seconds, 3)}
        if self.measured is not None:
            m = self.measured
            out.update(before=m["before"][0].as_dict(), after=m["after"][0].as_dict(), success=bool(m["success"]),
                       measured_target_prob=m["target_prob"], l2=m["l2"])
        return out

    def files(self) -> dict[str, bytes]:
        return {"clean.png": to_png_bytes(self.clean), "adversarial.png": to_png_bytes(self.step.image)}


def run_attack(job: AttackJob, store: Store, should_stop: Callable[[], bool]) -> Iterator[AttackProgress]:
    """One record per step; the last is measured once (a Stop ends after the current step, measured too)."""
    attacker = shared.attacker_for(store, job.backbone, job.model)
    clean = prepared(attacker, job.backbone, get_array(store, job.photo))
    started, total = time.perf_counter(), job.config.num_steps
    for record in attack(attacker, clean, job.config):
        stop = should_stop() and not record.final
        measured = measure(attacker, clean, record.image, job.config.target) if record.final or stop else None
        yield AttackProgress(clean, record, total, time.perf_counter() - started, measured)
        if stop:
            return


@dataclass(frozen=True, eq=False)
class Rows:
    """A table's rows so far (survival: the four checks; transfer: one per other network)."""

    rows: tuple[dict, ...]
    fraction: float = 1.0

    def as_json(self) -> dict:
        return {"record": "rows", "fraction": round(self.fraction, 4), "rows": list(self.rows)}


def run_survival(job: SurvivalJob, store: Store, should_stop: Callable[[], bool]) -> Iterator[Rows]:
    """Core's survival rows with an id and the strength of each check, for the page's translated table."""
    attacker = shared.attacker_for(store, job.backbone, job.model)
    settings = job.settings
    values = (None, settings.jpeg_quality, settings.resize_scale, settings.blur_radius)
    rows = survival(attacker, get_array(store, job.image), job.clean_top, job.target, settings)
    yield Rows(tuple({**row, "check_id": check, "value": value} for row, check, value in zip(rows, SURVIVAL_IDS,
                                                                                              values)))


def run_transfer(job: TransferCheckJob, store: Store, should_stop: Callable[[], bool]) -> Iterator[Rows]:
    """Each other network in turn (loaded here, once per process), yielding the rows so far."""
    clean, adversarial, rows = get_array(store, job.clean), get_array(store, job.adversarial), ()
    for name in job.backbones:
        rows += tuple(transfer([shared.attackers(name)], clean, adversarial, job.target))
        yield Rows(rows, len(rows) / len(job.backbones))
        if should_stop():
            return


@dataclass(frozen=True, eq=False)
class SweepProgress:
    """The success curve so far: {eps: (successes, photos done)} over ``photos`` photos."""

    curve: dict
    photos: int
    fraction: float

    def as_json(self) -> dict:
        return {"record": "sweep", "fraction": round(self.fraction, 4), "photos": self.photos,
                "curve": {str(eps): list(point) for eps, point in self.curve.items()}}


def run_sweep(job: SweepJob, store: Store, should_stop: Callable[[], bool]) -> Iterator[SweepProgress]:
    """The curve after each batch of 2 photos (a Stop or a new point every few seconds; a Stop keeps the curve)."""
    attacker = shared.attacker_for(store, job.backbone, job.model)
    images = [prepared(attacker, job.backbone, get_array(store, key)) for key in job.photos]
    curve, total, finished = {}, len(images) * len(job.eps), 0
    for point in epsilon_sweep(attacker, images, sorted(job.eps), job.config, batch_size=2):
        curve[point.eps] = (point.successes, point.done)
        yield SweepProgress(dict(curve), len(images), (finished + point.done) / total)
        finished += point.total if point.done == point.total else 0
        if should_stop():
            return


def run_job(job, store: Store, should_stop: Callable[[], bool]) -> Iterator:
    """The runner of the spec's kind (``core.work.runner`` dispatches here)."""
    runners = {AttackJob: run_attack, SurvivalJob: run_survival, TransferCheckJob: run_transfer, SweepJob: run_sweep}
    return runners[type(job)](job, store, should_stop)
