"""Ideal cat's widgets and job: targets, settings, the run through the job runner, results and gallery."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.data.images import to_png_bytes
from core.jobs import STOPPED
from core.models.backbones import get_spec
from core.models.imagenet import CAT_CLASSES, class_name, search_classes
from core.visualise.opinions import judge_model, second_opinion, target_label
from core.visualise.optimise import IdealConfig, Visualiser, mode_config
from ui.common import backbone_availability, cached_backbone, get_backbone, selected_backbone
from ui.jobs import INLINE, job_of, job_ui, start_job, take_finished
from ui.settings import lab_settings

PRESETS = {"Siamese cat": (284,), "tabby cat": (281,), "all cats": CAT_CLASSES, "zebra": (340,)}
SEARCH = "Search ImageNet…"
MODES = {"Recognisable": ("recognisable",), "Naive (the original lesson)": ("naive",),
         "Both, side by side": ("naive", "recognisable")}
GALLERY, TRAINED, SHOWN, JOB_SLOT = "ideal_gallery", "trained_model", "ideal_shown", "ideal"


@dataclass(frozen=True)
class Target:
    """What to optimise for: ImageNet classes of a backbone, or classes of the learner's head."""

    label: str
    classes: tuple[int, ...]
    trained: bool = False


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


@st.cache_resource(show_spinner=False, max_entries=6)
def cached_visualiser(backbone_name: str) -> Visualiser:
    """One visualiser (and its compiled steps) per backbone, shared by every session."""
    backbone = cached_backbone(backbone_name)
    return Visualiser(backbone.model, name=backbone.spec.display_name)


@st.cache_resource(show_spinner=False)
def result_cache() -> OrderedDict:
    """Finished ImageNet runs by (backbone, settings): a seeded run is reproducible, so reuse it."""
    return OrderedDict()


def step_cap() -> int:
    """The teacher's cap on steps ($TRANSFER_LAB_STEP_CAP, checked at start), 0 for none."""
    return lab_settings().limits.max_ideal_steps or 0


def target_picker() -> Target | None:
    """Presets, the learner's own classes, or a search over the ImageNet class names."""
    trained = st.session_state.get(TRAINED)
    own = {f"your class: {name}": i for i, name in enumerate(trained["classes"])} if trained else {}
    options = list(PRESETS) + list(own) + [SEARCH]
    choice = st.pills("Target", options, default="Siamese cat", key="ideal_preset", required=True)
    if choice in PRESETS:
        return Target(choice, tuple(PRESETS[choice]))
    if choice in own:
        return Target(choice.split(": ", 1)[1], (own[choice],), trained=True)
    query = st.text_input("Search ImageNet class names", "goldfish", key="ideal_query")
    hits = search_classes(query or "", limit=30)
    if not hits:
        st.warning(f"No ImageNet class matches {query!r}; try another word, e.g. 'fox' or 'guitar'.")
        return None
    # The key follows the query, so a new search starts from its best match instead of an empty pick.
    picked = st.multiselect("Classes (several are averaged)", [i for i, _ in hits], default=[hits[0][0]],
                            format_func=lambda i: f"{class_name(i)} ({i})", max_selections=5, key=f"ideal_hits_{query}")
    return Target(target_label(picked), tuple(picked)) if picked else None


def settings_ui(target: Target, input_size: int) -> tuple[tuple[str, ...], dict]:
    """Mode, steps, size, seed and regulariser weights."""
    modes = MODES[st.radio("Mode", list(MODES), horizontal=True, key="ideal_mode",
                           help="Recognisable: Fourier image, random jitter/scale/rotation, logit. "
                                "Naive: raw pixels from noise, cross-entropy + total variation.")]
    left, mid, right = st.columns(3)
    steps = left.slider("Steps", 16, 1024, 256, step=16, key="ideal_steps")
    sizes = sorted({160, 192, 224, 256, 320, input_size})
    size = mid.select_slider("Image size (px)", sizes, value=input_size, key="ideal_size")
    seed = right.number_input("Seed", 0, 99999, 0, key="ideal_seed")
    with st.expander("Regularisers (penalties on the image, charted by name)"):
        cols = st.columns(3)
        weights = dict(
            total_variation=cols[0].slider("Total variation", 0.0, 20.0, 0.0, 0.5, key="ideal_tv",
                                           help="Penalises speckle. The naive mode always adds at least 1."),
            blur=cols[1].slider("Blur", 0.0, 200.0, 0.0, 10.0, key="ideal_blur"),
            l2=cols[2].slider("L2 (towards grey)", 0.0, 100.0, 0.0, 5.0, key="ideal_l2"))
    return modes, dict(classes=target.classes, steps=steps, size=size, seed=int(seed), step_cap=step_cap(), **weights)


