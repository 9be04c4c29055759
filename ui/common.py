"""Widgets and cached resources shared by every page."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.data.datasets import bundled_samples
from core.data.downloads import ChecksumError, NoNetworkError
from core.data.images import ImageInputError, load_image, load_image_file
from core.models.backbones import (
    DEFAULT_BACKBONE,
    availability,
    download_keras_weights,
    get_spec,
    list_backbones,
    load_backbone,
)
from ui.uploads import limits_help, within_limits

BACKBONE_KEY = "backbone"
SAMPLES = bundled_samples()
DOG_SAMPLE = "Leonberger dog (Oxford-IIIT Pet, CC BY-SA)"


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo a learner gave: its name, pixels and a content digest for cache keys."""

    name: str
    image: np.ndarray
    digest: str


@st.cache_resource(show_spinner=False, max_entries=6)
def cached_backbone(name: str):
    """Loads a backbone once per process; every session shares it, read-only. Room for all six backbones, so
    the second-opinion table does not evict and reload the one a page is using."""
    return load_backbone(name)


@st.cache_data(show_spinner=False)
def backbone_availability() -> dict[str, tuple[bool, str]]:
    """Which backbones can be loaded offline, checked once per process."""
    return {spec.name: availability(spec.name) for spec in list_backbones()}


def get_backbone(name: str | None = None):
    """The selected (or named) backbone, with a spinner the first time it loads."""
    name = name or selected_backbone()
    with st.spinner(f"Loading {get_spec(name).display_name} (first time only)..."):
        return cached_backbone(name)


def selected_backbone() -> str:
    """The backbone chosen in the sidebar for this session."""
    return st.session_state.get(BACKBONE_KEY, DEFAULT_BACKBONE)


def backbone_picker_ui() -> str:
    """Sidebar picker of the backbone shared by all pages; returns its name."""
    status = backbone_availability()
    usable = [s.name for s in list_backbones() if status[s.name][0]]
    if st.session_state.get(BACKBONE_KEY) not in usable:
        st.session_state[BACKBONE_KEY] = DEFAULT_BACKBONE if DEFAULT_BACKBONE in usable else usable[0]
    st.sidebar.selectbox(
        "Backbone", usable, key=BACKBONE_KEY,
        format_func=lambda n: f"{get_spec(n).display_name} ({get_spec(n).input_size} px)",
        help="The pretrained network every page uses.",
    )
    with st.sidebar.expander("Which backbones work offline?"):
        for spec in list_backbones():
            ok, reason = status[spec.name]
            st.markdown(f"{'✅' if ok else '⛔'} **{spec.display_name}**: {reason}")
            if not ok and spec.family == "keras_applications":
                _download_button(spec)
    return st.session_state[BACKBONE_KEY]


def _download_button(spec) -> None:
    """Offers the optional Keras Applications weights download, with progress and a clear offline message."""
    if not st.button(f"Download {spec.display_name} weights", key=f"download_{spec.name}"):
        return
    bar = st.progress(0.0, text="Connecting...")
    try:
        download_keras_weights(spec.name, lambda done, total: bar.progress(
            min(done / total, 1.0) if total else 0.0, text=f"{done / 1e6:.0f} MB"))
        backbone_availability.clear()
        st.rerun()
    except (NoNetworkError, ChecksumError) as exc:
        st.error(str(exc))
    except OSError as exc:  # the weights folder cannot be written (permissions, disk full)
        logging.getLogger(__name__).exception("weights download failed")
        st.error(f"The weights could not be saved ({exc.strerror or exc}); check the disk space and the "
                 f"permissions of the Keras cache folder, then try again.")
    finally:
        bar.empty()


def photo_from_bytes(data: bytes, name: str) -> Photo:
    """Decodes bytes safely into a Photo (raises ImageInputError)."""
    return Photo(name, load_image(data, name), hashlib.sha1(data).hexdigest())


@st.cache_data(show_spinner=False)
def sample_image(label: str) -> np.ndarray:
    """One bundled sample photo (assets/samples), decoded once per process."""
    return load_image_file(SAMPLES[label])


def sample_photo(label: str) -> Photo:
    """A sample photo as a Photo."""
    image = sample_image(label)
    return Photo(label.split(" (")[0], image, hashlib.sha1(image.tobytes()).hexdigest())


def photo_input_ui(key: str, multiple: bool = True, default_sample: str | None = None) -> list[Photo]:
    """Upload, camera or sample: the photos a learner gives, with clear errors for bad files.

    Args:
        key: widget key prefix, unique per page.
        multiple: allow several uploads.
        default_sample: sample shown when nothing is uploaded.

    Returns:
        The readable photos; unreadable files are reported with ``st.error``.
    """
    source = st.radio("Photo source", ["Upload", "Camera", "Sample photo"], horizontal=True, key=f"{key}_source",
                      index=2 if default_sample else 0)
    if source == "Sample photo":
        labels = list(SAMPLES)
        label = st.selectbox("Sample", labels, key=f"{key}_sample",
                             index=labels.index(default_sample) if default_sample in labels else 0)
        return [sample_photo(label)]
    if source == "Camera":
        shot = st.camera_input("Take a photo", key=f"{key}_camera")
        files = [shot] if shot is not None else []
    else:
        files = st.file_uploader("Upload photos" if multiple else "Upload a photo", accept_multiple_files=multiple,
                                 key=f"{key}_upload", type=None, help=limits_help("JPEG, PNG, GIF, WebP, BMP or TIFF."))
        files = (files or []) if multiple else ([files] if files else [])
    return decode_uploads(files)


def decode_uploads(files) -> list[Photo]:
    """Decodes uploaded files, reporting each unreadable one and keeping the rest."""
    photos = []
    for file in within_limits(files):
        try:
            photos.append(photo_from_bytes(file.getvalue(), file.name))
        except ImageInputError as exc:
            st.error(str(exc), icon="🚫")
    return photos


def top_k_chart(predictions, title: str = "", height: int = 260) -> go.Figure:
    """Horizontal Plotly bar chart of top-k predictions, most probable on top."""
    preds = list(reversed(predictions))
    fig = go.Figure(go.Bar(
        x=[p.prob for p in preds], y=[p.label for p in preds], orientation="h",
        text=[f"{p.prob:.1%}" for p in preds], textposition="auto", marker_color="#4c78a8",
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(automargin=True))
    return fig
