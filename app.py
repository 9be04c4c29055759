"""Transfer Lab: start with ``streamlit run app.py``."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

from ui.common import backbone_picker_ui  # noqa: E402
from ui.errors import report_failure  # noqa: E402
from ui.settings import lab_settings, mode_badge_ui  # noqa: E402
from ui.uploads import sweep_ended_sessions  # noqa: E402

st.set_page_config(page_title="Transfer Lab", page_icon="🐾", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon="🏠", url_path="", default=True),
    st.Page("app_pages/feature_maps.py", title="Feature maps", icon="🔍", url_path="feature_maps"),
    st.Page("app_pages/transfer_training.py", title="Transfer training", icon="🎓", url_path="transfer_training"),
    st.Page("app_pages/ideal_cat.py", title="Ideal cat", icon="🐱", url_path="ideal_cat"),
    st.Page("app_pages/adversarial_dog.py", title="Adversarial dog", icon="🐶", url_path="adversarial_dog"),
]

navigation = st.navigation(PAGES)
mode_badge_ui(lab_settings())
sweep_ended_sessions()  # ended sessions' uploads go within minutes; throttled to once a minute
backbone_picker_ui()
try:
    navigation.run()
except Exception as error:  # noqa: BLE001  last resort: a learner never sees a traceback
    report_failure(f"This page ({navigation.title})", error)