def probability_chart(curve, title: str) -> go.Figure:
    """Target probability against step."""
    fig = go.Figure(go.Scatter(x=[s for s, _ in curve], y=[p for _, p in curve], mode="lines",
                               line=dict(color="#e45756", width=3), hovertemplate="step %{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(title=title, height=220, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis=dict(range=[0, 1.02], tickformat=".0%"), xaxis=dict(title="step"))
    return fig


def losses_chart(losses) -> go.Figure:
    """Each loss term (weighted) against step."""
    fig = go.Figure()
    for name in ("objective", "total_variation", "blur", "l2"):
        if any(row[name] for row in losses):
            fig.add_trace(go.Scatter(x=[r["step"] for r in losses], y=[r[name] for r in losses], name=name))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(title="step"))
    return fig


def ideal_steps(configs, target: Target, backbone_name: str, visualiser: Visualiser):
    """The job: each config in turn (cached ones at once), yielding the results reached so far."""
    def steps():
        cache, results = result_cache(), []
        for index, config in enumerate(configs):
            key = None if target.trained else (backbone_name, config)
            if key and key in cache:
                results.append(cache[key])
                yield {"results": results, "done": (index + 1) / len(configs)}
                continue
            result = Result(target, config, backbone_name, np.full((config.size, config.size, 3), 128, np.uint8))
            results.append(result)
            start = time.perf_counter()
            for record in visualiser.run(config):
                result.image, result.seconds = record.image, time.perf_counter() - start
                result.curve.append((record.step, record.prob))
                result.losses.append({"step": record.step, **record.losses})
                yield {"results": results, "done": (index + record.step / record.total_steps) / len(configs)}
            if key:
                remember(cache, key, result)
    return steps


def remember(cache: OrderedDict, key, result: Result) -> None:
    cache[key] = result
    while len(cache) > 64:
        cache.popitem(last=False)


def live_ui(job) -> None:
    """The running job's latest image and probability curve."""
    result = job.last["results"][-1]
    if not result.curve:
        return
    caption = f"{result.config.mode} · {result.target.label} · step {result.curve[-1][0]}/{result.config.total_steps}"
    left, right = st.columns(2)
    left.image(result.image, caption=caption, width="stretch")
    right.plotly_chart(probability_chart(result.curve, "target probability (during the run)"))


def add_opinions(result: Result) -> None:
    """The second opinion: every available backbone classifies the saved PNG."""
    if result.opinions is not None:
        return
    names = [n for n, (ok, _) in backbone_availability().items() if ok]
    with st.spinner("Asking the other networks for a second opinion…"):
        backbones = [get_backbone(n) for n in names]
        result.opinions = [o.as_dict() for o in second_opinion(
            result.image, () if result.target.trained else result.target.classes, backbones, made_on=result.made_on)]
        if result.target.trained:
            trained = st.session_state[TRAINED]
            prob = judge_model(trained["model"], result.image, result.target.classes)
            result.opinions.insert(0, {"backbone": "your classifier", "target_prob": prob, "top_label": "",
                                       "top_prob": None, "made_on": True})


def show_result(result: Result, key: str) -> None:
    """The image, its download, the probability curve and the second-opinion table."""
    title = f"{'Recognisable' if result.config.mode == 'recognisable' else 'Naive'}: {result.target.label}"
    stopped = f" (stopped at step {result.curve[-1][0]})" if result.stopped and result.curve else ""
    st.subheader(title + stopped)
    st.image(result.image, width="stretch",
             caption=f"{result.config.size} px · seed {result.config.seed} · {result.seconds:.1f} s")
    st.download_button("Download PNG", to_png_bytes(result.image), file_name=f"ideal_{key}.png",
                       mime="image/png", key=f"dl_{key}", icon="⬇️", on_click="ignore")
    if result.curve:
        st.plotly_chart(probability_chart(result.curve, "target probability (during the run)"), key=f"curve_{key}")
        with st.expander("Loss terms"):
            st.plotly_chart(losses_chart(result.losses), key=f"losses_{key}")
    add_opinions(result)
    st.markdown("**Second opinion**: what each network sees in the saved PNG")
    st.table(opinion_table(result), hide_index=True)


def opinion_table(result: Result) -> pd.DataFrame:
    """Second-opinion rows for display (no ImageNet probability for the learner's own classes)."""
    rows = []
    for o in result.opinions:
        own = o["top_prob"] is None
        rows.append({"network": o["backbone"] + (" (made on)" if o["made_on"] else ""),
                     f"P({result.target.label})": f"{o['target_prob']:.1%}" if own or not result.target.trained
                     else "—",
                     "sees (top class)": "" if own else f"{o['top_label']} ({o['top_prob']:.0%})"})
    return pd.DataFrame(rows)


def finish_job() -> None:
    """A finished or stopped job's images join the gallery; a Stop keeps the image it had reached."""
    job = take_finished(JOB_SLOT)
    if job is None or job.last is None:
        return
    results = [r for r in job.last["results"] if r.curve]
    if job.state == STOPPED and results:
        results[-1].stopped = True
    st.session_state.setdefault(GALLERY, []).extend(results)
    st.session_state[SHOWN] = results


def gallery_ui() -> None:
    """Thumbnails of this session's results, newest first."""
    gallery = st.session_state.get(GALLERY, [])
    if not gallery:
        return
    st.header("This session's gallery")
    cols = st.columns(6)
    for i, result in enumerate(reversed(gallery[-12:])):
        stopped = " (stopped)" if result.stopped else ""
        cols[i % 6].image(result.image, width="stretch",
                          caption=f"{result.config.mode} · {result.target.label}{stopped} · {made_on_name(result)}")


def made_on_name(result: Result) -> str:
    """Display name of the network a result was made on."""
    return "your classifier" if result.target.trained else get_spec(result.made_on).display_name


def visualiser_for(target: Target, backbone_name: str) -> Visualiser:
    """The shared visualiser of a backbone, or this session's one for the learner's trained classifier."""
    if not target.trained:
        get_backbone(backbone_name)  # spinner on the first load
        return cached_visualiser(backbone_name)
    trained = st.session_state[TRAINED]
    if st.session_state.get("ideal_trained_vis", (None,))[0] is not trained["model"]:
        vis = Visualiser(trained["model"], outputs="probabilities", name="your classifier")
        st.session_state["ideal_trained_vis"] = (trained["model"], vis)
    return st.session_state["ideal_trained_vis"][1]


def generate_ui(target: Target) -> None:
    """Settings, Generate, and the job's place or live progress."""
    backbone_name = st.session_state[TRAINED]["backbone"] if target.trained else selected_backbone()
    modes, settings = settings_ui(target, get_spec(backbone_name).input_size)
    if settings["step_cap"]:
        st.caption(f"Steps are capped at {settings['step_cap']} on this server ($TRANSFER_LAB_STEP_CAP).")
    start = st.button("Generate", type="primary", key="ideal_go", icon="✨")
    try:
        configs = [mode_config(mode, **settings) for mode in modes]
    except ValueError as exc:
        st.error(str(exc))
        configs = []
    if start and configs:
        steps = ideal_steps(configs, target, backbone_name, visualiser_for(target, backbone_name))
        if start_job(JOB_SLOT, "ideal", f"Ideal image ({target.label})", steps, progress=lambda r: r["done"],
                     keep_records=False) and os.environ.get(INLINE) == "1":
            finish_job()
    job_ui(JOB_SLOT, live_ui)


def results_ui() -> None:
    """The latest results side by side, or a hint when there are none and nothing runs."""
    shown = st.session_state.get(SHOWN, [])
    if shown:
        for i, (col, result) in enumerate(zip(st.columns(len(shown)), shown)):
            with col:
                show_result(result, f"{len(st.session_state.get(GALLERY, []))}_{i}")
    elif job_of(JOB_SLOT) is None:
        st.info("Pick a target and press **Generate**. A 256-step run takes about 15 seconds on a laptop.")
