"""Home: what the lab teaches, and a first look at the pretrained network."""

import streamlit as st

from core.models.classify import classify_images
from ui.common import get_backbone, photo_input_ui, selected_backbone, top_k_chart
from ui.lab_path import lab_path_ui, next_step_ui

st.title("🐾 Transfer Lab")
st.markdown(
    """
A hands-on lab about **transfer learning on images**. A network pretrained on
ImageNet already knows a lot about edges, textures, fur and faces; you will see
what it sees, reuse it to learn your own classes in seconds, and then probe what
it has learned by asking it to dream up an "ideal cat" and by fooling it.
Everything runs on your computer, without a GPU or an internet connection.
Pick the network in the sidebar; EfficientNet-Lite0 is the quickest.
"""
)
lab_path_ui()

st.header("Try the network")
st.caption("Upload one or more photos, take one with your camera, or pick a sample. "
           "Photos stay in your browser session.")
photos = photo_input_ui("home", multiple=True, default_sample="Chelsea the cat (scikit-image, CC0)")
if photos:
    backbone = get_backbone()
    with st.spinner("Classifying..."):
        predictions = classify_images(backbone, [p.image for p in photos], k=5)
    for photo, preds in zip(photos, predictions):
        left, right = st.columns([1, 2])
        left.image(photo.image, caption=photo.name, width="stretch")
        right.plotly_chart(top_k_chart(preds, f"Top 5 ImageNet classes ({backbone.spec.display_name})"),
                           width="stretch", key=f"chart_{photo.digest}_{selected_backbone()}")
else:
    st.info("Add a photo to see what the network thinks it shows.")
next_step_ui("home")
