"""Feature maps page's sections: the overview, the stage grid, one channel large, Grad-CAM, compare."""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from core.data.images import center_crop_resize
from core.explain.feature_maps import (
    MAX_TOP_K,
    FeatureMaps,
    FeatureMapSettings,
    channel_map,
    render_stage,
    stage_summary,
    top_channels,
)
from core.explain.gradcam import gradcam_overlay
from core.explain.heatmaps import colorize, overlay, upscale_factor, upscale_nearest
from core.models.class_names import class_name, search_classes
from core.models.imagenet import NUM_CLASSES
from core.models.predictions import softmax, top_k
from ui.charts import shape_chart
from ui.i18n import current_language, numbered_class, t
from ui.light import photo_features, photo_gradcam
from ui.photos import Photo, photo_input_ui
from ui.text import plain

TILE_PX = 112
LARGE_PX = 336


def stage_name(label: str) -> str:
    """A stage's label ('stem', 'stage 3', 'head': stable ids from the backbone spec) in the learner's language."""
    numbered = re.fullmatch(r"stage (\d+)", label)
    if numbered:
        return t("feature_maps.stage_n", n=numbered.group(1))
    return {"stem": t("feature_maps.stage_stem"), "head": t("feature_maps.stage_head")}.get(label, label)


def overview_ui(photo: Photo, backbone, pixels: np.ndarray, features: FeatureMaps) -> None:
    """The photo, what the network sees, and how the picture shrinks and deepens stage by stage."""
    original, seen, chart = st.columns([1, 1, 2])
    width, height = photo.original_size or photo.image.shape[1::-1]
    original.image(photo.image, caption=t("feature_maps.original", name=plain(photo.name), width=width, height=height),
                   width="stretch")
    seen.image(pixels, width="stretch",
               caption=t("feature_maps.as_seen", model=backbone.spec.display_name, size=backbone.input_size))
    chart.markdown(t("feature_maps.shapes_title"))
    names = {s.label: stage_name(s.label) for s in features.stages}
    chart.plotly_chart(shape_chart(stage_summary(features), names), width="stretch",
                       key=f"fm_shapes_{backbone.name}")


def settings_ui(features: FeatureMaps) -> FeatureMapSettings:
    """Stage, number of channels and colour scale, as a checked settings object."""
    # shown names made now, in this run's language (AppTest calls format_func outside the script run)
    shapes = {s.label: f"{stage_name(s.label)} · {'×'.join(map(str, s.shape))}" for s in features.stages}
    labels = list(shapes)
    scales = {"channel": t("feature_maps.scale_channel"), "shared": t("feature_maps.scale_shared")}
    stage = st.segmented_control(t("feature_maps.stage"), labels, default=labels[0], key="fm_stage", required=True,
                                 format_func=shapes.get,
                                 help=t("feature_maps.stage_help"))
    left, right = st.columns(2)
    k = left.slider(t("feature_maps.channels_to_show"), 1, MAX_TOP_K, 16, key="fm_top_k")
    scale = right.radio(t("feature_maps.colour_scale"), ["channel", "shared"], horizontal=True, key="fm_scale",
                        format_func=scales.get,
                        help=t("feature_maps.scale_help"))
    return FeatureMapSettings(stage=stage or labels[0], top_k=k, scale=scale)


def stage_ui(features: FeatureMaps, settings: FeatureMapSettings) -> list[int]:
    """The chosen stage's heading and its most active channels; returns those channels."""
    stage = features.stage(settings.stage)
    channels = top_channels(stage.activations, settings.top_k)
    height, width, depth = stage.shape
    st.subheader(t("feature_maps.stage_title", stage=stage_name(settings.stage), height=height, width=width,
                   depth=depth))
    st.caption(t("feature_maps.stage_caption", count=len(channels), depth=depth, layer=stage.layer))
    channel_grid_ui(features, channels, settings)
    return channels


def channel_grid_ui(features: FeatureMaps, channels, settings: FeatureMapSettings) -> None:
    """The chosen channels of one stage as a grid of small heatmaps."""
    view = render_stage(features.stage(settings.stage), channels, settings.scale, min_size=TILE_PX)
    st.image(list(view.images), width=TILE_PX,
             caption=[t("feature_maps.tile", channel=c, mean=s) for c, s in zip(view.channels, view.strengths)])


