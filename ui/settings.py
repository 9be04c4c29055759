"""The lab's settings as the app sees them: read from the environment at every run, bad values stop the app."""

from __future__ import annotations

import functools
import os

import streamlit as st

from core.settings import LabSettings, SettingsError, settings_from_env
from ui.errors import problem_text
from ui.i18n import t


@functools.lru_cache(maxsize=1)
def gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def lab_settings() -> LabSettings:
    """This server's settings; a bad value set by the teacher stops the page with one line naming it."""
    try:
        return settings_from_env(os.environ, st.get_option("server.address"), gpus=gpu_count())
    except SettingsError as error:
        st.error(t("settings.cannot_start", problem=problem_text(error)))
        st.stop()


def mode_badge_ui(settings: LabSettings) -> None:
    """Says in the sidebar which mode is on, so a teacher and a learner both know."""
    if settings.classroom:
        st.sidebar.info(t("settings.classroom_badge"))
    else:
        st.sidebar.caption(t("settings.personal_badge"))


def widget_max(name: str, personal_max: int) -> int:
    """A widget's upper bound: the teacher's limit ``name`` (a ``Limits`` field), or today's personal range."""
    return lab_settings().limits.cap(name, personal_max)
