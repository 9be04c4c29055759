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
           "transfer": "core.work.adversarial", "sweep": "core.work.adversarial"}


def run(spec: Spec, store: Store | None = None, should_stop: Callable[[], bool] | None = None) -> Iterator:
    """The spec's step records. ``should_stop`` is polled between steps: True ends the job after its current
    step (training first finishes its phase with the best epoch's weights), keeping what it reached."""
    if spec.kind not in RUNNERS:
        raise ValueError(f"no runner for job kind {spec.kind!r}")
    module = importlib.import_module(RUNNERS[spec.kind])
    return module.run_job(spec, store or default_store(), should_stop or (lambda: False))


def fraction(record) -> float:
    """How far a job is by its latest record (every record has ``fraction``; 0 when one does not say)."""
    return float(getattr(record, "fraction", 0.0) or 0.0)
