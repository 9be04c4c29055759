"""``run(spec, store)``: the one way every job runs, in the page's scheduler, the CLI and (later) a worker.

Each kind's module has ``run_job(spec, store, should_stop)`` yielding frozen, picklable step records (NumPy
arrays inside); the last record is the result, or the partial result when ``should_stop()`` ended it early.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from core.work.specs import Spec
from core.work.store import Store, default_store

RUNNERS = {"ideal": "core.work.ideal", "attack": "core.work.adversarial", "survival": "core.work.adversarial",
           "transfer": "core.work.adversarial", "sweep": "core.work.adversarial", "train": "core.work.training",
           "fine-tune": "core.work.training"}


def run(spec: Spec, store: Store | None = None, should_stop: Callable[[], bool] | None = None) -> Iterator:
    """The spec's step records. ``should_stop`` is polled between steps: True ends the job after its current
    step (training first finishes its phase with the best epoch's weights), keeping what it reached."""
    if spec.kind not in RUNNERS:
        raise ValueError(f"no runner for job kind {spec.kind!r}")
    module = importlib.import_module(RUNNERS[spec.kind])
    return module.run_job(spec, store or default_store(), should_stop or (lambda: False))


def fraction(record) -> float:
    """How far a job is by its latest record: training's records by their stage (``core.work.training``),
    the others by their ``fraction``."""
    from core.work.training import training_fraction

    share = training_fraction(record)
    return float(share if share is not None else getattr(record, "fraction", 0.0) or 0.0)


def as_json(record) -> dict:
    """A record as one JSON line (``python -m core run --json``): its own ``as_json``, or training's."""
    if hasattr(record, "as_json"):
        return record.as_json()
    from core.work.training import record_json

    return record_json(record)


def result_files(record, spec) -> dict[str, bytes]:
    """The files of a final record (images as PNG, a trained model's bundle); none for a partial one."""
    if hasattr(record, "files"):
        return record.files()
    from core.transfer.pipeline import Assembled
    from core.work.training import result_files as bundle

    return bundle(record, spec) if isinstance(record, Assembled) else {}
