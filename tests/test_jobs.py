"""The one job runner, headless: order, slots, cancel, stop keeping the partial result, one job per owner."""

from __future__ import annotations

import threading
import time

import pytest

from core.jobs import CANCELLED, DONE, FAILED, RUNNING, STOPPED, WAITING, Busy, Scheduler


def gated(log: list, name: str, gate: threading.Event, steps: int = 3):
    """A job that records its start, then waits for the gate before each step."""
    def run():
        log.append(name)
        for step in range(1, steps + 1):
            assert gate.wait(5), "the test never opened the gate"
            yield {"step": step, "total": steps}
    return run


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_jobs_run_first_come_first_served_on_one_slot():
    scheduler, log, gate = Scheduler(slots=1), [], threading.Event()
    jobs = [scheduler.submit(f"s{i}", "train", f"job {i}", gated(log, f"job {i}", gate)) for i in range(3)]
    wait_for(lambda: jobs[0].state == RUNNING)
    assert [j.state for j in jobs] == [RUNNING, WAITING, WAITING]
    assert [scheduler.ahead(j) for j in jobs] == [0, 1, 2]
    gate.set()
    wait_for(lambda: all(j.finished for j in jobs))
    assert log == ["job 0", "job 1", "job 2"] and all(j.state == DONE for j in jobs)
    assert jobs[2].last == {"step": 3, "total": 3}


def test_k_slots_run_k_jobs_at_once():
    scheduler, log, gate = Scheduler(slots=2), [], threading.Event()
    jobs = [scheduler.submit(f"s{i}", "attack", "a", gated(log, str(i), gate)) for i in range(3)]
    wait_for(lambda: jobs[1].state == RUNNING)
    assert jobs[0].state == RUNNING and jobs[2].state == WAITING and scheduler.ahead(jobs[2]) == 2
    gate.set()
    wait_for(lambda: jobs[2].state == DONE)


def test_a_waiting_job_can_be_cancelled_and_never_runs():
    scheduler, log, gate = Scheduler(slots=1), [], threading.Event()
    first = scheduler.submit("a", "ideal", "first", gated(log, "first", gate))
    second = scheduler.submit("b", "ideal", "second", gated(log, "second", gate))
    third = scheduler.submit("c", "ideal", "third", gated(log, "third", gate))
    second.stop()
    scheduler.cancel_waiting()
    assert second.state == CANCELLED and scheduler.ahead(third) == 1
    gate.set()
    wait_for(lambda: third.finished)
    assert log == ["first", "third"] and first.state == DONE


def test_stop_while_running_keeps_the_steps_reached():
    scheduler, started, release = Scheduler(slots=1), threading.Event(), threading.Event()

    def run():
        for step in range(1, 100):
            yield {"step": step}
            started.set()
            release.wait(5)

    job = scheduler.submit("a", "train", "long", run)
    assert started.wait(5)
    job.stop()
    release.set()
    wait_for(lambda: job.finished)
    assert job.state == STOPPED and job.last["step"] in (1, 2) and job.records[0] == {"step": 1}


def test_one_job_per_owner_and_the_message_names_it():
    scheduler, gate = Scheduler(slots=1), threading.Event()
    scheduler.submit("a", "train", "Training the head", gated([], "x", gate))
    with pytest.raises(Busy, match="Training the head"):
        scheduler.submit("a", "ideal", "Ideal cat", gated([], "y", gate))
    other = scheduler.submit("b", "ideal", "Ideal cat", gated([], "y", gate))
    gate.set()
    wait_for(lambda: other.finished)
    assert scheduler.active("a") is None
    scheduler.submit("a", "ideal", "again", gated([], "z", gate))  # a finished job frees its owner


def test_a_failing_job_is_reported_and_the_queue_goes_on():
    scheduler = Scheduler(slots=1, threaded=False)

    def broken():
        yield {"step": 1}
        raise OSError("disk gone")

    bad = scheduler.submit("a", "train", "bad", broken)
    good = scheduler.submit("b", "train", "good", lambda: iter([{"step": 1}]))
    assert bad.state == FAILED and "disk gone" in str(bad.error) and bad.last == {"step": 1}
    assert good.state == DONE


