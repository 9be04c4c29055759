"""The front ends' side of the Redis queue: the same questions the in-process ``core.jobs.Scheduler`` answers
(submit, which job is this learner's, how many are ahead, how long, stop, cancel), asked of RQ and Redis, so
every replica sees one queue.

RQ gives the order (FIFO), a waiting job's place (``Job.get_position()``) and cancel; Redis keys beside each
RQ job carry what RQ does not: the step records the page draws (pickled: Redis is private to the lab's
machines), a stop flag the worker reads after every step, a heartbeat the worker's thread refreshes, and one
lock per learner (``SET NX``) so a session has one job at a time on every replica.
"""

from __future__ import annotations

import heapq
import pickle
import statistics
import threading
import time
import uuid
from typing import Any

from rq import Queue, Worker
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from core.cluster import PREFIX, QUEUE_NAME
from core.jobs import CANCELLED, DONE, FAILED, RUNNING, WAITING, Busy

JOB_TIMEOUT = 2 * 3600  # a job's hard limit (s); the teacher's step and epoch caps end jobs long before
KEEP = 3600  # a finished job's keys live this long (s): the page takes its result at its next poll
HEARTBEAT_TTL = 6  # a running job whose worker has not said it is alive for this long is dead (s)
RESTARTS = 1  # a job whose worker died is put back at the head of the queue once, then it fails
HISTORY = 20  # durations kept per kind for estimates
OWNER_TTL = JOB_TIMEOUT + 600  # the learner's lock outlives the job's limit, never the job


def key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


class WorkerLost(RuntimeError):
    """The workers running this job died twice; nothing of it is left."""


class RemoteJob:
    """One learner's job in the Redis queue, read like ``core.jobs.Job`` (state, records, last, fraction,
    stop). Each read asks Redis (a loopback round trip is ~0.1 ms); records are fetched once each."""

    def __init__(self, scheduler: RedisScheduler, job_id: str, owner: str, kind: str, label: str):
        self.scheduler, self.id, self.owner, self.kind, self.label = scheduler, job_id, owner, kind, label
        self.queued_at = time.time()
        self._records: list = []
        self._final: str | None = None

    @property
    def redis(self):
        return self.scheduler.redis

    def _rq(self) -> RQJob | None:
        try:
            return RQJob.fetch(self.id, connection=self.redis)
        except Exception:  # noqa: BLE001 - expired or deleted: treated as gone
            return None

    @property
    def state(self) -> str:
        if self._final is not None:
            return self._final
        ours = self.redis.get(key("job", self.id, "state"))
        state = ours.decode() if ours else self._rq_state()
        if ours and state == RUNNING and not self.redis.exists(key("job", self.id, "alive")):
            state = self.scheduler.reap(self)  # the worker said it runs this job, and has gone quiet
        if state not in (WAITING, RUNNING):
            self._final = state
        return state

    def _rq_state(self) -> str:
        job = self._rq()
        if job is None:
            return FAILED
        status = job.get_status(refresh=False)
        return {JobStatus.QUEUED: WAITING, JobStatus.STARTED: RUNNING, JobStatus.CANCELED: CANCELLED,
                JobStatus.FINISHED: DONE}.get(status, FAILED if status == JobStatus.FAILED else WAITING)

    @property
    def finished(self) -> bool:
        return self.state not in (WAITING, RUNNING)

    @property
    def records(self) -> list:
        fresh = self.redis.lrange(key("job", self.id, "records"), len(self._records), -1)
        self._records.extend(pickle.loads(item) for item in fresh)
        return self._records

    @property
    def last(self) -> Any:
        raw = self.redis.lindex(key("job", self.id, "records"), -1)
        return pickle.loads(raw) if raw is not None else None

    @property
    def error(self) -> BaseException | None:
        raw = self.redis.get(key("job", self.id, "error"))
        if raw is not None:
            return pickle.loads(raw)
        return WorkerLost(self.label) if self.state == FAILED else None

    @property
    def restarted(self) -> bool:
        """True once a dead worker's job was put back in the queue (the learner reads that it restarted)."""
        return int(self.redis.get(key("job", self.id, "restarts")) or 0) > 0

    @property
    def started_at(self) -> float | None:
        raw = self.redis.get(key("job", self.id, "started"))
        return float(raw) if raw else None

    @property
    def stop_requested(self) -> bool:
        return bool(self.redis.exists(key("job", self.id, "stop")))

    def fraction(self) -> float | None:
        record = self.last
        value = getattr(record, "fraction", None)
        return None if value is None else min(max(float(value), 0.0), 1.0)

    def stop(self) -> None:
        """Cancels a waiting job, or asks the worker to end a running one after its current step."""
        self.redis.set(key("job", self.id, "stop"), 1, ex=KEEP)
        if self.state == WAITING:
            self.scheduler.cancel(self)


