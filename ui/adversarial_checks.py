"""Adversarial dog's independent sections, each a fragment with its own job: survival, transfer, epsilon sweep.

A widget in one section reruns only that section; each reads the attack's result from the page state,
so nothing here re-runs the attack or its measurement.
"""

from __future__ import annotations

import streamlit as st

from core.attack.attack import AttackConfig
from core.attack.survival import SurvivalSettings
from core.jobs import STOPPED
from core.models.backbones import get_spec
from core.work.specs import SurvivalJob, SweepJob, TransferCheckJob
from core.work.store import default_store, put_array
from ui.adversarial import folder_images, other_available_backbones, read_photo, target_label
from ui.adversarial_charts import survival_table, sweep_figure, transfer_table
from ui.backbones import stored_model
from ui.folders import folder_ui
from ui.i18n import t
from ui.jobs import job_of, job_ui, start_spec, take_finished
from ui.photos import photo_input_ui
from ui.settings import widget_max
from ui.state import AttackResult, SweepResult, TrainedModel, adversarial
from ui.targets import Target

SURVIVAL_SLOT, TRANSFER_SLOT, SWEEP_SLOT = "adv_survival", "adv_transfer", "adv_sweep"


def victim_model(result: AttackResult, trained: TrainedModel | None) -> str | None:
    """The store key of the classifier the result was made on ("" for ImageNet), or None (with a line) when
    the learner's classifier is gone."""
    if not result.target.trained:
        return ""
    if trained is None or trained.classes != result.labels:
        st.warning(t("adversarial.own_gone"))
        return None
    return result.model or stored_model(trained)


@st.fragment
def survival_ui(trained: TrainedModel | None) -> None:
    """JPEG, resize and blur applied to the saved image; a slider here reruns only this section."""
    result = adversarial().result
    st.header(t("adversarial.h_survival"))
    st.caption(t("adversarial.survival_caption"))
    c1, c2, c3 = st.columns(3)
    quality = c1.slider(t("adversarial.jpeg_quality"), 10, 95, 75, key="adv_jpeg")
    scale = c2.slider(t("adversarial.resize_scale"), 50, 95, 90, key="adv_scale") / 100
    radius = c3.slider(t("adversarial.blur_radius"), 0.1, 2.0, 0.5, 0.1, key="adv_blur")
    settings = SurvivalSettings(quality, scale, radius)
    finish_survival()
    if settings not in result.survival and job_of(SURVIVAL_SLOT) is None:
        model = victim_model(result, trained)
        if model is not None:
            job = SurvivalJob(result.backbone or "", put_array(default_store(), result.adversarial),
                              result.measured["before"][0].index, result.config.target, settings, model)
            adversarial().made_for[SURVIVAL_SLOT] = result
            if start_spec(SURVIVAL_SLOT, job, t("adversarial.job_survival")):
                finish_survival()
    job_ui(SURVIVAL_SLOT)
    rows = result.survival.get(settings)
    if rows:
        st.dataframe(survival_table(rows, result.labels, result.config.targeted), hide_index=True, width="stretch",
                     key="adv_survival_table")


def finish_survival() -> None:
    job = take_finished(SURVIVAL_SLOT)
    made_for = adversarial().made_for.pop(SURVIVAL_SLOT, None) if job is not None else None
    if job is not None and job.last is not None and made_for is not None:
        made_for.survival[job.spec.settings] = list(job.last.rows)


@st.fragment
def transfer_ui() -> None:
    """The adversarial image shown to every other offline ImageNet network, on request."""
    result = adversarial().result
    st.header(t("adversarial.h_transfer"))
    if result.target.trained:
        st.info(t("adversarial.transfer_own"))
        return
    others = other_available_backbones(result.backbone)
    names = ", ".join(get_spec(name).display_name for name in others)
    st.caption(t("adversarial.transfer_caption", networks=names or t("adversarial.none")))
    finish_transfer()
    if others and st.button(t("adversarial.transfer_run"), key="adv_transfer_run"):
        # the other networks load inside the job, once per process (core.work.shared), while the page stays live
        store = default_store()
        job = TransferCheckJob(tuple(others), put_array(store, result.clean), put_array(store, result.adversarial),
                               result.config.target)
        adversarial().made_for[TRANSFER_SLOT] = result
        if start_spec(TRANSFER_SLOT, job, t("adversarial.job_transfer"), keep_records=False):
            finish_transfer()
    job_ui(TRANSFER_SLOT)
    if result.transfer:
        st.dataframe(transfer_table(result.transfer, result.config.targeted), hide_index=True, width="stretch",
                     key="adv_transfer_table")


