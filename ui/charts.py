"""The lab's Plotly charts in one place, every title, axis, legend and hover text in the learner's language.

Builders take plain data (predictions, curves, stage rows) and return a figure; they never compute.
Helpers of other pages add theirs here, each under a comment naming its page.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.models.class_names import class_name
from ui.i18n import current_language, t
from ui.text import chart_text, plain

BLUE, ORANGE, RED = "#4c78a8", "#f58518", "#e45756"


# ---- shared: top-k bars (Home, Try it, Adversarial dog) ----
def top_k_chart(predictions, title: str = "", height: int = 260, imagenet: bool = False) -> go.Figure:
    """Horizontal bars of top-k predictions, most probable on top.

    ``imagenet=True`` names each bar by its ImageNet class in the learner's language; otherwise the
    prediction's own label is shown as it is (a learner's class, as typed).
    """
    lang = current_language()
    preds = list(reversed(predictions))
    names = [class_name(p.index, lang) if imagenet else chart_text(p.label) for p in preds]
    fig = go.Figure(go.Bar(
        x=[p.prob for p in preds], y=names, orientation="h",
        text=[f"{p.prob:.1%}" for p in preds], textposition="auto", marker_color=BLUE,
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title=t("charts.probability")),
                      yaxis=dict(automargin=True))
    return fig


def top_k_bars_ui(predictions, title: str, imagenet: bool = False) -> None:
    """The top-k as labelled bars in a box (Home): '1. tabby cat · 45.2%', most probable first.

    Home is the page a late learner opens while the class's jobs run, so it draws with Streamlit's own progress
    bars: a Plotly chart first loads Plotly's 4.7 MB script into the tab, which took 2 s in an idle Chromium and
    5-10 s on a busy 2-core machine (bench/bench_classroom.py), after the server had answered in 0.1 s."""
    lang = current_language()
    with st.container(border=True):
        st.markdown(f"**{plain(title)}**")
        for rank, p in enumerate(predictions, 1):
            name = class_name(p.index, lang) if imagenet else p.label
            st.progress(min(max(float(p.prob), 0.0), 1.0), text=f"{rank}. {plain(name)} · {p.prob:.1%}")


# ---- Feature maps ----
def shape_chart(rows: list[dict], stage_names: dict[str, str], height: int = 340) -> go.Figure:
    """Spatial side (bars) and channel count (line), stage by stage: the picture shrinks and deepens.

    Args:
        rows: ``core.explain.feature_maps.stage_summary`` rows.
        stage_names: stage label -> its short name in the learner's language (the x tick text).
        height: figure height in pixels.
    """
    labels = [r["stage"] for r in rows]
    channels = [r["channels"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=labels, y=[r["height"] for r in rows], name=t("charts.pixels_per_side"),
                         marker_color=BLUE, text=[str(r["height"]) for r in rows], textposition="outside",
                         cliponaxis=False, customdata=[f"{r['height']}×{r['width']}" for r in rows],
                         hovertemplate=t("charts.pixels_hover")), secondary_y=False)
    fig.add_trace(go.Scatter(x=labels, y=channels, name=t("charts.channels_log"), mode="lines+markers",
                             marker=dict(color=ORANGE, size=8), line=dict(width=3),
                             hovertemplate=t("charts.channels_hover")), secondary_y=True)
    ticks = [n for n in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if min(channels) / 2 <= n <= max(channels) * 2]
    fig.update_yaxes(title_text=t("charts.pixels_per_side"), secondary_y=False, showgrid=False,
                     range=[0, max(r["height"] for r in rows) * 1.15])
    fig.update_yaxes(title_text=t("charts.channels"), type="log", secondary_y=True, tickvals=ticks,
                     ticktext=[str(n) for n in ticks])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), bargap=0.35,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    fig.update_xaxes(tickangle=0, tickvals=labels, title_text=t("charts.stage"),
                     ticktext=[short_stage(label, stage_names) for label in labels])
    return fig


def short_stage(label: str, stage_names: dict[str, str]) -> str:
    """A tick under the axis title 'stage': 'stage 3' as '3', so nine ticks fit side by side in a third of the
    page (whole names ran together); the stem and the head keep their names."""
    return label.split()[1] if label.startswith("stage ") else stage_names[label]


# ---- Ideal cat ----
def probability_chart(curve, title: str) -> go.Figure:
    """Target probability against step."""
    fig = go.Figure(go.Scatter(x=[s for s, _ in curve], y=[p for _, p in curve], mode="lines",
                               line=dict(color=RED, width=3), hovertemplate=t("charts.step_prob_hover")))
    fig.update_layout(title=title, height=220, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis=dict(range=[0, 1.02], tickformat=".0%", title=t("charts.probability")),
                      xaxis=dict(title=t("charts.step")))
    return fig


def losses_chart(losses) -> go.Figure:
    """Each loss term (weighted) against step, named in the learner's language."""
    names = {"objective": t("charts.loss_objective"), "total_variation": t("charts.loss_total_variation"),
             "blur": t("charts.loss_blur"), "l2": t("charts.loss_l2")}
    fig = go.Figure()
    for name, shown in names.items():
        if any(row[name] for row in losses):
            fig.add_trace(go.Scatter(x=[r["step"] for r in losses], y=[r[name] for r in losses], name=shown))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=10, b=10), xaxis=dict(title=t("charts.step")),
                      yaxis=dict(title=t("charts.loss")))
    return fig
