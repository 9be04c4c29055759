"""Adversarial dog: the photo, the target, the settings, the attack as a job, and the before/after it left."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.attack.attack import AttackConfig, Attacker, amplification_factor, amplify, measure
from core.data.images import to_png_bytes
from core.jobs import STOPPED
from core.models.backbones import get_spec
from core.models.class_names import search_classes
from core.work.specs import AttackJob
from core.work.store import default_store, put_array
from ui.adversarial import (
    class_label,
    folder_images,
    imagenet_attacker,
    prepare_for,
    read_photo,
    target_label,
    trained_attacker,
)
from ui.adversarial_charts import top5_chart
from ui.backbones import selected_backbone, stored_model
from ui.errors import problem_text
from ui.folders import folder_ui
from ui.i18n import current_language, t
from ui.jobs import job_ui, start_spec, take_finished
from ui.photos import DOG_SAMPLE, photo_input_ui
from ui.settings import widget_max
from ui.state import AttackResult, TrainedModel, adversarial
from ui.targets import SIAMESE, Target
from ui.text import plain

ATTACK_SLOT = "adv_attack"


@dataclass(frozen=True, eq=False)
class Victim:
    """The classifier under attack: its attacker, backbone, display name and (own) class names."""

    attacker: Attacker
    backbone: str | None
    name: str
    labels: tuple[str, ...] | None
    model: str = ""  # the learner's classifier's store key; "" for an ImageNet backbone


def choose_photo():
    """The dog photo: upload, camera, a sample, or a file from a folder (a downloaded dataset)."""
    source = st.radio(t("adversarial.where"), ["photo", "folder"], horizontal=True, key="adv_where",
                      format_func={"photo": t("adversarial.where_photo"), "folder": t("adversarial.where_folder")}.get)
    if source == "folder":
        folder = folder_ui(t("adversarial.folder_label"), "adv_folder")
        if not folder:
            return None
        try:
            files = folder_images(folder)
        except ValueError as exc:
            st.error(str(exc), icon="📁")
            return None
        chosen = st.selectbox(t("adversarial.folder_photo", count=len(files)), files, format_func=lambda p: p.name,
                              key="adv_folder_file")
        return read_photo(chosen)
    photos = photo_input_ui("adv", multiple=False, default_sample=DOG_SAMPLE)
    return photos[0] if photos else None


def choose_target(trained: TrainedModel | None) -> Target:
    """ImageNet presets, a searched class, or the learner's own classes (values stay when the language changes)."""
    options = ["siamese", "any_cat", "untargeted", "search"]
    if trained:
        options += [f"own:{i}" for i in range(len(trained.classes))] + ["own:untargeted"]
    # labels are looked up now, in this run's language (a format_func may be called outside the run)
    names = {option: _option(option, trained) for option in options}
    choice = st.selectbox(t("adversarial.target"), options, key="adv_target", format_func=names.get,
                          help=t("adversarial.target_help"))
    if choice.startswith("own:"):
        index = choice.removeprefix("own:")
        return Target.own(None if index == "untargeted" else int(index))
    if choice == "any_cat":
        return Target.of_group("any_cat")
    if choice == "untargeted":
        return Target.imagenet()
    if choice == "search":
        return _searched_target()
    return Target.imagenet(SIAMESE)


def _option(option: str, trained: TrainedModel | None) -> str:
    if option.startswith("own:"):
        index = option.removeprefix("own:")
        if index == "untargeted":
            return t("adversarial.target_own_untargeted")
        return t("adversarial.target_own", name=trained.classes[int(index)])
    if option == "siamese":
        return t("adversarial.target_class", name=class_label(SIAMESE, None), index=SIAMESE)
    return {"any_cat": t("adversarial.target_any_cat"), "untargeted": t("adversarial.target_untargeted"),
            "search": t("adversarial.target_search")}[option]


