"""The job runner as the pages see it: start a long operation, show its place or its progress, Stop or Cancel.

The scheduler (core/jobs.py) is shared by every session; the session keeps only its own ``Job`` objects, so a
finished job's records go away with the session. The page never blocks on a job: a fragment polls it every
half second and reruns the whole page once when it ends, so the page can pick up the result.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from core.jobs import CANCELLED, FAILED, RUNNING, STOPPED, WAITING, Busy, Job, Scheduler
from ui.errors import problem_text
from ui.i18n import t
from ui.session import session_id
from ui.settings import lab_settings

JOBS = "jobs"  # session key: {page slot: Job}
INLINE = "TRANSFER_LAB_INLINE_JOBS"  # "1": run jobs inside the script run (AppTest cannot wait for threads)
POLL_SECONDS = 0.5
CLASSROOM_POLL_SECONDS = 1.0  # thirty learners' live views redraw half as often: the server's Python is shared


@st.cache_resource(show_spinner=False)
def scheduler(slots: int, inline: bool) -> Scheduler:
    """The one scheduler of this server (per slot count, so a test may ask for another)."""
    return Scheduler(slots=slots, threaded=not inline)


def the_scheduler() -> Scheduler:
    return scheduler(lab_settings().heavy_slots, os.environ.get(INLINE) == "1")


@functools.lru_cache(maxsize=1)
def share_the_cores(classroom: bool, cores: int | None = None) -> int | None:
    """In classroom mode TensorFlow's ops get one core fewer than the machine has (process-wide, set once
    before the first op), so the server's own threads (pages, websockets, static files) and a learner's
    light request always find a core free while a heavy job computes. Returns the thread count set, None
    when left to TensorFlow (personal mode, or TensorFlow already running)."""
    if not classroom:
        return None
    import tensorflow as tf

    threads = max(1, (cores or os.cpu_count() or 1) - 1)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran an op in this process (e.g. a test): keep its pool
        return None
    return threads


def light_work():
    """``with light_work():`` around one photo's classification, feature maps or Grad-CAM: it runs now, never
    queued, and heavy jobs hold still between their steps until it is done (core.jobs.LightLane)."""
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


def start_job(slot: str, kind: str, label: str, steps: Callable[[], Iterable[Any]],
              progress: Callable[[Any], float] | None = None, keep_records: bool = True) -> Job | None:
    """Queues a job for this session; if one is already waiting or running, says which and returns None."""
    try:
        job = the_scheduler().submit(session_id(), kind, label, steps, progress, keep_records)
    except Busy as busy:
        running = the_scheduler().active(session_id())
        line = t("jobs.one_at_a_time", label=running.label) if running else t("common.bad_input",
                                                                                problem=problem_text(busy))
        st.warning(line, icon="⏳")
        return None
    st.session_state.setdefault(JOBS, {})[slot] = job
    return job


def job_of(slot: str) -> Job | None:
    return st.session_state.get(JOBS, {}).get(slot)


def take_finished(slot: str) -> Job | None:
    """The slot's job once it has ended (done, stopped, failed or cancelled), handed over exactly once."""
    job = job_of(slot)
    if job is None or not job.finished:
        return None
    del st.session_state[JOBS][slot]
    if job.state == FAILED:
        st.error(t("jobs.failed", label=job.label, error=problem_text(job.error)))
    elif job.state == CANCELLED:
        st.info(t("jobs.cancelled", label=job.label))
    return job


def job_ui(slot: str, render: Callable[[Job], None] | None = None) -> None:
    """Place in the queue with Cancel, or live progress with Stop; polls while the job is active."""
    job = job_of(slot)
    if job is None or job.finished:
        return
    every = CLASSROOM_POLL_SECONDS if lab_settings().classroom else POLL_SECONDS
    st.fragment(run_every=every)(_job_status)(slot, render)


def _job_status(slot: str, render: Callable[[Job], None] | None) -> None:
    job = job_of(slot)
    if job is None or job.finished:
        st.rerun(scope="app")  # the page takes the result
    if job.state == WAITING:
        sched = the_scheduler()
        st.info(t("jobs.waiting", label=job.label, place=place_words(sched.ahead(job), sched.estimate_wait(job))))
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


def running_words(job: Job) -> str:
    """'Ideal image (tabby cat) is running: 40%', or '... stopping after this step'."""
    fraction = job.fraction()
    if job.stop_requested:
        return t("jobs.stopping", label=job.label)
    if fraction is None:
        return t("jobs.running", label=job.label)
    return t("jobs.running_fraction", label=job.label, fraction=fraction)


def stopped_note(job: Job) -> str:
    return t("jobs.stopped_note") if job.state == STOPPED else ""
