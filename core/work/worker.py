"""The workers' side: ``python -m core worker`` is an RQ worker that runs specs with ``core.work.runner.run``.

It lives in ``core.work`` (not ``core.cluster``): it runs specs, and ``core.data``'s embedding cache uses
``core.cluster``, so a worker there would make the packages import each other in a cycle.

It is RQ's ``SimpleWorker``: jobs run in the worker's own process, not in a fork per job, because TensorFlow
does not survive a fork after import and because the backbones, visualisers and attackers it has built stay
loaded for the next job (``core.work.shared``). While a job runs, a thread refreshes its heartbeat key every
second; the front ends treat a job whose heartbeat expired as lost with its worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import time
from collections.abc import Iterator

from core.cluster import QUEUE_NAME, connect, redis_url
from core.cluster.queue import HEARTBEAT_TTL, KEEP, RedisScheduler, key
from core.jobs import DONE, FAILED, RUNNING, STOPPED


def run_spec(spec, store, should_stop) -> Iterator:
    """The one runner of every job kind, as the in-process scheduler calls it (tests replace it with a toy)."""
    from core.work.runner import run

    return run(spec, store, should_stop)


def load_spec(text: str):
    from core.work.specs import spec_from_json

    return spec_from_json(text)


def job_store():
    """Where job inputs come from on this machine: the shared Redis store."""
    from core.cluster.store import RedisStore

    return RedisStore(connect(redis_url()))


@contextlib.contextmanager
def heartbeat(redis, job_id: str, every: float = 1.0) -> Iterator[None]:
    """Keeps ``job_id``'s alive key fresh while the ``with`` body runs (also through a long first step)."""
    done = threading.Event()
    redis.set(key("job", job_id, "alive"), 1, ex=HEARTBEAT_TTL)  # before anyone reads "running"

    def beat():
        while not done.wait(every):
            redis.set(key("job", job_id, "alive"), 1, ex=HEARTBEAT_TTL)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        redis.delete(key("job", job_id, "alive"))


def execute(spec_text: str, keep_records: bool = True) -> str:
    """Runs one spec from the queue, pushing each step record for the front ends; ends on a stop flag
    after the current step (the records so far are the partial result). Returns the final state."""
    from rq import get_current_job

    job = get_current_job()
    redis, scheduler = job.connection, RedisScheduler(job.connection)
    records = key("job", job.id, "records")
    started = time.time()
    with heartbeat(redis, job.id):  # "running" is only ever read while the heartbeat is fresh
        redis.set(key("job", job.id, "started"), started, ex=KEEP)
        redis.set(key("job", job.id, "state"), RUNNING, ex=KEEP)
        state = _steps(redis, job.id, records, load_spec(spec_text), keep_records)
        if state == DONE:
            scheduler.record_duration(job.meta.get("kind", ""), time.time() - started)
        redis.set(key("job", job.id, "state"), state, ex=KEEP)
    scheduler.release(job.meta.get("owner", ""), job.id)
    return state


def _steps(redis, job_id: str, records: str, spec, keep_records: bool) -> str:
    """Pushes each record; Stop is the runner's to honour (``should_stop`` between steps: training first
    finishes its phase with the best epoch), so the iterator runs to its own end."""
    stop = key("job", job_id, "stop")
    try:
        for record in run_spec(spec, job_store(), lambda: bool(redis.exists(stop))):
            pipe = redis.pipeline()
            pipe.rpush(records, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
            if not keep_records:
                pipe.ltrim(records, -1, -1)
            pipe.expire(records, KEEP)
            pipe.execute()
        return STOPPED if redis.exists(stop) else DONE
    except Exception as error:  # noqa: BLE001 - the learner reads it; the worker takes the next job
        redis.set(key("job", job_id, "error"), _picklable(error), ex=KEEP)
        return FAILED


def _picklable(error: BaseException) -> bytes:
    try:
        return pickle.dumps(error)
    except Exception:  # noqa: BLE001 - an exception holding unpicklable state travels as its text
        return pickle.dumps(RuntimeError(str(error)))


def work(name: str | None = None, gpu: int | None = None, burst: bool = False) -> None:
    """Runs a worker until it is told to stop (SIGTERM ends it after the current job)."""
    if gpu is not None:  # before TensorFlow is imported: this worker sees one GPU
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    from rq import Queue, SimpleWorker

    url = redis_url()
    if url is None:
        raise ValueError("TRANSFER_LAB_REDIS_URL is not set: a worker needs the lab's Redis")
    connection = connect(url)
    worker = SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, name=name)
    worker.work(burst=burst, with_scheduler=False)
