"""The job runner as the pages see it: start a long operation, show its place or its progress, Stop or Cancel.

The scheduler (core/jobs.py) is shared by every session; the session keeps only its own ``Job`` objects, so a
finished job's records go away with the session. The page never blocks on a job: a fragment polls it every
half second and reruns the whole page once when it ends, so the page can pick up the result.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from core.cluster import redis_url
from core.errors import LabError
from core.jobs import CANCELLED, FAILED, RUNNING, WAITING, Busy, Job, Scheduler, shared_scheduler
from ui.errors import problem_text
from ui.i18n import t
from ui.session import session_id
from ui.settings import lab_settings
from ui.state import session_jobs

REPLICA_ENV = "TRANSFER_LAB_REPLICA"  # this replica's name in the Redis queue (deploy/cluster.sh sets it)

POLL_SECONDS = 0.5
CLASSROOM_POLL_SECONDS = 1.0
# A place in the queue changes only when a job ends: a waiting tab asks once a second in both modes (personal mode
# polled it twice, and six waiting tabs' redraws took CPU from the running job and a learner's new tab).
WAITING_POLL_SECONDS = 1.0  # thirty learners' live views redraw half as often: the server's Python is shared


def the_scheduler() -> Scheduler:
    """The one scheduler of this server (core.jobs.shared_scheduler, out of reach of ``clear_cache``), or with
    ``TRANSFER_LAB_REDIS_URL`` this replica's front end of the lab's Redis queue (deploy/README.md)."""
    url = redis_url()
    if url is not None:
        from core.cluster.queue import shared_redis_scheduler

        return shared_redis_scheduler(url, os.environ.get(REPLICA_ENV) or socket.gethostname())
    return shared_scheduler(lab_settings().heavy_slots)  # tests swap in an inline one (conftest)


_yielded: set[int] = set()


def yield_compute_threads() -> int:
    """Puts TensorFlow's compute threads (Linux names them ``tf_*``) not yet moved under ``SCHED_BATCH``: the
    same share of the CPU as before (no nice level, so a browser or another program on the machine cannot
    starve a job), but a server thread that wakes up (a page, a poll, a websocket) is not made to wait for
    them. So a heavy job keeps every core, and the pages stay quick. Cheap (one look at /proc/self/task);
    returns how many it moved. Elsewhere than Linux it does nothing."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir() or not hasattr(os, "SCHED_BATCH"):
        return 0
    lowered = 0
    for task in tasks.iterdir():
        tid = int(task.name)
        if tid in _yielded or not _read(task / "comm").startswith("tf_"):
            continue
        with contextlib.suppress(OSError):  # the thread ended, or the system refuses
            os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
            lowered += 1
        _yielded.add(tid)
    return lowered


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def keep_tensorflow_warm() -> None:
    """Stops Streamlit resetting Keras after every script run (once per process, before the first run).

    Streamlit's script runner calls ``keras.backend.clear_session()`` after each run, fragment polls included
    (``_clean_problem_modules``, made for single-user notebooks): that empties TensorFlow's kernel cache under
    the running jobs, resets Keras's global state for every thread and runs a full ``gc.collect()``, twice a
    second per polling learner. Nothing in this app relies on it (models are cached on purpose), so only its
    other half, closing matplotlib figures, is kept. Streamlit has no option for this, hence the patch."""
    from streamlit.runtime.scriptrunner import script_runner

    def clean_matplotlib_only() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")

    script_runner._clean_problem_modules = clean_matplotlib_only


def light_work():
    """``with light_work():`` around one photo's classification, feature maps or Grad-CAM: it runs now, never
    queued, and heavy jobs hold still between their steps until it is done (core.jobs.LightLane)."""
    yield_compute_threads()
    return the_scheduler().lane.light()


def place_words(ahead: int, seconds: float | None) -> str:
    """'2 jobs ahead of you, about 30 s' (前面还有 2 个任务，约 30 秒): what a waiting learner reads."""
    if seconds is None:
        return t("jobs.ahead_no_estimate", count=ahead) if ahead != 1 else t("jobs.ahead_one_no_estimate")
    if seconds < 90:
        return t("jobs.ahead_seconds", count=ahead, seconds=seconds) if ahead != 1 else t(
            "jobs.ahead_one_seconds", seconds=seconds)
    minutes = seconds / 60
    return t("jobs.ahead_minutes", count=ahead, minutes=minutes) if ahead != 1 else t(
        "jobs.ahead_one_minutes", minutes=minutes)


