"""Transfer Lab: start with ``streamlit run app.py``."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

from ui.i18n import language_switch_ui, t  # noqa: E402  (light: Streamlit and the catalogues only)

st.set_page_config(page_title=t("app.title"), page_icon="🐾", layout="wide")


def starting_note():
    """On a fresh server the imports below load TensorFlow, seconds on a small CPU: the learner reads the
    title and what is happening meanwhile, not a blank page. Later runs find the modules loaded and skip it."""
    if hasattr(sys.modules.get("ui.backbones"), "backbone_picker_ui"):  # imported whole (not half-way, by a
        return None                                                 # session that started a moment earlier)
    note = st.empty()
    with note.container():
        st.title(t("home.title"))
        st.caption(t("app.starting"))
    return note


starting = starting_note()

from ui.backbones import backbone_picker_ui  # noqa: E402
from ui.errors import report_failure  # noqa: E402
from ui.jobs import keep_tensorflow_warm  # noqa: E402
from ui.session import guard_closed_sessions  # noqa: E402
from ui.settings import lab_settings, mode_badge_ui  # noqa: E402
from ui.uploads import sweep_ended_sessions  # noqa: E402

if starting is not None:
    starting.empty()


def pages() -> list:
    """The five pages, titled in this session's language (built each run, as the language may change)."""
    return [
        st.Page("app_pages/home.py", title=t("app.page.home"), icon="🏠", url_path="", default=True),
        st.Page("app_pages/feature_maps.py", title=t("app.page.feature_maps"), icon="🔍", url_path="feature_maps"),
        st.Page(
            "app_pages/transfer_training.py",
            title=t("app.page.transfer_training"),
            icon="🎓",
            url_path="transfer_training",
        ),
        st.Page("app_pages/ideal_cat.py", title=t("app.page.ideal_cat"), icon="🐱", url_path="ideal_cat"),
        st.Page(
            "app_pages/adversarial_dog.py", title=t("app.page.adversarial_dog"), icon="🐶", url_path="adversarial_dog"
        ),
    ]


navigation = st.navigation(pages())
language_switch_ui()
mode_badge_ui(lab_settings())
keep_tensorflow_warm()  # no keras.backend.clear_session() after each run (and poll)
guard_closed_sessions(lab_settings().classroom)  # a closed tab's session cannot be taken over (once per process)
sweep_ended_sessions()  # ended sessions' uploads go within minutes; throttled to once a minute
backbone_picker_ui()
try:
    navigation.run()
except Exception as error:  # noqa: BLE001  last resort: a learner never sees a traceback
    report_failure(t("errors.this_page", page=navigation.title), error)
