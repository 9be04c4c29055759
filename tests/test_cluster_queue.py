"""The Redis/RQ job backend against fakeredis: order, places, one job per learner, cancel, stop, results, and a
dead worker's job put back at the head of the queue once."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import fakeredis
import pytest
from rq import Queue, SimpleWorker

from core.cluster import QUEUE_NAME
from core.cluster.queue import RedisScheduler, key
from core.jobs import CANCELLED, DONE, FAILED, RUNNING, STOPPED, WAITING, Busy
from core.work import worker as cluster_worker


@dataclass(frozen=True)
class Count:
    """A toy spec: count to ``n``; ``fail_at`` raises there; ``gate`` names an Event the runner waits on."""

    n: int = 3
    fail_at: int = -1
    gate: str = ""
    kind = "count"

    def dumps(self) -> str:
        return json.dumps({"n": self.n, "fail_at": self.fail_at, "gate": self.gate})


@dataclass(frozen=True)
class Step:
    i: int
    n: int

    @property
    def fraction(self) -> float:
        return (self.i + 1) / self.n


GATES: dict[str, threading.Event] = {}


def toy_run(spec: Count, store, should_stop):
    for i in range(spec.n):
        if should_stop():
            return
        if i == spec.fail_at:
            raise ValueError(f"broke at {i}")
        if spec.gate and i == 1:
            GATES[spec.gate].wait(10)
        yield Step(i, spec.n)


@pytest.fixture
def redis(monkeypatch):
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr(cluster_worker, "run_spec", toy_run)
    monkeypatch.setattr(cluster_worker, "load_spec", lambda text: Count(**json.loads(text)))
    monkeypatch.setattr(cluster_worker, "job_store", lambda: None)
    return connection


def work(connection, burst=True):
    """One worker, in this process, until the queue is empty."""
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
        burst=burst, with_scheduler=False)


def test_jobs_run_in_order_and_each_learner_reads_its_place(redis):
    sched = RedisScheduler(redis)
    jobs = [sched.submit_spec(f"learner-{i}", Count(n=2 + i), f"job {i}") for i in range(3)]
    assert [j.state for j in jobs] == [WAITING] * 3
    assert [sched.ahead(j) for j in jobs] == [0, 1, 2]
    work(redis)
    assert [j.state for j in jobs] == [DONE] * 3
    assert [len(j.records) for j in jobs] == [2, 3, 4]
    assert jobs[2].last == Step(3, 4) and jobs[2].fraction() == 1.0
    assert sched.typical_seconds("count") is not None


def test_a_job_no_other_job_is_before_reads_starting_not_zero_jobs_ahead(redis, monkeypatch):
    from ui import jobs as page_jobs

    monkeypatch.setattr(page_jobs, "t", lambda key, **kw: f"{key} {kw}")
    sched = RedisScheduler(redis)
    first, second = (sched.submit_spec(f"learner-{i}", Count(), f"job {i}") for i in range(2))
    assert page_jobs.waiting_words(sched, first) == "jobs.starting {'label': 'job 0'}"
    # no duration known yet: a place, no estimate
    place = "jobs.ahead_one_no_estimate {}"
    assert page_jobs.waiting_words(sched, second) == f"jobs.waiting {{'label': 'job 1', 'place': '{place}'}}"


def test_one_job_per_learner_until_it_ends(redis):
    sched = RedisScheduler(redis)
    first = sched.submit_spec("learner", Count(), "first")
    with pytest.raises(Busy, match="first"):
        sched.submit_spec("learner", Count(), "second")
    assert sched.active("learner").id == first.id
    work(redis)
    assert sched.active("learner") is None
    again = sched.submit_spec("learner", Count(), "again")
    assert again.state == WAITING


def test_cancel_while_waiting_leaves_the_queue_and_frees_the_learner(redis):
    sched = RedisScheduler(redis)
    first = sched.submit_spec("a", Count(), "a's")
    second = sched.submit_spec("b", Count(), "b's")
    first.stop()
    assert first.state == CANCELLED
    assert sched.ahead(second) == 0
    assert sched.active("a") is None
    work(redis)
    assert second.state == DONE and first.records == []


def test_stop_while_running_keeps_the_records_reached(redis):
    sched = RedisScheduler(redis)
    GATES["stop"] = threading.Event()
    job = sched.submit_spec("a", Count(n=50, gate="stop"), "long")

    def learner_presses_stop():  # another replica's thread; RQ's worker needs the main thread
        for _ in range(500):
            if job.state == RUNNING and job.records:
                break
            threading.Event().wait(0.02)
        job.stop()
        GATES["stop"].set()

    thread = threading.Thread(target=learner_presses_stop)
    thread.start()
    work(redis)
    thread.join(20)
    assert job.state == STOPPED
    assert 1 <= len(job.records) < 50


def test_a_failure_reaches_the_learner_and_the_worker_goes_on(redis):
    sched = RedisScheduler(redis)
    broken = sched.submit_spec("a", Count(n=3, fail_at=1), "broken")
    fine = sched.submit_spec("b", Count(n=2), "fine")
    work(redis)
    assert broken.state == FAILED and "broke at 1" in str(broken.error)
    assert fine.state == DONE


def _die_mid_job(redis, sched, job):
    """What a SIGKILLed worker leaves: RQ says started, our state says running, the heartbeat is gone."""
    rq_job = sched.queue.dequeue_any([sched.queue], None, connection=redis)[0]
    assert rq_job.id == job.id
    redis.set(key("job", job.id, "state"), RUNNING)
    redis.set(key("job", job.id, "started"), 0)
    redis.rpush(key("job", job.id, "records"), b"partial")


def test_a_dead_workers_job_goes_back_to_the_head_of_the_queue_once_then_fails(redis):
    sched = RedisScheduler(redis)
    job = sched.submit_spec("a", Count(n=2), "orphan")
    behind = sched.submit_spec("b", Count(n=2), "behind")
    _die_mid_job(redis, sched, job)
    assert job.state == WAITING and job.restarted  # reaped: back in the queue, its old records gone
    assert sched.ahead(job) == 0 and sched.ahead(behind) == 1
    _die_mid_job(redis, sched, job)
    assert job.state == FAILED and "orphan" in str(job.error)
    assert sched.active("a") is None
    work(redis)
    assert behind.state == DONE


def test_each_replica_stops_only_its_own_closed_sessions_jobs(redis):
    one, two = RedisScheduler(redis, "replica-1"), RedisScheduler(redis, "replica-2")
    mine, theirs, open_tab = one.submit_spec("s1", Count(), "mine"), two.submit_spec("s1", Count(), "theirs"), \
        one.submit_spec("s2", Count(), "open")
    assert [j.owner for j in (mine, theirs)] == ["replica-1/s1", "replica-2/s1"]  # same session id, two learners
    assert one.stop_orphans({"s2"}) and mine.state == CANCELLED
    assert theirs.state == WAITING and open_tab.state == WAITING


def test_an_unreachable_queue_is_one_coded_problem_not_a_crash():
    from core.cluster import connect
    from core.errors import LabError
    from tests.conftest import _free_port

    sched = RedisScheduler(connect(f"redis://127.0.0.1:{_free_port()}/0"))
    with pytest.raises(LabError) as refused:
        sched.submit_spec("a", Count(), "nowhere")
    assert refused.value.code == "job_queue_unreachable"


def test_a_job_lost_twice_fails_with_its_coded_reason(redis):
    sched = RedisScheduler(redis)
    job = sched.submit_spec("a", Count(n=2), "orphan")
    for _ in range(2):
        _die_mid_job(redis, sched, job)
        assert job.state in (WAITING, FAILED)
    assert job.state == FAILED
    assert job.error.code == "job_worker_lost" and job.error.params == {"label": "orphan"}


def test_a_learner_reads_one_sentence_when_the_queue_is_down_and_the_page_keeps_working(fake_backbones, monkeypatch):
    from tests.conftest import _free_port, open_page

    monkeypatch.setenv("TRANSFER_LAB_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    at = open_page("app_pages/ideal_cat.py")
    at.button(key="ideal_go").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "Not started: the job queue cannot be reached right now; try again in a minute, or tell your teacher."]
    at.radio(key="ideal_mode").set_value("both").run()  # the page still answers
    assert not at.exception and at.button(key="ideal_go").label == "Generate"