def test_estimate_uses_running_progress_and_past_durations():
    now = [0.0]
    scheduler = Scheduler(slots=1, threaded=False, clock=lambda: now[0])

    def timed(seconds):
        def run():
            now[0] += seconds
            yield {"step": 1, "total": 1}
        return run

    scheduler.submit("a", "ideal", "past", timed(10.0))  # inline: finishes at once, 10 s long
    assert scheduler.typical_seconds("ideal") == 10.0
    threaded = Scheduler(slots=1, clock=lambda: now[0])
    threaded._durations["ideal"].extend([10.0])
    gate = threading.Event()
    running = threaded.submit("a", "ideal", "run", gated([], "r", gate, steps=4),
                              progress=lambda r: r["step"] / r["total"])
    waiting = [threaded.submit(o, "ideal", o, gated([], o, gate)) for o in ("b", "c")]
    wait_for(lambda: running.state == RUNNING)
    assert threaded.estimate_wait(waiting[0]) == 10.0  # no progress yet: the typical duration
    assert threaded.estimate_wait(waiting[1]) == 20.0
    gate.set()
    wait_for(lambda: waiting[1].finished)


def test_unknown_kind_gives_no_estimate_rather_than_a_wrong_one():
    scheduler, gate = Scheduler(slots=1), threading.Event()
    scheduler.submit("a", "sweep", "s", gated([], "a", gate))
    waiting = scheduler.submit("b", "sweep", "s", gated([], "b", gate))
    assert scheduler.estimate_wait(waiting) is None
    gate.set()
    wait_for(lambda: waiting.finished)


def test_finished_jobs_are_not_held_by_the_scheduler():
    scheduler = Scheduler(slots=1, threaded=False)
    job = scheduler.submit("a", "train", "t", lambda: iter([{"step": 1}]))
    assert job.steps is None and scheduler.active("a") is None and not scheduler._running


def test_slots_must_be_positive():
    with pytest.raises(ValueError, match="slots"):
        Scheduler(slots=0)


def test_the_light_lane_answers_while_every_heavy_slot_is_busy():
    """Classifying one photo is not a job: it runs in the caller's thread even with the slot taken and a queue."""
    import numpy as np

    from tests.conftest import make_tiny_model

    scheduler, gate = Scheduler(slots=1), threading.Event()
    heavy = [scheduler.submit(f"s{i}", "train", "t", gated([], str(i), gate)) for i in range(6)]
    wait_for(lambda: heavy[0].state == RUNNING)
    model = make_tiny_model(2, 8)
    logits = model.predict(np.zeros((1, 8, 8, 3), np.float32), verbose=0)
    assert logits.shape == (1, 2) and [j.state for j in heavy[1:]] == [WAITING] * 5
    gate.set()
    wait_for(lambda: heavy[-1].finished)


def endless(steps_done: list, seconds_per_step: float = 0.01):
    """A heavy job that never ends by itself: a step every ``seconds_per_step``, counted in ``steps_done``."""
    def run():
        while True:
            time.sleep(seconds_per_step)
            steps_done.append(1)
            yield {"step": len(steps_done)}
    return run


def test_heavy_jobs_hold_still_between_steps_while_light_work_runs():
    """A light request does not wait for the heavy job to end, and the heavy job takes no steps meanwhile."""
    import numpy as np

    from core.jobs import LightLane
    from tests.conftest import make_tiny_model

    scheduler, steps_done = Scheduler(slots=1, lane=LightLane(max_pause=30)), []
    heavy = scheduler.submit("teacher", "ideal", "endless", endless(steps_done))
    wait_for(lambda: len(steps_done) > 3)
    model = make_tiny_model(2, 8)
    with scheduler.lane.light():
        before = len(steps_done)
        logits = model.predict(np.zeros((1, 8, 8, 3), np.float32), verbose=0)
        time.sleep(0.3)  # 30 heavy steps' worth of time
        during = len(steps_done) - before
    assert logits.shape == (1, 2) and heavy.state == RUNNING
    assert during <= 1  # at most the step that was under way when the light work came
    wait_for(lambda: len(steps_done) > before + during + 3)  # the heavy job goes on afterwards
    heavy.stop()
    wait_for(lambda: heavy.finished)
    assert heavy.state == STOPPED


