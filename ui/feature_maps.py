"""App-layer helpers of the Feature maps page: cached per-photo results and the shape chart."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.explain.feature_maps import FeatureMaps, extract_features, stage_summary
from core.explain.gradcam import GradCam, grad_cam


# Per session: a learner's photo and what is computed from it stay in their session only.
@st.cache_data(show_spinner=False, max_entries=8, scope="session")
def photo_features(backbone_name: str, digest: str, _backbone, _pixels: np.ndarray) -> FeatureMaps:
    """Every stage of one photo, computed once per (backbone, photo content)."""
    return extract_features(_backbone, _pixels)


@st.cache_data(show_spinner=False, max_entries=32, scope="session")
def photo_gradcam(backbone_name: str, digest: str, class_index: int, _backbone, _pixels: np.ndarray) -> GradCam:
    """Grad-CAM of one class for one photo, computed once per (backbone, photo content, class)."""
    return grad_cam(_backbone, _pixels, class_index)


def shape_chart(features: FeatureMaps, height: int = 340) -> go.Figure:
    """Spatial side (bars) and channel count (line), stage by stage: the picture shrinks and deepens."""
    rows = stage_summary(features)
    labels = [r["stage"] for r in rows]
    channels = [r["channels"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=labels, y=[r["height"] for r in rows], name="pixels per side", marker_color="#4c78a8",
                         text=[str(r["height"]) for r in rows], textposition="outside", cliponaxis=False,
                         customdata=[f"{r['height']}×{r['width']}" for r in rows],
                         hovertemplate="%{x}: %{customdata} pixels<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(x=labels, y=channels, name="channels (log scale)", mode="lines+markers",
                             marker=dict(color="#f58518", size=8), line=dict(width=3),
                             hovertemplate="%{x}: %{y} channels<extra></extra>"), secondary_y=True)
    ticks = [n for n in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if min(channels) / 2 <= n <= max(channels) * 2]
    fig.update_yaxes(title_text="pixels per side", secondary_y=False, showgrid=False,
                     range=[0, max(r["height"] for r in rows) * 1.15])
    fig.update_yaxes(title_text="channels", type="log", secondary_y=True, tickvals=ticks,
                     ticktext=[str(t) for t in ticks])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), bargap=0.35,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    fig.update_xaxes(tickangle=0, tickvals=labels, title_text="stage",
                     ticktext=[label.removeprefix("stage ") for label in labels])
    return fig
