"""One scheduler for every long operation: K heavy slots, first come first served, one job per owner.

A job is a function returning an iterator of step records (the pipelines already stream them). It runs in a
worker thread; whoever started it polls ``job.state`` / ``job.last`` and may ``stop()`` it: a waiting job is
cancelled, a running one ends after its current step and keeps the records it reached (the partial result).
Finished jobs are dropped from the scheduler at once, so nothing process-wide holds a learner's models or
records; only the durations per kind stay, for estimates.
"""

from __future__ import annotations

import contextlib
import heapq
import statistics
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import LabError

WAITING, RUNNING, DONE, STOPPED, CANCELLED, FAILED = "waiting", "running", "done", "stopped", "cancelled", "failed"
ACTIVE = (WAITING, RUNNING)


class MissingInput(LookupError):
    """A job spec names a store key the store no longer has (expired, or never stored there); here, not in
    ``core.work.store``, so every store (``core.cluster``'s too) raises it without importing ``core.work``."""


class Busy(LabError, RuntimeError):
    """The owner already has a job waiting or running; the message says which."""


@dataclass(eq=False)
class Job:
    """One long operation of one owner (a browser session). Read its fields; change it only with ``stop()``."""

    owner: str
    kind: str
    label: str
    steps: Callable[[], Iterable[Any]]
    progress: Callable[[Any], float] | None = None
    state: str = WAITING
    records: list = field(default_factory=list)
    error: BaseException | None = None
    queued_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    keep_records: bool = True
    spec: Any = None  # a core.work spec: the worker runs spec.run(store, should_stop) instead of steps
    store: Any = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def last(self) -> Any:
        """The latest step record: the result when done, the partial result when stopped."""
        return self.records[-1] if self.records else None

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def fraction(self) -> float | None:
        """How far the running job is, 0..1, when its records say so."""
        if self.progress is None or self.last is None:
            return None
        return min(max(float(self.progress(self.last)), 0.0), 1.0)

    def stop(self) -> None:
        """Cancels a waiting job, or asks a running one to end after its current step (keeping its records)."""
        self._stop.set()


class LightLane:
    """Light work (one photo's top-5, feature maps or Grad-CAM) never queues: it runs at once in its own
    thread, and every heavy job pauses between two of its steps while any light work is running.

    TensorFlow's intra-op thread pool is process-wide (it cannot be split per thread), so a heavy job and a
    learner's one-photo request would otherwise share the cores step for step; pausing the heavy job gives
    the light request the whole machine after at most one heavy step. ``max_pause`` bounds a pause, so a
    stuck light request cannot hold heavy jobs for ever.
    """

    def __init__(self, max_pause: float = 10.0):
        if max_pause <= 0:
            raise ValueError(f"max_pause must be positive, got {max_pause!r}")
        self.max_pause = max_pause
        self._active = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def light(self) -> Iterator[None]:
        """Runs the ``with`` body as light work: heavy jobs hold still after their current step."""
        with self._changed:
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    @property
    def busy(self) -> bool:
        return self._active > 0

    def make_way(self) -> None:
        """Called by a heavy job between steps: waits while light work runs (at most ``max_pause`` s)."""
        with self._changed:
            self._changed.wait_for(lambda: self._active == 0, timeout=self.max_pause)


