"""Feature maps: what each stage of a pretrained CNN extracts from a photo, and where it looks (Grad-CAM)."""

import streamlit as st

from core.data.images import center_crop_resize
from core.explain.feature_maps import MAX_TOP_K, FeatureMapSettings, channel_map, render_stage, top_channels
from core.explain.gradcam import gradcam_overlay
from core.explain.heatmaps import colorize, overlay, upscale_factor, upscale_nearest
from core.models.classify import softmax, top_k
from core.models.imagenet import class_name, class_names
from ui.common import get_backbone, photo_input_ui, selected_backbone
from ui.feature_maps import photo_features, photo_gradcam, shape_chart
from ui.lab_path import next_step_ui

TILE_PX = 112
LARGE_PX = 336


def settings_ui(features) -> FeatureMapSettings:
    """Stage, number of channels and colour scale, as a checked settings object."""
    shapes = {s.label: "×".join(map(str, s.shape)) for s in features.stages}
    labels = list(shapes)
    stage = st.segmented_control("Stage", labels, default=labels[0], key="fm_stage", required=True,
                                 format_func=lambda label: f"{label} · {shapes[label]}",
                                 help="Height × width × channels of each stage's output")
    left, right = st.columns(2)
    k = left.slider("Channels to show (the most active)", 1, MAX_TOP_K, 16, key="fm_top_k")
    scale = right.radio("Colour scale", ["channel", "shared"], horizontal=True, key="fm_scale",
                        format_func={"channel": "per channel", "shared": "shared by the channels shown"}.get,
                        help="Per channel shows each channel's pattern; shared shows which channels are strong.")
    return FeatureMapSettings(stage=stage or labels[0], top_k=k, scale=scale)


def channel_grid_ui(features, channels, settings: FeatureMapSettings) -> None:
    """The chosen channels of one stage as a grid of small heatmaps."""
    view = render_stage(features.stage(settings.stage), channels, settings.scale, min_size=TILE_PX)
    st.image(list(view.images), width=TILE_PX,
             caption=[f"#{c} · mean {s:.2f}" for c, s in zip(view.channels, view.strengths)])


def large_channel_ui(features, pixels, channels, settings: FeatureMapSettings, digest: str) -> None:
    """One channel shown large, optionally painted over the photo as the network sees it."""
    left, right = st.columns([1, 2])
    channel = left.selectbox("Look at one channel", channels, format_func=lambda c: f"channel {c}",
                             key=f"fm_channel_{features.backbone}_{digest}_{settings.stage}")
    show_over = left.toggle("Overlay on the photo", key="fm_overlay")
    chosen = FeatureMapSettings(settings.stage, settings.top_k, settings.scale, channel, show_over)
    values = channel_map(features.stage(chosen.stage), channels, chosen.channel, chosen.scale)
    if chosen.overlay:
        picture = overlay(center_crop_resize(pixels, LARGE_PX, 1.0), values, alpha=0.8, cmap="viridis")
    else:
        picture = upscale_nearest(colorize(values), upscale_factor(values.shape[0], LARGE_PX))
    right.image(picture, width=LARGE_PX,
                caption=f"{chosen.stage}, channel {chosen.channel}" + (" over the photo" if chosen.overlay else ""))


def gradcam_ui(backbone, features, pixels, digest: str) -> None:
    """Grad-CAM for the chosen class, the top-5 classes beside it to pick another."""
    probs = softmax(features.logits)
    top5 = top_k(probs, 5)
    left, right = st.columns([1, 1])
    with right:
        pick = st.radio("Explain which class? (top 5)", [p.index for p in top5],
                        key=f"fm_gc_top_{backbone.name}_{digest}",
                        format_func=lambda i: f"{class_name(i)} · {probs[i]:.1%}")
        other = st.selectbox("…or any ImageNet class", range(len(class_names())), index=None,
                             key=f"fm_gc_any_{backbone.name}_{digest}", placeholder="Type to search 1000 classes",
                             format_func=lambda i: f"{class_name(i)} ({i})")
    index = int(other if other is not None else pick)
    with st.spinner("Computing Grad-CAM..."):
        result = photo_gradcam(backbone.name, digest, index, backbone, pixels)
    left.image(gradcam_overlay(pixels, result.heatmap), width=LARGE_PX,
               caption=f"Grad-CAM for “{class_name(index)}” ({probs[index]:.1%}): red is where the network looked")
    right.caption(f"Gradients of the class score at layer `{result.layer}`, weighted per channel "
                  "(Selvaraju et al., 2017). Pick a class the photo does not show and the map scatters.")


def compare_ui(backbone, pixels, features, settings: FeatureMapSettings, channels) -> None:
    """A second photo beside the first, at the same stage and the same channels."""
    st.caption("The same stage and the same channels (the first photo's most active ones) for both photos.")
    others = photo_input_ui("fm_compare", multiple=False, default_sample="Coffee cup (scikit-image, CC0)")
    if not others:
        st.info("Add a second photo to compare.")
        return
    other = others[0]
    other_pixels = backbone.prepare(other.image)
    other_features = photo_features(backbone.name, other.digest, backbone, other_pixels)
    for column, feats, seen, name in zip(st.columns(2), (features, other_features), (pixels, other_pixels),
                                         ("First photo", other.name)):
        with column:
            st.image(seen, width=TILE_PX * 2, caption=f"{name}, as the network sees it")
            channel_grid_ui(feats, channels, settings)


st.title("🔍 Feature maps")
st.markdown(
    "A network trained on ImageNet turns a photo into a stack of **feature maps**: early stages respond to "
    "edges, colours and textures, later ones to parts of objects (eyes, fur, wheels). Those general features "
    "are why transfer learning works: a new task can reuse them instead of learning to see from scratch."
)
photos = photo_input_ui("fm", multiple=False, default_sample="Chelsea the cat (scikit-image, CC0)")
if not photos:
    st.info("Add a photo to see its feature maps.")
    st.stop()
photo = photos[0]
backbone = get_backbone()
pixels = backbone.prepare(photo.image)
with st.spinner("Running the network..."):
    features = photo_features(selected_backbone(), photo.digest, backbone, pixels)

original, seen, chart = st.columns([1, 1, 2])
original.image(photo.image, caption=f"{photo.name} (original, {photo.image.shape[1]}×{photo.image.shape[0]})",
               width="stretch")
seen.image(pixels, caption=f"As {backbone.spec.display_name} sees it: centre crop, {backbone.input_size} px",
           width="stretch")
chart.markdown("**The picture shrinks and deepens**: pixels per side and channels, stage by stage")
chart.plotly_chart(shape_chart(features), width="stretch", key=f"fm_shapes_{backbone.name}")

st.header("Stage by stage")
settings = settings_ui(features)
stage = features.stage(settings.stage)
channels = top_channels(stage.activations, settings.top_k)
height, width, depth = stage.shape
st.subheader(f"{settings.stage}: {height}×{width} pixels × {depth} channels")
st.caption(f"The {len(channels)} of {depth} channels with the highest mean activation (layer `{stage.layer}`), "
           "strongest first. Yellow is high, dark blue low.")
channel_grid_ui(features, channels, settings)
large_channel_ui(features, pixels, channels, settings, photo.digest)

st.header("Grad-CAM: where the network looked")
gradcam_ui(backbone, features, pixels, photo.digest)

st.header("Two photos side by side")
if st.toggle("Compare with a second photo", key="fm_compare_on"):
    compare_ui(backbone, pixels, features, settings, channels)
next_step_ui("feature_maps")
