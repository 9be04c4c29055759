"""Feature maps: what each stage of a pretrained CNN extracts from a photo, and where it looks (Grad-CAM)."""

import streamlit as st

from ui.backbones import get_backbone, selected_backbone
from ui.feature_maps import (
    compare_ui,
    gradcam_ui,
    large_channel_ui,
    overview_ui,
    settings_ui,
    stage_ui,
)
from ui.i18n import t
from ui.lab_path import next_step_ui
from ui.light import photo_features
from ui.photos import photo_input_ui

st.title(t("feature_maps.title"))
st.markdown(t("feature_maps.intro"))
photos = photo_input_ui("fm", multiple=False, default_sample="Chelsea the cat (scikit-image, CC0)")
if not photos:
    st.info(t("feature_maps.add_photo"))
    st.stop()
photo = photos[0]
backbone = get_backbone()
pixels = backbone.prepare(photo.image)
with st.spinner(t("feature_maps.running")):
    features = photo_features(selected_backbone(), photo.digest, backbone, pixels)
overview_ui(photo, backbone, pixels, features)

st.header(t("feature_maps.stage_header"))
settings = settings_ui(features)
channels = stage_ui(features, settings)
large_channel_ui(features, pixels, channels, settings, photo.digest)

st.header(t("feature_maps.gradcam_header"))
gradcam_ui(backbone, features, pixels, photo.digest)

st.header(t("feature_maps.compare_header"))
if st.toggle(t("feature_maps.compare_toggle"), key="fm_compare_on"):
    compare_ui(backbone, pixels, features, settings, channels)
next_step_ui("feature_maps")