def start_job(slot: str, kind: str, label: str, steps: Callable[[], Iterable[Any]] | None,
              progress: Callable[[Any], float] | None = None, keep_records: bool = True, spec=None) -> Job | None:
    """Queues a job for this session; if one is already waiting or running, says which and returns None."""
    yield_compute_threads()
    try:
        sched = the_scheduler()
        job = sched.submit_spec(session_id(), spec, label, keep_records=keep_records) if spec is not None \
            else sched.submit(session_id(), kind, label, steps, progress, keep_records)
    except Busy as busy:
        running = the_scheduler().active(session_id())
        line = t("jobs.one_at_a_time", label=running.label) if running else t("common.bad_input",
                                                                                problem=problem_text(busy))
        st.warning(line, icon="⏳")
        return None
    except LabError as problem:  # the Redis queue cannot be reached: light work still runs in this replica
        st.warning(t("jobs.not_started", problem=problem_text(problem)), icon="⚠️")
        return None
    session_jobs().active[slot] = job
    return job


def start_spec(slot: str, spec, label: str, keep_records: bool = True) -> Job | None:
    """Queues a job spec (``core.work.specs``) for this session, its inputs in the app's store
    (``core.work.store.default_store``); None if busy."""
    return start_job(slot, spec.kind, label, None, keep_records=keep_records, spec=spec)


def job_of(slot: str) -> Job | None:
    return session_jobs().active.get(slot)


def take_finished(slot: str) -> Job | None:
    """The slot's job once it has ended (done, stopped, failed or cancelled), handed over exactly once."""
    job = job_of(slot)
    if job is None or not job.finished:
        return None
    del session_jobs().active[slot]
    session_jobs().announced.pop(slot, None)
    if job.state == FAILED:
        st.error(t("jobs.failed", label=job.label, error=problem_text(job.error)))
    elif job.state == CANCELLED:
        st.info(t("jobs.cancelled", label=job.label))
    return job


def job_ui(slot: str, render: Callable[[Job], None] | None = None) -> None:
    """Place in the queue with Cancel, or live progress with Stop; polls while the job is active.

    A job that ended before this call (a cached result, an instant failure, a cancel: it can end between
    ``start_job`` and here) makes the page run once more, so the page's ``take_finished`` shows it now."""
    job = job_of(slot)
    if job is None:
        return
    if job.finished:
        _hand_over(slot, job)
        return
    waiting = job.state == WAITING
    every = WAITING_POLL_SECONDS if waiting else CLASSROOM_POLL_SECONDS if lab_settings().classroom else POLL_SECONDS
    st.fragment(run_every=every)(_job_status)(slot, render, waiting)


def _hand_over(slot: str, job: Job) -> None:
    """Reruns the whole page once per finished job, whose ``take_finished`` then hands the job over; a page that
    takes its job later in the same run (after ``job_ui``) costs one extra run, never a loop."""
    announced = session_jobs().announced
    if announced.get(slot) is job:
        return
    announced[slot] = job
    st.rerun(scope="app")


def _job_status(slot: str, render: Callable[[Job], None] | None, waiting: bool = False) -> None:
    job = job_of(slot)
    if job is None:
        st.rerun(scope="app")
    if job.finished:
        _hand_over(slot, job)  # the page takes the result
        return
    if waiting and job.state != WAITING:  # it started: the page draws its live view, polled at the running pace
        st.rerun(scope="app")
    if job.state == WAITING:
        sched = the_scheduler()
        if getattr(job, "restarted", False):  # a worker died under it (Redis queue): back at the front once
            st.warning(t("jobs.restarted", label=job.label), icon="🔁")
        st.info(waiting_words(sched, job))
        if st.button(t("jobs.cancel"), key=f"{slot}_cancel", icon="✖️"):
            job.stop()
            sched.cancel_waiting()
            st.rerun(scope="app")
    elif job.state == RUNNING:
        st.progress(job.fraction() or 0.0, text=running_words(job))
        if st.button(t("jobs.stop"), key=f"{slot}_stop", icon="⏹️", help=t("jobs.stop_help")):
            job.stop()
        if render is not None and job.last is not None:
            render(job)


def waiting_words(sched, job: Job) -> str:
    """'Ideal image is waiting: 2 jobs ahead of you, about 30 s'; with nothing before it (a slot or a worker is
    taking it up), 'Ideal image is starting…', not '0 jobs ahead of you, about 0 s'."""
    ahead = sched.ahead(job)
    if not ahead:
        return t("jobs.starting", label=job.label)
    return t("jobs.waiting", label=job.label, place=place_words(ahead, sched.estimate_wait(job)))


def running_words(job: Job) -> str:
    """'Ideal image (tabby cat) is running: 40%', or '... stopping after this step'."""
    fraction = job.fraction()
    if job.stop_requested:
        return t("jobs.stopping", label=job.label)
    if fraction is None:
        return t("jobs.running", label=job.label)
    return t("jobs.running_fraction", label=job.label, fraction=fraction)