def _searched_target() -> Target:
    query = st.text_input(t("adversarial.search"), value="tabby", key="adv_class_query",
                          help=t("adversarial.search_help"))
    hits = search_classes(query, current_language())[:50]
    if not hits:
        st.warning(t("adversarial.search_miss", query=plain(query), fallback=class_label(SIAMESE, None)))
        return Target.imagenet(SIAMESE)
    names = {i: t("adversarial.target_class", name=class_label(i, None), index=i) for i in hits}
    index = st.selectbox(t("adversarial.search_class"), hits, key="adv_class", format_func=names.get)
    return Target.imagenet(index)


def choose_settings(target: Target) -> AttackConfig | None:
    """Method, budget and steps as an AttackConfig (None, with a message, if they do not fit together)."""
    left, middle, right = st.columns(3)
    method = left.segmented_control(t("adversarial.method"), ["PGD", "FGSM"], default="PGD", key="adv_method",
                                    required=True)
    eps = middle.slider(t("adversarial.eps"), 1, 16, 2, key="adv_eps")
    most = widget_max("max_attack_steps", 50)
    steps = right.slider(t("adversarial.steps"), 1, most, min(10, most), key="adv_steps", disabled=method == "FGSM")
    with st.expander(t("adversarial.more_settings")):
        step_size = st.slider(t("adversarial.step_size"), 0, 8, 0, key="adv_step_size")
        random_start = st.checkbox(t("adversarial.random_start"), key="adv_random_start")
        seed = st.number_input(t("adversarial.seed"), 0, 10_000, 0, key="adv_seed")
    try:
        return AttackConfig(method=method.lower(), eps=eps, steps=steps, step_size=step_size, target=target.classes,
                            random_start=random_start, seed=int(seed))
    except ValueError as exc:
        st.error(t("adversarial.bad_settings", problem=problem_text(exc)))
        return None


def victim_for(target: Target, trained: TrainedModel | None) -> Victim:
    """The network under attack: the sidebar's ImageNet backbone, or the learner's own classifier."""
    if target.trained:
        return Victim(trained_attacker(trained), trained.backbone, t("adversarial.your_classifier"), trained.classes,
                      stored_model(trained))
    name = selected_backbone()
    return Victim(imagenet_attacker(name), name, get_spec(name).display_name, None)


def clean_prediction(victim: Victim, photo, clean: np.ndarray):
    """What the network sees in the clean photo, classified once per photo and network."""
    seen, key = adversarial().seen, (photo.digest, victim.name, victim.backbone)
    if key not in seen:
        if len(seen) > 8:
            seen.clear()
        seen[key] = measure(victim.attacker, clean, clean, ())["before"][0]
    return seen[key]


@dataclass(frozen=True, eq=False)
class Pending:
    """What a running attack was started for, to make its ``AttackResult`` whatever the widgets say then."""

    key: tuple
    victim: Victim
    target: Target
    config: AttackConfig
    photo: str


def attack_job(victim: Victim, photo, config: AttackConfig) -> AttackJob:
    """The job spec: the photo's pixels go to the store; the learner's classifier is named by its store key."""
    return AttackJob(victim.backbone or "", put_array(default_store(), photo.image), config, victim.model)


def attack_ui(photo, victim: Victim, target: Target, config: AttackConfig | None) -> tuple:
    """What the network sees now, the Run button, the job's place or live steps; returns the current key."""
    clean = prepare_for(victim.attacker, victim.backbone, photo.image)
    now = clean_prediction(victim, photo, clean)
    st.markdown(t("adversarial.sees_now", network=victim.name, label=plain(class_label(now.index, victim.labels)),
                  prob=now.prob, photo=plain(photo.name)))
    key = (photo.digest, config, target, victim.backbone)
    finish_attack()
    if st.button(t("adversarial.run"), type="primary", disabled=config is None, key="adv_run"):
        adversarial().made_for[ATTACK_SLOT] = Pending(key, victim, target, config, photo.name)
        label = t("adversarial.job_attack", target=plain(target_label(target, victim.labels)))
        if start_spec(ATTACK_SLOT, attack_job(victim, photo, config), label, keep_records=False):
            finish_attack()  # at once if it already ended (a test's inline scheduler); else on a later run
    job_ui(ATTACK_SLOT, live_ui)
    return key


