"""Ideal cat: the image a network finds most "cat", made by gradient ascent on the input."""

import streamlit as st

from ui.i18n import t
from ui.ideal_cat import finish_job, gallery_ui, generate_ui, results_ui, target_picker
from ui.lab_path import next_step_ui

st.title(t("ideal.title"))
st.markdown(t("ideal.intro"))
finish_job()  # a job that ended since the last run joins the gallery
target = target_picker()
if target is not None:
    generate_ui(target)
results_ui()
gallery_ui()
next_step_ui("ideal_cat")
