"""Transfer training: a classifier head on a frozen pretrained backbone, trained live on cached embeddings."""

from dataclasses import replace

import streamlit as st

from core.transfer.pipeline import DataSettings
from ui.common import selected_backbone
from ui.lab_path import next_step_ui
from ui.own_classes import own_classes_ui
from ui.transfer_extras import export_ui, fine_tune_ui, load_model_ui, try_it_ui
from ui.transfer_training import (
    RUNS_KEY,
    data_settings_ui,
    finish_interrupted,
    head_settings_ui,
    run_training,
    runs_table,
    show_run,
    views_ui,
)

st.title("🎓 Transfer training")
st.markdown(
    """
Reuse what the pretrained network already knows: keep it **frozen**, compute each photo's
embedding (the pooled features before ImageNet's classifier) **once**, and train only a small
softmax head on top. Because embeddings are cached, every epoch takes milliseconds on a laptop
CPU, where the original lesson ran the whole network on every photo every epoch.
"""
)
mode = st.segmented_control("Train on", ["A dataset", "Your own classes"], default="A dataset", key="tt_mode",
                            required=True)
own_dataset = None
if mode == "Your own classes":
    st.caption("Name two or more classes and give each a few photos: uploads or the camera. "
               "They stay in your browser session.")
    own_dataset = own_classes_ui()
    data_settings = DataSettings("own", task="folders", seed=int(st.session_state.get("tt_seed", 0))) \
        if own_dataset else None
else:
    data_settings = data_settings_ui()
head_settings = head_settings_ui()
finish_interrupted()

views = views_ui()
if data_settings is not None:
    data_settings = replace(data_settings, views=views)
left, right, _ = st.columns([1, 1, 4])
train = left.button("Train", type="primary", disabled=data_settings is None or head_settings is None,
                    key="tt_train")
right.button("Stop", key="tt_stop", help="Ends training now and keeps the best epoch's weights.")
if train:
    run_training(data_settings, head_settings, selected_backbone(), own_dataset)

runs = st.session_state.get(RUNS_KEY, [])
latest = runs[-1] if runs else None
if latest:
    show_run(latest)
    runs_table()
try_it_ui()
fine_tune_ui(latest)
export_ui(latest)
load_model_ui()
next_step_ui("transfer_training")
