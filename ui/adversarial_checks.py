"""Adversarial dog's independent sections, each a fragment with its own job: survival, transfer, epsilon sweep.

A widget in one section reruns only that section; each reads the attack's result from the page state,
so nothing here re-runs the attack or its measurement.
"""

from __future__ import annotations

import os

import streamlit as st

from core.attack.attack import AttackConfig
from core.attack.survival import SurvivalSettings, survival
from core.attack.sweep import epsilon_sweep
from core.attack.transferability import transfer
from core.jobs import STOPPED
from core.models.backbones import get_spec
from ui.adversarial import (
    Target,
    folder_images,
    imagenet_attacker,
    other_available_backbones,
    prepare_for,
    read_photo,
    target_label,
    trained_attacker,
)
from ui.adversarial_charts import survival_table, sweep_figure, transfer_table
from ui.common import photo_input_ui
from ui.folders import folder_ui
from ui.i18n import t
from ui.jobs import INLINE, job_of, job_ui, start_job, take_finished
from ui.settings import widget_max
from ui.state import AttackResult, SweepResult, TrainedModel, adversarial

SURVIVAL_SLOT, TRANSFER_SLOT, SWEEP_SLOT = "adv_survival", "adv_transfer", "adv_sweep"
SURVIVAL_IDS = ("none", "jpeg", "resize", "blur")  # the order of core's survival rows


def _inline() -> bool:
    return os.environ.get(INLINE) == "1"


def result_attacker(result: AttackResult, trained: TrainedModel | None):
    """The attacker that made the result, or None (with a line) when the learner's classifier is gone."""
    if result.target.kind != "trained":
        return imagenet_attacker(result.backbone)
    if trained is None or trained.classes != result.labels:
        st.warning(t("adversarial.own_gone"))
        return None
    return trained_attacker(trained)


def survival_rows(attacker, result: AttackResult, settings: SurvivalSettings) -> list[dict]:
    """Core's survival rows with an id and the strength of each check, for the translated table."""
    clean_top = result.measured["before"][0].index
    values = (None, settings.jpeg_quality, settings.resize_scale, settings.blur_radius)
    rows = survival(attacker, result.adversarial, clean_top, result.config.target, settings)
    return [{**row, "check_id": check, "value": value} for row, check, value in zip(rows, SURVIVAL_IDS, values)]


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
        attacker = result_attacker(result, trained)
        if attacker is not None and start_job(
                SURVIVAL_SLOT, "survival", t("adversarial.job_survival"),
                lambda: iter([(result, settings, survival_rows(attacker, result, settings))])) and _inline():
            finish_survival()
    job_ui(SURVIVAL_SLOT)
    rows = result.survival.get(settings)
    if rows:
        st.dataframe(survival_table(rows, result.labels, result.config.targeted), hide_index=True, width="stretch",
                     key="adv_survival_table")


def finish_survival() -> None:
    job = take_finished(SURVIVAL_SLOT)
    if job is not None and job.last is not None:
        made_for, settings, rows = job.last
        made_for.survival[settings] = rows


def transfer_steps(result: AttackResult, others: list):
    """The job: each other network in turn, yielding the rows so far (a Stop keeps them)."""
    def steps():
        rows = []
        for other in others:
            rows += transfer([other], result.clean, result.adversarial, result.config.target)
            yield {"result": result, "rows": list(rows), "done": len(rows) / len(others)}
    return steps


@st.fragment
def transfer_ui() -> None:
    """The adversarial image shown to every other offline ImageNet network, on request."""
    result = adversarial().result
    st.header(t("adversarial.h_transfer"))
    if result.target.kind == "trained":
        st.info(t("adversarial.transfer_own"))
        return
    others = other_available_backbones(result.backbone)
    names = ", ".join(get_spec(name).display_name for name in others)
    st.caption(t("adversarial.transfer_caption", networks=names or t("adversarial.none")))
    finish_transfer()
    if others and st.button(t("adversarial.transfer_run"), key="adv_transfer_run"):
        # networks are loaded here, in the script run: Streamlit's resource cache is not for worker threads
        attackers = [imagenet_attacker(name) for name in others]
        if start_job(TRANSFER_SLOT, "transfer", t("adversarial.job_transfer"), transfer_steps(result, attackers),
                     progress=lambda r: r["done"], keep_records=False) and _inline():
            finish_transfer()
    job_ui(TRANSFER_SLOT)
    if result.transfer:
        st.dataframe(transfer_table(result.transfer, result.config.targeted), hide_index=True, width="stretch",
                     key="adv_transfer_table")


def finish_transfer() -> None:
    """The rows reached (all, or those before a Stop) join the result they were made for."""
    job = take_finished(TRANSFER_SLOT)
    if job is not None and job.last is not None:
        job.last["result"].transfer = job.last["rows"]


def sweep_steps(attacker, images, eps_values, config: AttackConfig, target: Target, labels, total_photos: int):
    """The job: the success curve after each batch, as a ``SweepResult`` so far (a Stop keeps it)."""
    def steps():
        curve, total = {}, len(images) * len(eps_values)
        finished = 0
        # batches of 2: a Stop or a new point comes every few seconds, not after 4 photos' worth of steps
        for point in epsilon_sweep(attacker, images, sorted(eps_values), config, batch_size=2):
            curve[point.eps] = (point.successes, point.done)
            yield {"sweep": SweepResult(dict(curve), config.method, target, labels, total_photos),
                   "done": (finished + point.done) / total}
            finished += point.total if point.done == point.total else 0
    return steps


def sweep_from_job(job) -> SweepResult | None:
    """The sweep a finished job reached; marked stopped when the learner pressed Stop."""
    if job is None or job.last is None:
        return None
    sweep = job.last["sweep"]
    sweep.stopped = job.state == STOPPED
    return sweep


def finish_sweep() -> None:
    sweep = sweep_from_job(take_finished(SWEEP_SLOT))
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
    sweep = job.last["sweep"]
    st.plotly_chart(sweep_figure(sweep.curve, sweep.method, target_label(sweep.target, sweep.labels), sweep.photos),
                    width="stretch", key="adv_sweep_live")


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
            images = [prepare_for(victim.attacker, victim.backbone, p.image) for p in photos]
            steps = sweep_steps(victim.attacker, images, eps_values, config, target, victim.labels, len(images))
            if start_job(SWEEP_SLOT, "sweep", t("adversarial.job_sweep"), steps, progress=lambda r: r["done"],
                         keep_records=False) and _inline():
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