def finish_attack() -> None:
    """A finished or stopped attack becomes the page's result; a Stop keeps the image of the last step."""
    job = take_finished(ATTACK_SLOT)
    if job is None or job.last is None:
        return
    last, made_for = job.last, adversarial().made_for.pop(ATTACK_SLOT)
    record = last.step
    adversarial().result = AttackResult(
        key=made_for.key, target=made_for.target, config=made_for.config, backbone=made_for.victim.backbone,
        labels=made_for.victim.labels, photo=made_for.photo, clean=last.clean, adversarial=np.asarray(record.image),
        perturbation=record.perturbation, step=record.step, seconds=last.seconds,
        stopped=job.state == STOPPED and not record.final, measured=last.measured, model=made_for.victim.model,
        spec=job.spec)


def live_ui(job) -> None:
    """The running attack's current image, its change and its top class."""
    record, made_for = job.last.step, adversarial().made_for.get(ATTACK_SLOT)
    if made_for is None:
        return
    factor = amplification_factor(made_for.config.eps)
    cols = st.columns(3)
    cols[0].image(job.last.clean, caption=t("adversarial.caption_original"), width="stretch")
    cols[1].image(record.image, width="stretch", caption=t("adversarial.caption_live", label=plain(class_label(
        record.top[0].index, made_for.victim.labels)), prob=record.top[0].prob))
    cols[2].image(amplify(record.perturbation, factor), width="stretch",
                  caption=t("adversarial.caption_change_live", factor=factor))
    st.markdown(t("adversarial.live_step", step=record.step, steps=job.last.total_steps,
                  target=target_label(made_for.target, made_for.victim.labels), target_prob=record.target_prob,
                  linf=record.linf, l2=record.l2))


def result_ui(result: AttackResult, current_key: tuple) -> None:
    """Before and after, the verdict measured on the saved PNG, the top-5 charts and the download."""
    if result.key != current_key:
        st.warning(t("adversarial.stale"))
    config, measured = result.config, result.measured
    factor = amplification_factor(config.eps)
    cols = st.columns(3)
    cols[0].image(result.clean, caption=t("adversarial.caption_original"), width="stretch")
    cols[1].image(result.adversarial, caption=t("adversarial.caption_adversarial"), width="stretch")
    cols[2].image(amplify(result.perturbation, factor), width="stretch",
                  caption=t("adversarial.caption_change", factor=factor, eps=config.eps, amplified=config.eps * factor))
    if result.stopped:
        st.info(t("adversarial.stopped_at", step=result.step, steps=config.num_steps))
    numbers = dict(photo=result.photo, method=config.method.upper(), eps=config.eps, seconds=result.seconds,
                   steps=result.step if result.stopped else config.num_steps, linf=measured["linf"],
                   l2=measured["l2"], target=target_label(result.target, result.labels),
                   target_prob=measured["target_prob"])
    st.markdown(t("adversarial.verdict_worked", **numbers) if measured["success"]
                else t("adversarial.verdict_failed", **numbers))
    left, right = st.columns(2)
    left.plotly_chart(top5_chart(measured["before"], result.labels, t("adversarial.chart_before")), width="stretch",
                      key="adv_before")
    right.plotly_chart(top5_chart(measured["after"], result.labels, t("adversarial.chart_after")), width="stretch",
                       key="adv_after")
    st.download_button(t("adversarial.download"), to_png_bytes(result.adversarial),
                       file_name=f"adversarial_{config.method}_eps{config.eps}.png", mime="image/png",
                       icon="⬇️", key="adv_download", on_click="ignore")
