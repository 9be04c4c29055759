"""Ideal cat's widgets and job: targets, settings, the run through the job runner, results and gallery."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from core.data.images import to_png_bytes
from core.jobs import STOPPED
from core.models.backbones import get_spec
from core.models.class_names import class_name, search_classes
from core.models.imagenet import CAT_CLASSES, class_names
from core.visualise.opinions import judge_model, second_opinion
from core.visualise.optimise import IdealConfig, mode_config
from core.work.ideal import IdealImage
from core.work.specs import IdealJob
from ui.backbones import backbone_availability, get_backbone, selected_backbone, stored_model
from ui.charts import losses_chart, probability_chart
from ui.errors import problem_text
from ui.i18n import current_language, learner_class, numbered_class, t
from ui.jobs import job_of, job_ui, light_work, start_spec, take_finished
from ui.settings import lab_settings
from ui.state import ideal_page, trained
from ui.targets import SIAMESE, Target
from ui.text import plain

# Widget option ids stay the same in every language (keyed widgets keep their value); only shown names change.
PRESETS = {"siamese": Target.imagenet(SIAMESE), "tabby": Target.imagenet(281), "all_cats": Target.of_group("any_cat"),
           "zebra": Target.imagenet(340)}
SEARCH = "search"
MODES = {"recognisable": ("recognisable",), "naive": ("naive",), "both": ("naive", "recognisable")}
JOB_SLOT = "ideal"


def target_name(target: Target) -> str:
    """The target's name in the learner's language, e.g. '暹罗猫' or 'all cats'."""
    if target.trained:
        return target.name
    lang = current_language()
    if target.group == "any_cat" or tuple(sorted(target.classes)) == CAT_CLASSES:
        return t("ideal.all_cats")
    if len(target.classes) == 1:
        return class_name(target.classes[0], lang)
    return t("ideal.several", count=len(target.classes),
             names=" + ".join(class_name(c, lang) for c in target.classes))


@dataclass(eq=False)
class Result:
    """One finished (or stopped) visualisation of this session."""

    target: Target
    config: IdealConfig
    made_on: str
    image: np.ndarray
    curve: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    opinions: list | None = None
    spec: IdealJob | None = None  # the job that made it: runs again anywhere (python -m core run)


def step_cap() -> int:
    """The teacher's cap on steps ($TRANSFER_LAB_STEP_CAP, read at every run), 0 for none."""
    return lab_settings().limits.max_ideal_steps or 0


def target_picker() -> Target | None:
    """Presets, the learner's own classes, or a search over the ImageNet class names (Chinese or English)."""
    learner = trained()
    own = {f"own:{i}": learner_class(name) for i, name in enumerate(learner.classes)} if learner else {}
    lang = current_language()

    # shown names made now, in this run's language (AppTest calls format_func outside the script run)
    shown = {**{option: target_name(target) for option, target in PRESETS.items()},
             **{option: t("ideal.your_class", name=plain(name)) for option, name in own.items()},  # pills read Markdown
             SEARCH: t("ideal.search_option")}
    choice = st.pills(t("ideal.target"), list(shown), default="siamese", key="ideal_preset",
                      required=True, format_func=shown.get)
    if choice in PRESETS:
        return PRESETS[choice]
    if choice in own:
        return Target.own(int(choice.split(":")[1]), own[choice])
    query = st.text_input(t("ideal.search_label"), t("ideal.search_default"), key="ideal_query")
    hits = search_classes(query or "", lang)[:30]
    if not hits:
        st.warning(t("ideal.no_match", query=query))
        return None
    # The key follows the query, so a new search starts from its best match instead of an empty pick.
    picked = st.multiselect(t("ideal.classes_label"), hits, default=[hits[0]], max_selections=5,
                            format_func=lambda i: numbered_class(i, lang), key=f"ideal_hits_{query}")
    return Target.imagenet(*picked) if picked else None


