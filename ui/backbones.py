"""The networks every page uses: the backbone chosen in the sidebar (its picker, offline status and weights
download), loaded once per process, and the learner's classifier by its store key."""

from __future__ import annotations

import logging

import streamlit as st

from core.data.downloads import ChecksumError, NoNetworkError
from core.models.backbones import (
    DEFAULT_BACKBONE,
    availability,
    download_keras_weights,
    get_spec,
    list_backbones,
)
from core.work import shared
from core.work.store import default_store
from ui.errors import problem_text
from ui.i18n import t
from ui.settings import lab_settings
from ui.state import BACKBONE, choose_backbone, chosen_backbone


def cached_backbone(name: str):
    """A backbone loaded once per process and shared, read-only, by every session and job
    (``core.work.shared.backbones``: outside Streamlit's cache, so the job runner uses the same one)."""
    return shared.backbones(name)


def stored_model(model) -> str:
    """The store key of the session's classifier (``ui.state.TrainedModel``), saved to the store once per model;
    jobs name the model by it (``core.work.specs``)."""
    return model.cached("store_key", lambda: shared.store_model(default_store(), model.model, model.classes))


@st.cache_data(show_spinner=False)
def backbone_availability() -> dict[str, tuple[bool, str]]:
    """Which backbones can be loaded offline, checked once per process."""
    return {spec.name: availability(spec.name) for spec in list_backbones()}


def get_backbone(name: str | None = None):
    """The selected (or named) backbone, with a spinner the first time it loads."""
    name = name or selected_backbone()
    with st.spinner(t("widgets.loading_backbone", name=get_spec(name).display_name)):
        return cached_backbone(name)


def selected_backbone() -> str:
    """The backbone chosen in the sidebar for this session."""
    return chosen_backbone() or DEFAULT_BACKBONE


def backbone_picker_ui() -> str:
    """Sidebar picker of the backbone shared by all pages; returns its name."""
    status = backbone_availability()
    usable = [s.name for s in list_backbones() if status[s.name][0]]
    if chosen_backbone() not in usable:
        choose_backbone(DEFAULT_BACKBONE if DEFAULT_BACKBONE in usable else usable[0])
    # Shown names are made now, in this run's language: AppTest calls format_func outside the script run.
    shown = {n: t("widgets.backbone_option", name=get_spec(n).display_name, size=get_spec(n).input_size)
             for n in usable}
    st.sidebar.selectbox(
        t("widgets.backbone"), usable, key=BACKBONE, format_func=shown.get,
        help=t("widgets.backbone_help"),
    )
    classroom = lab_settings().classroom  # learners never start a download: the teacher runs the command
    with st.sidebar.expander(t("widgets.offline_title")):
        for spec in list_backbones():
            ok = status[spec.name][0]
            st.markdown(t("widgets.offline_row", mark="✅" if ok else "⛔", name=spec.display_name,
                          words=offline_words(spec, ok, classroom)))
            if not ok and spec.family == "keras_applications" and not classroom:
                _download_button(spec)
    return chosen_backbone()


def offline_words(spec, ok: bool, classroom: bool = False) -> str:
    """Whether a backbone works offline and, if not, how to get it, in the learner's language (core's
    ``availability`` reason is the CLI's English)."""
    if ok:
        return t("widgets.offline_yes")
    if spec.family == "keras_applications":
        command = f"python -m core download-weights {spec.name}"
        return t("widgets.offline_ask_teacher", command=command) if classroom else t(
            "widgets.offline_needs_download", command=command)
    return t("widgets.offline_needs_package", package=spec.weights_file.split(":")[0].replace("_", "-"))


def _download_button(spec) -> None:
    """Offers the optional Keras Applications weights download, with progress and a clear offline message."""
    if not st.button(t("widgets.download_weights", name=spec.display_name), key=f"download_{spec.name}"):
        return
    bar = st.progress(0.0, text=t("widgets.connecting"))
    try:
        download_keras_weights(spec.name, lambda done, total: bar.progress(
            min(done / total, 1.0) if total else 0.0, text=f"{done / 1e6:.0f} MB"))
        backbone_availability.clear()
        st.rerun()
    except (NoNetworkError, ChecksumError) as exc:
        st.error(t("widgets.download_failed", problem=problem_text(exc)))
    except OSError:  # the weights folder cannot be written (permissions, disk full)
        logging.getLogger(__name__).exception("weights download failed")
        st.error(t("widgets.weights_not_saved"))
    finally:
        bar.empty()
