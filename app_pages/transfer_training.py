"""Transfer training: a classifier head on a frozen pretrained backbone, trained live on cached embeddings."""

from dataclasses import replace

import streamlit as st

from core.transfer.pipeline import DataSettings
from ui.fine_tune import fine_tune_ui, finish_fine_tune
from ui.i18n import t
from ui.lab_path import next_step_ui
from ui.own_classes import own_classes_ui
from ui.state import transfer_page
from ui.transfer_results import runs_table, show_run
from ui.transfer_training import data_settings_ui, finish_training, head_settings_ui, seed_ui, train_ui, views_ui
from ui.your_model import export_ui, load_model_ui, try_it_ui

st.title(t("transfer.title"))
st.markdown(t("transfer.intro"))
finish_training()  # a job that ended since the last run becomes a run (a Stop keeps its best epoch)
finish_fine_tune()
modes = {"dataset": t("transfer.mode_dataset"), "own": t("transfer.mode_own")}
own = st.segmented_control(t("transfer.train_on"), list(modes), default="dataset", key="tt_mode", required=True,
                           format_func=modes.get) == "own"
own_dataset = None
if own:
    st.caption(t("transfer.own_caption"))
    own_dataset = own_classes_ui()
    seed = seed_ui(st.columns(4)[0])
    data_settings = DataSettings("own", task="folders", seed=seed) if own_dataset else None
else:
    data_settings = data_settings_ui()
head_settings = head_settings_ui()
views = views_ui()
train_ui(replace(data_settings, views=views) if data_settings else None, head_settings, own_dataset)

runs = transfer_page().runs
latest = runs[-1] if runs else None
if latest:
    show_run(latest)
    runs_table()
try_it_ui()
fine_tune_ui(latest)
export_ui(latest)
load_model_ui()
next_step_ui("transfer_training")
