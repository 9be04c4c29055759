"""Fine-tuning, the optional second phase (Transfer training, part 3): a job on the learner's own backbone copy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from core.jobs import STOPPED
from core.transfer.export import keras_bytes
from core.transfer.finetune import FineTuneSettings, estimate_seconds, resolve_precision
from core.transfer.pipeline import Assembled
from core.work.specs import FineTuneJob
from core.work.store import default_store
from core.work.training import remember_run
from ui.i18n import t
from ui.jobs import job_ui, start_spec, take_finished
from ui.settings import widget_max
from ui.state import TrainedModel, TransferRun, set_trained, transfer_page
from ui.transfer_results import history_of, phases_figure

SLOT = "fine_tune"


def fine_tune_ui(run: TransferRun | None) -> None:
    """Blocks, epochs and rate, an estimate first, then the job with live curves of both phases."""
    if run is None:
        return
    st.header(t("transfer.ft_heading"))
    settings = _settings_ui(run)
    estimate = estimate_seconds(run.report.images_per_s, len(run.report.data.split.train),
                                len(run.report.data.split.val), settings.epochs)
    st.caption(t("transfer.ft_estimate", hardware=_hardware(), duration=_duration(estimate)))
    if st.button(t("transfer.ft_go"), key="tt_ft_go"):
        start_fine_tune(run, settings)
    job_ui(SLOT, lambda job: _live(job, run))
    if run.report.fine_tune is not None:
        _show(run)


def _settings_ui(run: TransferRun) -> FineTuneSettings:
    cols = st.columns(4)
    most_blocks, most_epochs = widget_max("max_fine_tune_blocks", 10), widget_max("max_fine_tune_epochs", 50)
    blocks = cols[0].number_input(t("transfer.ft_blocks"), 1, most_blocks, min(2, most_blocks), key="tt_ft_blocks",
                                  help=t("transfer.ft_blocks_help"))
    epochs = cols[1].number_input(t("transfer.epochs"), 1, most_epochs, min(3, most_epochs), key="tt_ft_epochs")
    rate = cols[2].select_slider(t("transfer.learning_rate"), [1e-6, 3e-6, 1e-5, 3e-5, 1e-4], 1e-5, key="tt_ft_lr",
                                 format_func=lambda v: f"{v:g}")
    augment = cols[3].checkbox(t("transfer.ft_augment"), True, key="tt_ft_augment")
    return FineTuneSettings(int(blocks), int(epochs), float(rate), augment=bool(augment),
                            seed=run.report.settings.seed)


def _hardware() -> str:
    """Where and in which precision fine-tuning runs here, in words (core's ``describe_hardware``, translated)."""
    import tensorflow as tf

    gpus = len(tf.config.list_logical_devices("GPU"))
    precision = resolve_precision("auto", gpus).replace("_", " ")
    return t("transfer.ft_on_gpus", count=gpus, precision=precision) if gpus else t("transfer.ft_on_cpu",
                                                                                      precision=precision)


def _duration(seconds: float) -> str:
    """An estimate in words: seconds under a minute and a half, else minutes."""
    if not np.isfinite(seconds):
        return t("transfer.ft_no_estimate")
    return t("transfer.ft_seconds", seconds=seconds) if seconds < 90 else t("transfer.ft_minutes", minutes=seconds / 60)


def start_fine_tune(run: TransferRun, settings: FineTuneSettings) -> None:
    """Queues fine-tuning of a copy of the run's model on a backbone of its own, loaded inside the job."""
    classes = list(run.classes)
    head = run.report.head
    key = run.spec and default_store().put(keras_bytes(head, classes))
    if not key:  # a run without a spec (made before jobs were data) cannot be fine-tuned as a job
        return
    remember_run(key, run.report)  # this process continues the run as it is, no rebuilding
    job = FineTuneJob(run.spec, settings, key)
    if start_spec(SLOT, job, t("transfer.ft_job_label", number=run.number)):
        finish_fine_tune()  # at once if it already ended (a test's inline scheduler); else on a later run


def finish_fine_tune() -> None:
    """A finished (or stopped) fine-tuning becomes the run's second phase and the session's model."""
    job = take_finished(SLOT)
    if job is None:
        return
    page, final = transfer_page(), job.last
    if not isinstance(final, Assembled):
        if job.state == STOPPED:
            st.info(t("transfer.ft_stopped_none"), icon="⏹️")
        return
    run = next((r for r in page.runs if r.report.data is final.report.data), None)
    if run is None:
        return
    run.report = final.report
    run.spec = replace(job.spec.train, fine_tune=job.spec.settings)  # one spec trains and fine-tunes it again
    set_trained(TrainedModel(final.model, run.classes, final.report.backbone, run=f"{run.number} fine-tuned",
                             fine_tuned=True))
    if final.report.fine_tune.stopped_by == "stop button":
        st.info(t("transfer.ft_stopped_kept"), icon="⏹️")


def _live(job, run: TransferRun) -> None:
    """Both phases' curves while fine-tuning runs."""
    history, _ = history_of(job.records, "fine-tune")
    if history:
        both = {k: list(run.report.history.get(k, [])) + v for k, v in history.items()}
        st.plotly_chart(phases_figure(both, len(run.report.history.get("loss", []))), width="stretch",
                        key="tt_ft_live")


def _show(run: TransferRun) -> None:
    """Before/after accuracy and the curves of both phases."""
    fine, before = run.report.fine_tune, run.accuracy
    after = fine.evaluation.accuracy if fine.evaluation else before
    cols = st.columns(3)
    cols[0].metric(t("transfer.ft_head_only"), f"{before:.1%}")
    change = 100 * (after - before)
    moved = bool(round(change, 1))
    cols[1].metric(t("transfer.ft_after"), f"{after:.1%}",
                   delta=t("transfer.ft_points", change=change) if moved else t("transfer.ft_no_change"),
                   delta_color="normal" if moved else "off", delta_arrow="auto" if moved else "off")
    cols[2].metric(t("transfer.ft_time"), t("transfer.seconds", seconds=fine.seconds),
                   help=t("transfer.ft_precision", precision=fine.precision))
    st.plotly_chart(phases_figure(fine.history, fine.start_epoch), width="stretch", key=f"ft_curves_{run.number}")
