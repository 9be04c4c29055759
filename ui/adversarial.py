"""App-layer helpers of the Adversarial dog page: cached attackers, folder photos, tables and charts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.attack.attack import Attacker
from core.data.images import IMAGE_SUFFIXES, ImageInputError, center_crop_resize, load_image_file
from core.models.backbones import get_spec
from ui.common import Photo, backbone_availability, cached_backbone

TRAINED_KEY = "trained_model"


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_attacker(name: str) -> Attacker:
    """One attacker per backbone and process, its gradient traced once; read-only, shared by sessions."""
    return Attacker.for_backbone(cached_backbone(name)).warm_up()


def imagenet_attacker(name: str) -> Attacker:
    """The attacker of an ImageNet backbone, with a spinner the first time."""
    with st.spinner(f"Preparing {get_spec(name).display_name} for the attack (first time only)..."):
        return _cached_attacker(name)


def trained_classifier() -> dict | None:
    """The learner's trained classifier from the transfer page, if this session has one."""
    trained = st.session_state.get(TRAINED_KEY)
    if isinstance(trained, dict) and trained.get("model") is not None and trained.get("classes"):
        return trained
    return None


def trained_attacker(trained: dict) -> Attacker:
    """An attacker of the learner's own classifier, built once per trained model in this session."""
    cached = st.session_state.get("adv_trained_attacker")
    if cached is None or cached[0] is not trained["model"]:
        with st.spinner("Preparing your classifier for the attack..."):
            attacker = Attacker(trained["model"], "probabilities", trained["classes"], name="your classifier")
            cached = (trained["model"], attacker.warm_up())
        st.session_state["adv_trained_attacker"] = cached
    return cached[1]


def prepare_for(attacker: Attacker, backbone_name: str, image: np.ndarray) -> np.ndarray:
    """The photo as the attacked network sees it: centre crop and resize to its input size."""
    return center_crop_resize(image, attacker.input_size, get_spec(backbone_name).crop_fraction)


def other_available_backbones(current: str) -> list[str]:
    """Every backbone that works offline here, except the attacked one."""
    return [name for name, (ok, _) in backbone_availability().items() if ok and name != current]


def folder_images(folder: str) -> list[Path]:
    """Image files directly inside a folder, sorted; raises ValueError with a clear message."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ValueError(f"{path.name} is not a folder on this computer")
    try:
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise ValueError(f"{path.name} cannot be read ({exc.strerror})") from None
    if not files:
        raise ValueError(f"{path.name} has no photos ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_photo(path: Path) -> Photo | None:
    """Reads one photo file, reporting an unreadable one with st.error."""
    try:
        image = load_image_file(path)
    except ImageInputError as exc:
        st.error(str(exc), icon="🚫")
        return None
    return Photo(path.name, image, hashlib.sha1(image.tobytes()).hexdigest())


def outcome_table(rows: list[dict], first: str, targeted: bool) -> list[dict]:
    """Formats survival or transfer rows for st.dataframe."""
    verdict = "still fooled" if targeted else "still changed"
    return [{first: row[first], **({"setting": row["setting"]} if "setting" in row else {}),
             **({"clean photo": f"{row['clean_label']} {row['clean_prob']:.0%}"} if "clean_label" in row else {}),
             "prediction": f"{row['top_label']} {row['top_prob']:.0%}",
             ("target probability" if targeted else "original class probability"): f"{row['target_prob']:.1%}",
             "attack": f"✅ {verdict}" if row["survives"] else "❌ undone"} for row in rows]


def sweep_figure(curve: dict[int, tuple[int, int]], method: str, target_name: str, photos: int) -> go.Figure:
    """Success rate against epsilon, one point per budget (successes, photos)."""
    eps = sorted(curve)
    rates = [curve[e][0] / curve[e][1] if curve[e][1] else 0 for e in eps]
    fig = go.Figure(go.Scatter(
        x=eps, y=rates, mode="lines+markers+text", text=[f"{r:.0%}" for r in rates], textposition="top center",
        customdata=[f"{curve[e][0]} of {curve[e][1]}" for e in eps],
        hovertemplate="eps %{x} levels: %{y:.0%} (%{customdata})<extra></extra>", marker_color="#e45756",
    ))
    fig.update_layout(title=f"{method.upper()} success rate towards {target_name}, {photos} photos", height=360,
                      xaxis_title="epsilon (pixel levels out of 255, L-inf)", yaxis_title="photos fooled",
                      yaxis=dict(range=[0, 1.1], tickformat=".0%"), margin=dict(l=10, r=10, t=40, b=10))
    return fig
