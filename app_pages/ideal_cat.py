"""Ideal cat: the image a network finds most "cat", made by gradient ascent on the input."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.backbones import get_spec
from core.imagenet import CAT_CLASSES, class_name, search_classes
from core.images import to_png_bytes
from core.visualise.opinions import judge_model, second_opinion, target_label
from core.visualise.optimise import IdealConfig, Visualiser, mode_config
from ui.common import backbone_availability, cached_backbone, get_backbone, selected_backbone

PRESETS = {"Siamese cat": (284,), "tabby cat": (281,), "all cats": CAT_CLASSES, "zebra": (340,)}
SEARCH = "Search ImageNet…"
MODES = {"Recognisable": ("recognisable",), "Naive (the original lesson)": ("naive",),
         "Both, side by side": ("naive", "recognisable")}
PARTIAL, GALLERY, TRAINED = "ideal_partial", "ideal_gallery", "trained_model"
SHOWN, BATCH = "ideal_shown", "ideal_batch"


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


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_visualiser(backbone_name: str) -> Visualiser:
    """One visualiser (and its compiled steps) per backbone, shared by every session."""
    backbone = cached_backbone(backbone_name)
    return Visualiser(backbone.model, name=backbone.spec.display_name)


@st.cache_resource(show_spinner=False)
def result_cache() -> OrderedDict:
    """Finished ImageNet runs by (backbone, settings): a seeded run is reproducible, so reuse it."""
    return OrderedDict()


def step_cap() -> int:
    """Optional cap on steps from $TRANSFER_LAB_STEP_CAP (tests and slow machines)."""
    try:
        return max(0, int(os.environ.get("TRANSFER_LAB_STEP_CAP", "0")))
    except ValueError:
        return 0


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


def run_live(visualiser: Visualiser, config: IdealConfig, target: Target, made_on: str, slot) -> Result:
    """Runs one visualisation, drawing each step record; a Stop keeps the latest image."""
    result = Result(target, config, made_on, np.full((config.size, config.size, 3), 128, np.uint8))
    st.session_state[PARTIAL] = result  # an interrupted run (Stop, or any widget) is finished from this
    with slot.container():
        caption = f"{config.mode} · {target.label}"
        image_slot, chart_slot = st.empty(), st.empty()
        start = time.perf_counter()
        try:
            for record in visualiser.run(config):
                result.image, result.seconds = record.image, time.perf_counter() - start
                result.curve.append((record.step, record.prob))
                result.losses.append({"step": record.step, **record.losses})
                image_slot.image(record.image, caption=f"{caption} · step {record.step}/{record.total_steps}",
                                 width="stretch")
                chart_slot.plotly_chart(probability_chart(result.curve, "target probability (during the run)"),
                                        key=f"live_{config.mode}_{record.step}")
        finally:
            image_slot.empty()
            chart_slot.empty()
    st.session_state.pop(PARTIAL, None)
    return result


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


def finish_interrupted() -> None:
    """A run cut short by Stop (or any widget) keeps the image it had reached."""
    partial = st.session_state.pop(PARTIAL, None)
    if partial is not None and partial.curve:
        partial.stopped = True
        st.session_state.setdefault(GALLERY, []).append(partial)
        st.session_state[SHOWN] = st.session_state.get(BATCH, []) + [partial]
    st.session_state.pop(BATCH, None)


def run_batch(configs, target: Target, backbone_name: str, visualiser: Visualiser) -> None:
    """Runs each config (one, or naive and recognisable side by side), reusing cached results."""
    cache = result_cache()
    st.session_state[SHOWN], st.session_state[BATCH] = [], []
    for slot, config in zip(st.columns(len(configs)), configs):
        key = None if target.trained else (backbone_name, config)
        result = cache.get(key) if key else None
        if result is None:
            result = run_live(visualiser, config, target, backbone_name, slot)
            if key:
                cache[key] = result
                while len(cache) > 64:
                    cache.popitem(last=False)
        st.session_state[BATCH].append(result)
        st.session_state.setdefault(GALLERY, []).append(result)
    st.session_state[SHOWN] = st.session_state.pop(BATCH)


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


st.title("🐱 Ideal cat")
st.markdown(
    "What does a network think a cat looks like? Start from a grey cloud and change the image, step by step, "
    "in whatever direction makes the network more sure it sees the target class (gradient ascent on the input). "
    "The **naive** recipe optimises raw pixels and ends up in noise that fools only this one network. "
    "The **recognisable** recipe (Olah et al., *Feature Visualization*, Distill 2017) paints in a "
    "colour-decorrelated Fourier basis and shakes, scales and turns the image a little at every step, so only "
    "features that survive that are kept: ears, eyes, fur. The **second opinion** asks the other networks: "
    "if they see the class too, the image holds real features of it, not a trick."
)
finish_interrupted()
target = target_picker()
if target is not None:
    backbone_name = st.session_state[TRAINED]["backbone"] if target.trained else selected_backbone()
    modes, settings = settings_ui(target, get_spec(backbone_name).input_size)
    if settings["step_cap"]:
        st.caption(f"Steps are capped at {settings['step_cap']} on this server ($TRANSFER_LAB_STEP_CAP).")
    go_col, stop_col = st.columns([1, 5])
    start = go_col.button("Generate", type="primary", key="ideal_go", icon="✨")
    stop_col.button("Stop", key="ideal_stop", icon="⏹️", help="Stops the run and keeps the current image.")
    try:
        configs = [mode_config(mode, **settings) for mode in modes]
    except ValueError as exc:
        st.error(str(exc))
        configs = []
    if start and configs:
        run_batch(configs, target, backbone_name, visualiser_for(target, backbone_name))
shown = st.session_state.get(SHOWN, [])
if shown:
    for i, (col, result) in enumerate(zip(st.columns(len(shown)), shown)):
        with col:
            show_result(result, f"{len(st.session_state.get(GALLERY, []))}_{i}")
else:
    st.info("Pick a target and press **Generate**. A 256-step run takes about 15 seconds on a laptop.")
gallery_ui()
