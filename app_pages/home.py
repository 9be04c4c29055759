"""Home: what the lab teaches, and a first look at the pretrained network."""

import streamlit as st

from ui.backbones import get_backbone
from ui.charts import top_k_bars_ui
from ui.i18n import t
from ui.lab_path import lab_path_ui, next_step_ui
from ui.light import photo_top5, warm_feature_maps
from ui.photos import photo_input_ui
from ui.text import plain

st.title(t("home.title"))
st.markdown(t("home.intro"))
lab_path_ui()

st.header(t("home.try_header"))
st.caption(t("home.try_caption"))
photos = photo_input_ui("home", multiple=True, default_sample="Chelsea the cat (scikit-image, CC0)")
if photos:
    backbone = get_backbone()
    with st.spinner(t("home.classifying")):
        predictions = photo_top5(backbone, photos)
    warm_feature_maps(backbone, photos[0])  # in the background: the next page opens at once
    for photo, preds in zip(photos, predictions):
        left, right = st.columns([1, 2])
        left.image(photo.image, caption=plain(photo.name), width="stretch")
        with right:
            top_k_bars_ui(preds, t("home.top5_title", model=backbone.spec.display_name), imagenet=True)
else:
    st.info(t("home.add_photo"))
next_step_ui("home")
