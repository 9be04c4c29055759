"""Ideal cat: the image a network finds most "cat", made by gradient ascent on the input."""

import streamlit as st

from ui.ideal_cat import finish_job, gallery_ui, generate_ui, results_ui, target_picker
from ui.lab_path import next_step_ui

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
finish_job()  # a job that ended since the last run joins the gallery
target = target_picker()
if target is not None:
    generate_ui(target)
results_ui()
gallery_ui()
next_step_ui("ideal_cat")