def large_channel_ui(features: FeatureMaps, pixels, channels, settings: FeatureMapSettings, digest: str) -> None:
    """One channel shown large, optionally painted over the photo as the network sees it."""
    left, right = st.columns([1, 2])
    names = {c: t("feature_maps.channel_n", channel=c) for c in channels}
    channel = left.selectbox(t("feature_maps.one_channel"), channels, format_func=names.get,
                             key=f"fm_channel_{features.backbone}_{digest}_{settings.stage}")
    show_over = left.toggle(t("feature_maps.overlay"), key="fm_overlay")
    chosen = FeatureMapSettings(settings.stage, settings.top_k, settings.scale, channel, show_over)
    values = channel_map(features.stage(chosen.stage), channels, chosen.channel, chosen.scale)
    if chosen.overlay:
        picture = overlay(center_crop_resize(pixels, LARGE_PX, 1.0), values, alpha=0.8, cmap="viridis")
        caption = t("feature_maps.large_over", stage=stage_name(chosen.stage), channel=chosen.channel)
    else:
        picture = upscale_nearest(colorize(values), upscale_factor(values.shape[0], LARGE_PX))
        caption = t("feature_maps.large", stage=stage_name(chosen.stage), channel=chosen.channel)
    right.image(picture, width=LARGE_PX, caption=caption)


def gradcam_ui(backbone, features: FeatureMaps, pixels, digest: str) -> None:
    """Grad-CAM for the chosen class, the top-5 classes beside it to pick another."""
    lang = current_language()
    probs = softmax(features.logits)
    left, right = st.columns([1, 1])
    with right:
        pick = st.radio(t("feature_maps.gradcam_which"), [p.index for p in top_k(probs, 5)],
                        key=f"fm_gc_top_{backbone.name}_{digest}",
                        format_func=lambda i: f"{class_name(i, lang)} · {probs[i]:.1%}")
        other = any_class_ui(f"fm_gc_any_{backbone.name}_{digest}", lang)
    index = int(other if other is not None else pick)
    with st.spinner(t("feature_maps.gradcam_computing")):
        result = photo_gradcam(backbone.name, digest, index, backbone, pixels)
    left.image(gradcam_overlay(pixels, result.heatmap), width=LARGE_PX,
               caption=t("feature_maps.gradcam_caption", name=class_name(index, lang), prob=probs[index]))
    right.caption(t("feature_maps.gradcam_how", layer=result.layer))


def any_class_ui(key: str, lang: str) -> int | None:
    """Any of the 1000 ImageNet classes, searched by typing in Chinese or English."""
    query = st.text_input(t("feature_maps.gradcam_search"), key=f"{key}_query",
                          placeholder=t("feature_maps.gradcam_search_hint"))
    options = search_classes(query, lang)[:50] if query.strip() else range(NUM_CLASSES)
    return st.selectbox(t("feature_maps.gradcam_any"), options, index=None, key=key,
                        placeholder=t("feature_maps.gradcam_any_hint"),
                        format_func=lambda i: numbered_class(i, lang))


def compare_ui(backbone, pixels, features: FeatureMaps, settings: FeatureMapSettings, channels) -> None:
    """A second photo beside the first, at the same stage and the same channels."""
    st.caption(t("feature_maps.compare_caption"))
    others = photo_input_ui("fm_compare", multiple=False, default_sample="Coffee cup (scikit-image, CC0)")
    if not others:
        st.info(t("feature_maps.compare_add"))
        return
    other = others[0]
    other_pixels = backbone.prepare(other.image)
    other_features = photo_features(backbone.name, other.digest, backbone, other_pixels)
    for column, feats, seen, name in zip(st.columns(2), (features, other_features), (pixels, other_pixels),
                                         (t("feature_maps.first_photo"), other.name)):
        with column:
            st.image(seen, width=TILE_PX * 2, caption=t("feature_maps.as_seen_short", name=name))
            channel_grid_ui(feats, channels, settings)