class Scheduler:
    """Process-wide queue with ``slots`` heavy jobs running at once. ``threaded=False`` runs a job inside
    ``submit`` when a slot is free (for tests that cannot wait on threads)."""

    def __init__(self, slots: int = 1, threaded: bool = True, clock: Callable[[], float] = time.monotonic,
                 history: int = 20, lane: LightLane | None = None):
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots!r}")
        self.slots, self.threaded, self.clock = slots, threaded, clock
        self.lane = lane or LightLane()
        self._lock = threading.Lock()
        self._waiting: deque[Job] = deque()
        self._running: list[Job] = []
        self._durations: dict[str, deque] = defaultdict(lambda: deque(maxlen=history))

    def submit(self, owner: str, kind: str, label: str, steps: Callable[[], Iterable[Any]],
               progress: Callable[[Any], float] | None = None, keep_records: bool = True, **spec) -> Job:
        """Queues a job; raises ``Busy`` when this owner already has one waiting or running."""
        with self._lock:
            current = self._active_locked(owner)
            if current is not None:
                raise Busy("job_busy", label=current.label, state=current.state)
            job = Job(owner, kind, label, steps, progress, queued_at=self.clock(), keep_records=keep_records, **spec)
            self._waiting.append(job)
        self._dispatch()
        return job

    def submit_spec(self, owner: str, spec, label: str, store=None, keep_records: bool = True) -> Job:
        """Queues a job spec (``core.work.specs``): the worker consumes ``spec.run(store, job.stop_requested)``
        (``core.work.runner.run``; core.jobs imports nothing of core.work, so the packages form no cycle), so
        Stop reaches the runner, which ends after its current step (or finishes its phase) by itself."""
        return self.submit(owner, spec.kind, label, None, spec.fraction, keep_records, spec=spec, store=store)

    def active(self, owner: str) -> Job | None:
        with self._lock:
            return self._active_locked(owner)

    def _active_locked(self, owner: str) -> Job | None:
        return next((j for j in (*self._running, *self._waiting) if j.owner == owner), None)

    def ahead(self, job: Job) -> int:
        """Jobs that will start or finish before this one can start: all running ones and the waiting before it."""
        with self._lock:
            if job not in self._waiting:
                return 0
            return len(self._running) + list(self._waiting).index(job)

    def typical_seconds(self, kind: str) -> float | None:
        """Median run time of recent finished jobs of this kind, or None before the first one."""
        past = self._durations.get(kind)
        return statistics.median(past) if past else None

    def estimate_wait(self, job: Job) -> float | None:
        """Seconds until this waiting job starts: running jobs' remaining time, then each job ahead of it."""
        with self._lock:
            if job not in self._waiting:
                return 0.0
            ahead = list(self._waiting)[: list(self._waiting).index(job)]
            free_at = [self._remaining(r) for r in self._running] + [0.0] * (self.slots - len(self._running))
        if any(t is None for t in free_at):
            return None
        heapq.heapify(free_at)
        for other in ahead:
            typical = self.typical_seconds(other.kind)
            if typical is None:
                return None
            heapq.heapreplace(free_at, free_at[0] + typical)
        return free_at[0]

    def _remaining(self, job: Job) -> float | None:
        elapsed = self.clock() - (job.started_at or self.clock())
        fraction = job.fraction()
        if fraction and fraction > 0.02:
            return elapsed * (1 - fraction) / fraction
        typical = self.typical_seconds(job.kind)
        return None if typical is None else max(typical - elapsed, 0.0)

    def _dispatch(self) -> None:
        """Starts waiting jobs while slots are free; drops cancelled ones from the queue."""
        while True:
            with self._lock:
                for job in [j for j in self._waiting if j.stop_requested]:
                    self._waiting.remove(job)
                    self._end(job, CANCELLED)
                if not self._waiting or len(self._running) >= self.slots:
                    return
                job = self._waiting.popleft()
                job.state, job.started_at = RUNNING, self.clock()
                self._running.append(job)
            if not self.threaded:
                self._run(job)
                continue
            self._start(job)  # a thread per job: loop again in case several slots are free

    def _start(self, job: Job) -> None:
        threading.Thread(target=self._run, args=(job,), name=f"job-{job.kind}", daemon=True).start()

    def stop_orphans(self, alive: set[str]) -> list[Job]:
        """Stops the jobs of owners no longer alive (a closed browser tab): a waiting one leaves the queue, a
        running one ends after its current step, so nobody's slot goes to work that no one will see."""
        with self._lock:
            orphans = [j for j in (*self._running, *self._waiting) if j.owner not in alive]
        for job in orphans:
            job.stop()
        self._dispatch()
        return orphans

    def cancel_waiting(self) -> None:
        """Applies pending cancels at once (the UI calls this after ``stop()`` so the queue shrinks now)."""
        self._dispatch()

    def _run(self, job: Job) -> None:
        if self.threaded:
            name_os_thread(f"job-{job.kind}")
        state = DONE
        try:
            iterator = iter(job.steps() if job.spec is None else job.spec.run(job.store, lambda: job.stop_requested))
            for record in iterator:
                if job.keep_records:
                    job.records.append(record)
                else:
                    job.records[:] = [record]
                if job.stop_requested:
                    state = STOPPED
                    if job.spec is not None:  # the runner polls the flag and ends (its last record kept)
                        continue
                    close = getattr(iterator, "close", None)
                    if close is not None:
                        close()
                    break
                self.lane.make_way()
        except Exception as error:  # noqa: BLE001 - the owner shows it; the scheduler must keep running
            job.error, state = error, FAILED
        with self._lock:
            self._running.remove(job)
            if state == DONE:
                self._durations[job.kind].append(self.clock() - job.started_at)
            self._end(job, state)
        self._dispatch()

    def _end(self, job: Job, state: str) -> None:
        job.state, job.finished_at = state, self.clock()
        job.steps = job.store = None  # the closure may hold models and photos; the records are what the owner keeps


def name_os_thread(name: str) -> None:
    """Gives the calling thread this name (first 15 bytes) where the OS shows it (Linux: ``top -H``, ``ps -T``,
    /proc/<pid>/task/<tid>/comm), so a job's CPU can be told from the server's; elsewhere it does nothing.
    Python names its threads only for itself before 3.14; the standard library has no call for this."""
    with contextlib.suppress(OSError):
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_bytes(name.encode()[:15])


_SHARED: dict[tuple[int, bool], Scheduler] = {}
_SHARED_LOCK = threading.Lock()


def shared_scheduler(slots: int, threaded: bool = True) -> Scheduler:
    """The one scheduler (and its light lane) of this process per (slots, threaded): a plain module-level
    singleton behind a lock, not a Streamlit cache, so nothing a browser can send (Streamlit's
    ``clear_cache`` message empties ``st.cache_resource`` for the whole server) can replace the queue."""
    with _SHARED_LOCK:
        if (slots, threaded) not in _SHARED:
            _SHARED[slots, threaded] = Scheduler(slots=slots, threaded=threaded)
        return _SHARED[slots, threaded]