def settings_ui(target: Target, input_size: int) -> tuple[tuple[str, ...], dict]:
    """Mode, steps, size, seed and regulariser weights."""
    names = {"recognisable": t("ideal.mode_recognisable"), "naive": t("ideal.mode_naive"),
             "both": t("ideal.mode_both")}
    modes = MODES[st.radio(t("ideal.mode"), list(MODES), horizontal=True, key="ideal_mode", format_func=names.get,
                           help=t("ideal.mode_help"))]
    left, mid, right = st.columns(3)
    most = min(1024, step_cap() or 1024)  # the teacher's cap is the slider's end, not a surprise later
    lo, step = (16, 16 if most % 16 == 0 else 1) if most > 16 else (1, 1)
    steps = left.slider(t("ideal.steps"), lo, most, min(256, most), step=step, key="ideal_steps") if most > 1 else 1
    sizes = sorted({160, 192, 224, 256, 320, input_size})
    size = mid.select_slider(t("ideal.size"), sizes, value=input_size, key="ideal_size")
    seed = right.number_input(t("ideal.seed"), 0, 99999, 0, key="ideal_seed")
    with st.expander(t("ideal.regularisers")):
        cols = st.columns(3)
        weights = dict(
            total_variation=cols[0].slider(t("ideal.total_variation"), 0.0, 20.0, 0.0, 0.5, key="ideal_tv",
                                           help=t("ideal.total_variation_help")),
            blur=cols[1].slider(t("ideal.blur"), 0.0, 200.0, 0.0, 10.0, key="ideal_blur"),
            l2=cols[2].slider(t("ideal.l2"), 0.0, 100.0, 0.0, 5.0, key="ideal_l2"))
    return modes, dict(classes=target.classes, steps=steps, size=size, seed=int(seed), step_cap=step_cap(), **weights)


def result_of(image: IdealImage, target: Target, spec: IdealJob | None = None) -> Result:
    """This session's result from a job's image (frozen, perhaps shared): Stop flag and opinions its own."""
    return Result(target, image.config, image.made_on, image.image, list(image.curve), list(image.losses),
                  image.seconds, spec=spec)


def mode_name(mode: str) -> str:
    return t("ideal.recognisable") if mode == "recognisable" else t("ideal.naive")


def live_ui(job) -> None:
    """The running job's latest image and probability curve."""
    result = job.last.images[-1]
    if not result.curve:
        return
    target = plain(target_name(ideal_page().target))
    caption = t("ideal.live_caption", mode=mode_name(result.config.mode), target=target, step=result.step,
                steps=result.config.total_steps)
    left, right = st.columns(2)
    left.image(result.image, caption=caption, width="stretch")
    right.plotly_chart(probability_chart(result.curve, t("ideal.curve_title")))


def add_opinions(result: Result) -> None:
    """The second opinion: every available backbone classifies the saved PNG."""
    if result.opinions is not None:
        return
    names = [n for n, (ok, _) in backbone_availability().items() if ok]
    backbones = [get_backbone(n) for n in names]
    with st.spinner(t("ideal.asking_others")), light_work():
        result.opinions = [o.as_dict() for o in second_opinion(
            result.image, () if result.target.trained else result.target.classes, backbones, made_on=result.made_on)]
        if result.target.trained:
            prob, probs = judge_model(trained().model, result.image, result.target.classes)
            top = int(np.argmax(probs))  # the learner's own class it sees most, by the name the learner gave it
            result.opinions.insert(0, {"backbone": None, "target_prob": prob, "top_label": trained().classes[top],
                                       "top_prob": float(probs[top]), "made_on": True})


def show_result(result: Result, key: str) -> None:
    """The image, its download, the probability curve and the second-opinion table."""
    mode, target = mode_name(result.config.mode), plain(target_name(result.target))
    title = t("ideal.result_title", mode=mode, target=target)
    if result.stopped and result.curve:
        title = t("ideal.result_title_stopped", mode=mode, target=target, step=result.curve[-1][0])
    st.subheader(title)
    st.image(result.image, width="stretch", caption=t("ideal.result_caption", size=result.config.size,
                                                      seed=result.config.seed, seconds=result.seconds))
    st.download_button(t("ideal.download_png"), to_png_bytes(result.image), file_name=f"ideal_{key}.png",
                       mime="image/png", key=f"dl_{key}", icon="⬇️", on_click="ignore")
    if result.curve:
        st.plotly_chart(probability_chart(result.curve, t("ideal.curve_title")), key=f"curve_{key}")
        with st.expander(t("ideal.loss_terms")):
            st.plotly_chart(losses_chart(result.losses), key=f"losses_{key}")
    add_opinions(result)
    st.markdown(t("ideal.second_opinion"))
    st.table(opinion_table(result), hide_index=True)