def finish_transfer() -> None:
    """The rows reached (all, or those before a Stop) join the result they were made for."""
    job = take_finished(TRANSFER_SLOT)
    made_for = adversarial().made_for.pop(TRANSFER_SLOT, None) if job is not None else None
    if job is not None and job.last is not None and made_for is not None:
        made_for.transfer = list(job.last.rows)


def sweep_from_job(job, made_for: tuple) -> SweepResult | None:
    """The sweep a finished job reached (``made_for``: its target and class names); stopped if Stop was pressed."""
    if job is None or job.last is None:
        return None
    target, labels = made_for
    return SweepResult(job.last.curve, job.spec.config.method, target, labels, job.last.photos,
                       stopped=job.state == STOPPED)


def finish_sweep() -> None:
    job = take_finished(SWEEP_SLOT)
    made_for = adversarial().made_for.pop(SWEEP_SLOT, None) if job is not None else None
    sweep = sweep_from_job(job, made_for) if made_for is not None else None
    if sweep is not None:
        adversarial().sweep = sweep


def sweep_photos(folder, uploads: list, limit: int) -> list:
    """The sweep's photos: the folder's first ``limit`` files, or the uploads."""
    if not folder:
        return uploads[:limit]
    try:
        return [p for p in (read_photo(path) for path in folder_images(folder)[:limit]) if p is not None]
    except ValueError as exc:
        st.error(str(exc), icon="📁")
        return []


def _sweep_live(job) -> None:
    target, labels = adversarial().made_for.get(SWEEP_SLOT, (None, None))
    if target is None:
        return
    st.plotly_chart(sweep_figure(job.last.curve, job.spec.config.method, target_label(target, labels),
                                 job.last.photos), width="stretch", key="adv_sweep_live")


@st.fragment
def sweep_ui(victim, config: AttackConfig | None, target: Target) -> None:
    """Success rate against epsilon over a folder or uploads, as a Plotly curve; runs as a job."""
    st.header(t("adversarial.h_sweep"))
    st.caption(t("adversarial.sweep_caption"))
    folder = folder_ui(t("adversarial.sweep_folder"), "adv_sweep_folder")
    uploads = [] if folder else photo_input_ui("adv_sweep", multiple=True)
    left, right = st.columns(2)
    eps_values = left.multiselect(t("adversarial.sweep_eps"), list(range(0, 17)), default=[0, 1, 2, 4, 8],
                                  key="adv_sweep_eps")
    most = widget_max("max_sweep_photos", 150)
    limit = right.slider(t("adversarial.sweep_limit"), 1, max(2, most), min(12, most), key="adv_sweep_limit")
    finish_sweep()
    if st.button(t("adversarial.sweep_run"), key="adv_sweep_run", disabled=not eps_values or config is None):
        photos = sweep_photos(folder, uploads, min(limit, most))
        if photos:
            store = default_store()
            job = SweepJob(victim.backbone or "", tuple(put_array(store, p.image) for p in photos),
                           tuple(eps_values), config, victim.model)
            adversarial().made_for[SWEEP_SLOT] = (target, victim.labels)
            if start_spec(SWEEP_SLOT, job, t("adversarial.job_sweep"), keep_records=False):
                finish_sweep()
        else:
            st.warning(t("adversarial.sweep_no_photos"))
    job_ui(SWEEP_SLOT, _sweep_live)
    sweep = adversarial().sweep
    if sweep and sweep.curve:
        if sweep.stopped:
            st.info(t("adversarial.sweep_stopped", points=len(sweep.curve)))
        st.plotly_chart(sweep_figure(sweep.curve, sweep.method, target_label(sweep.target, sweep.labels),
                                     sweep.photos), width="stretch", key="adv_sweep_chart")