def test_a_stuck_light_request_cannot_hold_heavy_jobs_for_ever():
    from core.jobs import LightLane

    scheduler, steps_done = Scheduler(slots=1, lane=LightLane(max_pause=0.05)), []
    heavy = scheduler.submit("teacher", "ideal", "endless", endless(steps_done))
    with scheduler.lane.light():
        wait_for(lambda: len(steps_done) > 3, seconds=5)  # steps still come, one per max_pause
    heavy.stop()
    wait_for(lambda: heavy.finished)
    with pytest.raises(ValueError, match="max_pause"):
        LightLane(max_pause=0)


def test_jobs_of_closed_sessions_are_stopped_and_leave_the_queue():
    scheduler, gate = Scheduler(slots=1), threading.Event()
    gone_running = scheduler.submit("gone-1", "ideal", "a", gated([], "a", gate, steps=50))
    gone_waiting = scheduler.submit("gone-2", "ideal", "b", gated([], "b", gate))
    staying = scheduler.submit("here", "ideal", "c", gated([], "c", gate))
    wait_for(lambda: gone_running.state == RUNNING)
    assert set(scheduler.stop_orphans({"here"})) == {gone_running, gone_waiting}
    assert gone_waiting.state == CANCELLED and staying.state == WAITING
    gate.set()
    wait_for(lambda: staying.finished)
    assert gone_running.state == STOPPED and staying.state == DONE


def test_tensorflow_keeps_every_core_and_its_compute_threads_let_the_server_go_first():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import os, tensorflow as tf; from ui.jobs import yield_compute_threads; "
            "tf.matmul(tf.ones((64, 64)), tf.ones((64, 64))); "
            "moved = yield_compute_threads(); again = yield_compute_threads(); "
            "policies = {os.sched_getscheduler(int(t)) for t in os.listdir('/proc/self/task') "
            "if open(f'/proc/self/task/{t}/comm').read().startswith('tf_')}; "
            "print(tf.config.threading.get_intra_op_parallelism_threads(), moved > 0, again, "
            "policies == {os.SCHED_BATCH}, os.sched_getscheduler(0) == os.SCHED_OTHER)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["0", "True", "0", "True", "True"], out.stderr[-2000:]


def test_the_shared_scheduler_is_one_per_process_whoever_asks_first():
    from concurrent.futures import ThreadPoolExecutor

    from core.jobs import shared_scheduler

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: shared_scheduler(3), range(32)))
    assert all(s is got[0] for s in got) and got[0].slots == 3
    assert shared_scheduler(3, threaded=False) is not got[0]


def test_script_runs_and_polls_leave_keras_and_tensorflow_state_alone(monkeypatch):
    """Streamlit calls keras.backend.clear_session() after every script run (it empties TensorFlow's kernel
    cache under running jobs); the app switches that off."""
    import keras

    from tests.conftest import open_page

    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    at = open_page("app_pages/ideal_cat.py")
    at.run()
    assert not at.exception
    assert calls == []


def test_a_job_thread_carries_its_kind_in_the_os_thread_name():
    """``top -H`` (and the classroom bench) can tell a job's CPU from the server's own."""
    seen = []

    def steps():
        seen.append(open(f"/proc/self/task/{threading.get_native_id()}/comm").read().strip())
        yield 1

    job = Scheduler().submit("owner", "training", "Training", steps)
    wait_for(lambda: job.finished)
    assert seen == ["job-training"] and job.state == DONE