class RedisScheduler:
    """Submit specs to the RQ queue and follow them; ``lane`` is the replica's own light lane (light work
    never travels: a worker pauses for nothing)."""

    def __init__(self, connection, name: str = "", lane=None, clock=time.time):
        from core.jobs import LightLane

        # A learner's id is their session's on one replica; ``name/`` makes it unique and tells this replica's
        # learners from the others' (stop_orphans only ever stops its own).
        self.redis, self.clock, self.owner_prefix = connection, clock, f"{name}/" if name else ""
        self.queue = Queue(QUEUE_NAME, connection=connection)
        self.lane = lane or LightLane()

    def submit_spec(self, owner: str, spec, label: str, store=None, keep_records: bool = True) -> RemoteJob:
        """Queues ``spec`` for this learner; ``Busy`` when they already have a job waiting or running. Its inputs
        are already in the shared store (``store`` is accepted for the in-process scheduler's signature)."""
        job_id, owner = uuid.uuid4().hex, self.owner_prefix + owner
        if not self.redis.set(key("owner", owner), job_id, nx=True, ex=OWNER_TTL):
            current = self._active(owner)
            if current is not None:
                raise Busy("job_busy", label=current.label, state=current.state)
            self.redis.set(key("owner", owner), job_id, ex=OWNER_TTL)
        self.queue.enqueue_call("core.work.worker.execute", args=(spec.dumps(), keep_records),
                                job_id=job_id, timeout=JOB_TIMEOUT, result_ttl=KEEP, failure_ttl=KEEP,
                                meta={"owner": owner, "kind": spec.kind, "label": label})
        self.redis.set(key("job", job_id, "queued"), self.clock(), ex=OWNER_TTL)
        return RemoteJob(self, job_id, owner, spec.kind, label)

    def active(self, owner: str) -> RemoteJob | None:
        """This learner's (this replica's session ``owner``) waiting or running job."""
        return self._active(self.owner_prefix + owner)

    def _active(self, owner: str) -> RemoteJob | None:
        raw = self.redis.get(key("owner", owner))
        if raw is None:
            return None
        job = self._remote(raw.decode())
        if job is None or job.finished:
            self.release(owner, raw.decode())
            return None
        return job

    def _remote(self, job_id: str) -> RemoteJob | None:
        try:
            rq_job = RQJob.fetch(job_id, connection=self.redis)
        except Exception:  # noqa: BLE001 - expired: nobody's job any more
            return None
        meta = rq_job.meta
        return RemoteJob(self, job_id, meta.get("owner", ""), meta.get("kind", ""), meta.get("label", ""))

    def release(self, owner: str, job_id: str) -> None:
        """Frees the learner's lock if it still names this job (a later job's lock is left alone)."""
        name = key("owner", owner)

        def delete_if_ours(pipe):
            if pipe.get(name) == job_id.encode():
                pipe.multi()
                pipe.delete(name)

        self.redis.transaction(delete_if_ours, name)  # WATCH/MULTI: no other replica's lock is deleted

    def running_ids(self) -> list[str]:
        return StartedJobRegistry(queue=self.queue).get_job_ids()

    def ahead(self, job: RemoteJob) -> int:
        """Jobs that will start or finish before this one can start: the running ones and those before it."""
        position = self.queue.get_job_position(job.id)
        return 0 if position is None else len(self.running_ids()) + position

    def slots(self) -> int:
        return max(1, Worker.count(queue=self.queue))

    def typical_seconds(self, kind: str) -> float | None:
        past = [float(x) for x in self.redis.lrange(key("durations", kind), 0, -1)]
        return statistics.median(past) if past else None

    def estimate_wait(self, job: RemoteJob) -> float | None:
        """Seconds until this waiting job starts, as ``core.jobs.Scheduler.estimate_wait`` counts them."""
        position = self.queue.get_job_position(job.id)
        if position is None:
            return 0.0
        running = [self._remote(i) for i in self.running_ids()]
        free_at = [self._remaining(r) for r in running if r is not None]
        free_at += [0.0] * max(0, self.slots() - len(free_at))
        if not free_at or any(t is None for t in free_at):
            return None
        heapq.heapify(free_at)
        for other_id in self.queue.get_job_ids()[:position]:
            other = self._remote(other_id)
            typical = self.typical_seconds(other.kind) if other else None
            if typical is None:
                return None
            heapq.heapreplace(free_at, free_at[0] + typical)
        return free_at[0]

    def _remaining(self, job: RemoteJob) -> float | None:
        started = job.started_at or self.clock()
        elapsed = self.clock() - started
        fraction = job.fraction()
        if fraction and fraction > 0.02:
            return elapsed * (1 - fraction) / fraction
        typical = self.typical_seconds(job.kind)
        return None if typical is None else max(typical - elapsed, 0.0)

    def cancel(self, job: RemoteJob) -> None:
        rq_job = self._rq_or_none(job.id)
        if rq_job is not None and rq_job.get_status() == JobStatus.QUEUED:
            rq_job.cancel()
            self.redis.set(key("job", job.id, "state"), CANCELLED, ex=KEEP)
            self.release(job.owner, job.id)

    def cancel_waiting(self) -> None:
        """Cancels take effect in ``stop()`` already; kept for the in-process scheduler's interface."""

    def _rq_or_none(self, job_id: str) -> RQJob | None:
        try:
            return RQJob.fetch(job_id, connection=self.redis)
        except Exception:  # noqa: BLE001
            return None

    def reap(self, job: RemoteJob) -> str:
        """A running job whose heartbeat expired: its worker died. Put it back at the head of the queue once
        (its records start again), fail it the second time. One front end does it (a ``SET NX`` guard)."""
        guard = key("job", job.id, "reaping")
        if not self.redis.set(guard, 1, nx=True, ex=HEARTBEAT_TTL):
            return RUNNING  # another front end is reaping it now
        try:
            return self._restart_or_fail(job)
        finally:
            self.redis.delete(guard)

    def _restart_or_fail(self, job: RemoteJob) -> str:
        rq_job = self._rq_or_none(job.id)
        if rq_job is not None:
            StartedJobRegistry(queue=self.queue).remove_executions(rq_job)
        restarts = self.redis.incr(key("job", job.id, "restarts"))
        self.redis.expire(key("job", job.id, "restarts"), OWNER_TTL)
        self.redis.delete(key("job", job.id, "records"), key("job", job.id, "started"), key("job", job.id, "state"))
        if rq_job is not None and restarts <= RESTARTS:
            self.queue.enqueue_job(rq_job, at_front=True)
            return WAITING
        self.redis.set(key("job", job.id, "state"), FAILED, ex=KEEP)
        self.release(job.owner, job.id)
        return FAILED

    def stop_orphans(self, alive: set[str]) -> list:
        """Stops the jobs of this replica's sessions that are no longer alive (a closed tab): a replica knows
        only its own sessions, so jobs of other replicas' learners are left alone."""
        stopped = []
        for job_id in [*self.queue.get_job_ids(), *self.running_ids()]:
            job = self._remote(job_id)
            if job is None or not job.owner.startswith(self.owner_prefix):
                continue
            if job.owner[len(self.owner_prefix):] not in alive:
                job.stop()
                stopped.append(job)
        return stopped

    def record_duration(self, kind: str, seconds: float) -> None:
        pipe = self.redis.pipeline()
        pipe.lpush(key("durations", kind), seconds)
        pipe.ltrim(key("durations", kind), 0, HISTORY - 1)
        pipe.execute()


_SHARED: dict[tuple[str, str], RedisScheduler] = {}
_SHARED_LOCK = threading.Lock()


def shared_redis_scheduler(url: str, name: str = "") -> RedisScheduler:
    """This replica's one front end of the Redis queue (a module-level singleton, out of Streamlit's caches)."""
    from core.cluster import connect

    with _SHARED_LOCK:
        if (url, name) not in _SHARED:
            _SHARED[url, name] = RedisScheduler(connect(url), name)
        return _SHARED[url, name]