def opinion_table(result: Result) -> pd.DataFrame:
    """Second-opinion rows for display (no ImageNet probability for the learner's own classes)."""
    lang, rows = current_language(), []
    for o in result.opinions:
        own = o["backbone"] is None  # the learner's classifier: its own classes, named as the learner reads them
        network = o["backbone"] or t("ideal.your_classifier")
        sees = learner_class(o["top_label"]) if own else shown_class(o["top_label"], lang)
        rows.append({t("ideal.col_network"): t("ideal.made_on", network=network) if o["made_on"] else network,
                     t("ideal.col_target", target=target_name(result.target)):
                         f"{o['target_prob']:.1%}" if own or not result.target.trained else "—",
                     t("ideal.col_sees"): f"{sees} ({o['top_prob']:.0%})"})
    return pd.DataFrame(rows)


def shown_class(english: str, lang: str) -> str:
    """An ImageNet class named by core's English label, in the learner's language.

    core's ``Opinion`` carries the label, not the index; the first class of that name is taken (the few
    duplicated English names, e.g. 'crane', are the same word in the table either way).
    """
    index = _index_of_name().get(english)
    return english if index is None else class_name(index, lang)


@functools.lru_cache(maxsize=1)
def _index_of_name() -> dict[str, int]:
    names = class_names()
    return {name: i for i, name in reversed(list(enumerate(names)))}


def finish_job() -> None:
    """A finished or stopped job's images join the gallery; a Stop keeps the image it had reached."""
    job = take_finished(JOB_SLOT)
    if job is None or job.last is None:
        return
    results = [result_of(image, ideal_page().target, job.spec) for image in job.last.images if image.curve]
    if job.state == STOPPED and results:
        results[-1].stopped = True
    page = ideal_page()
    page.gallery.extend(results)
    page.shown = results


def gallery_ui() -> None:
    """Thumbnails of this session's results, newest first."""
    gallery = ideal_page().gallery
    if not gallery:
        return
    st.header(t("ideal.gallery"))
    cols = st.columns(6)
    for i, result in enumerate(reversed(gallery[-12:])):
        params = dict(mode=mode_name(result.config.mode), target=plain(target_name(result.target)),
                      network=made_on_name(result))
        caption = t("ideal.thumb_stopped", **params) if result.stopped else t("ideal.thumb", **params)
        cols[i % 6].image(result.image, width="stretch", caption=caption)


def made_on_name(result: Result) -> str:
    """Display name of the network a result was made on."""
    return t("ideal.your_classifier") if result.target.trained else get_spec(result.made_on).display_name


def ideal_job(target: Target, backbone_name: str, configs: list) -> IdealJob:
    """The job of these settings: the backbone's ImageNet classes, or the learner's classifier by its store key."""
    model = stored_model(trained()) if target.trained else ""
    if not target.trained:
        get_backbone(backbone_name)  # spinner on the first load
    return IdealJob(backbone_name, tuple(configs), model)


def generate_ui(target: Target) -> None:
    """Settings, Generate, and the job's place or live progress."""
    backbone_name = trained().backbone if target.trained else selected_backbone()
    modes, settings = settings_ui(target, get_spec(backbone_name).input_size)
    if settings["step_cap"]:
        st.caption(t("ideal.step_cap", cap=settings["step_cap"]))
    start = st.button(t("ideal.generate"), type="primary", key="ideal_go", icon="✨")
    try:
        configs = [mode_config(mode, **settings) for mode in modes]
    except ValueError as exc:
        st.error(t("common.bad_input", problem=problem_text(exc)))
        configs = []
    if start and configs:
        ideal_page().target = target  # the images' name in the learner's words, whatever the widgets say later
        label = t("ideal.job_label", target=plain(target_name(target)))
        if start_spec(JOB_SLOT, ideal_job(target, backbone_name, configs), label, keep_records=False):
            finish_job()  # at once if it already ended (a test's inline scheduler); else on a later run
    job_ui(JOB_SLOT, live_ui)


def results_ui() -> None:
    """The latest results side by side, or a hint when there are none and nothing runs."""
    page = ideal_page()
    shown = page.shown
    if shown:
        for i, (col, result) in enumerate(zip(st.columns(len(shown)), shown)):
            with col:
                show_result(result, f"{len(page.gallery)}_{i}")
    elif job_of(JOB_SLOT) is None:
        st.info(t("ideal.hint"))
