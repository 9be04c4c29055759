"""Adversarial dog: an invisible, bounded change that turns a dog into a cat, checked on the saved 8-bit image."""

from __future__ import annotations

import streamlit as st

from core.models.backbones import get_spec
from ui.adversarial import target_label
from ui.adversarial_attack import (
    ATTACK_SLOT,
    attack_ui,
    choose_photo,
    choose_settings,
    choose_target,
    result_ui,
    victim_for,
)
from ui.adversarial_checks import survival_ui, sweep_ui, transfer_ui
from ui.i18n import t
from ui.jobs import job_of
from ui.lab_path import next_step_ui
from ui.state import adversarial, trained
from ui.text import plain

st.title(t("adversarial.title"))
st.markdown(t("adversarial.intro"))

learner_model = trained()
st.header(t("adversarial.h_photo"))
photo = choose_photo()
st.header(t("adversarial.h_attack"))
target = choose_target(learner_model)
config = choose_settings(target)
victim = victim_for(target, learner_model)
if target.trained:
    st.caption(t("adversarial.own_caption", classes=plain(", ".join(learner_model.classes)),
                 network=get_spec(victim.backbone).display_name if victim.backbone else victim.name))
if photo is None:
    st.info(t("adversarial.no_photo"))
else:
    key = attack_ui(photo, victim, target, config)
    result = adversarial().result
    if result is None and job_of(ATTACK_SLOT) is None:
        st.info(t("adversarial.press_run", method=config.method.upper() if config else "PGD",
                  target=target_label(target, victim.labels)))
    elif result is not None:
        st.header(t("adversarial.h_result"))
        result_ui(result, key)
        survival_ui(learner_model)
        transfer_ui()
sweep_ui(victim, config, target)
next_step_ui("adversarial_dog")
