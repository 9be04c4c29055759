"""Feature maps: every stage's activations from one forward pass, and the most active channels.

A backbone's ``spec.stages`` names the layers worth showing (stem, each
stage's output, head). One multi-output model, built once per backbone with
``Backbone.view``, returns all of them plus the logits, so a photo costs a
single forward pass however many stages the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from core.explain.heatmaps import SCALES, channel_images, scale_maps

STAGES_VIEW = "stages"
MAX_TOP_K = 64


@dataclass(frozen=True, eq=False)
class StageFeatures:
    """One stage's activations for one photo."""

    label: str
    layer: str
    activations: np.ndarray  # (height, width, channels) float32

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.activations.shape)


@dataclass(frozen=True, eq=False)
class FeatureMaps:
    """Every stage of one photo, and the ImageNet logits of the same forward pass."""

    backbone: str
    stages: tuple[StageFeatures, ...]
    logits: np.ndarray  # (num_classes,)

    def stage(self, label: str) -> StageFeatures:
        """The stage with this label (ValueError if none)."""
        for stage in self.stages:
            if stage.label == label:
                return stage
        raise ValueError(f"no stage {label!r}; stages are {', '.join(s.label for s in self.stages)}")


def build_stage_model(model: keras.Model, layer_names) -> keras.Model:
    """A model from the same input to the named layers' outputs, followed by the model's own output.

    Args:
        model: a functional Keras model (weights are shared, not copied).
        layer_names: layers whose outputs to return, in order.

    Returns:
        A model with ``len(layer_names) + 1`` outputs.
    """
    outputs = [model.get_layer(name).output for name in layer_names]
    return keras.Model(model.inputs[0], outputs + [model.output], name=f"{model.name}_stages")


class StageExtractor:
    """The multi-output stage model and its compiled forward pass, built once per backbone."""

    def __init__(self, model: keras.Model, layer_names):
        self.model = build_stage_model(model, layer_names)
        size = tuple(self.model.inputs[0].shape[1:])
        # A traced graph runs the many small layers several times faster than eager calls.
        self._forward = tf.function(lambda batch: self.model(batch, training=False),
                                    input_signature=[tf.TensorSpec((None,) + size, tf.float32)])

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every stage's activations and the logits for a batch of prepared pixels."""
        return [np.asarray(out) for out in self._forward(tf.convert_to_tensor(batch, tf.float32))]


def stage_extractor(backbone) -> StageExtractor:
    """The backbone's stage extractor, built on first use and kept by the backbone (``Backbone.view``)."""
    layers = [layer for _, layer in backbone.spec.stages]
    return backbone.view(STAGES_VIEW, lambda model: StageExtractor(model, layers))


def stage_model(backbone) -> keras.Model:
    """The backbone's multi-output Keras model: every stage's output, then the logits."""
    return stage_extractor(backbone).model


def extract_features(backbone, pixels: np.ndarray) -> FeatureMaps:
    """Runs one photo through the backbone and keeps every stage's activations.

    Args:
        backbone: a loaded ``core.models.backbones.Backbone``.
        pixels: ``(size, size, 3)`` prepared pixels (``backbone.prepare``), 0-255.

    Returns:
        The photo's ``FeatureMaps``.
    """
    outputs = stage_extractor(backbone)(np.asarray(pixels, dtype=np.float32)[None])
    stages = tuple(
        StageFeatures(label, layer, out[0].astype(np.float32, copy=False))
        for (label, layer), out in zip(backbone.spec.stages, outputs[:-1])
    )
    return FeatureMaps(backbone.name, stages, outputs[-1][0].astype(np.float32, copy=False))


def channel_strength(activations: np.ndarray) -> np.ndarray:
    """Mean activation of each channel over the picture: how strongly it responds to this photo."""
    return np.asarray(activations, dtype=np.float64).mean(axis=(0, 1))


def top_channels(activations: np.ndarray, k: int = 16) -> list[int]:
    """The k channels with the highest mean activation, strongest first.

    Args:
        activations: ``(h, w, c)`` activations.
        k: how many; clipped to the number of channels.

    Returns:
        Channel indices; ties go to the lower index.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    order = np.argsort(-channel_strength(activations), kind="stable")
    return [int(i) for i in order[:k]]


def stage_summary(features: FeatureMaps) -> list[dict]:
    """Per stage: label, layer, height, width and channels (for tables and the shape chart)."""
    return [{"stage": s.label, "layer": s.layer, "height": s.shape[0], "width": s.shape[1], "channels": s.shape[2]}
            for s in features.stages]


@dataclass(frozen=True)
class FeatureMapSettings:
    """What the learner chose to look at: one stage, how many channels, and how to colour them."""

    stage: str
    top_k: int = 16
    scale: str = "channel"
    channel: int | None = None
    overlay: bool = False

    def __post_init__(self):
        if not self.stage:
            raise ValueError("choose a stage")
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ValueError(f"the number of channels must be from 1 to {MAX_TOP_K}, got {self.top_k}")
        if self.scale not in SCALES:
            raise ValueError(f"colour scale must be one of {SCALES}, got {self.scale!r}")
        if self.channel is not None and self.channel < 0:
            raise ValueError(f"channel must be 0 or more, got {self.channel}")


@dataclass(frozen=True, eq=False)
class StageView:
    """The pictures of one stage for one photo: its top channels, coloured."""

    stage: StageFeatures
    channels: tuple[int, ...]
    strengths: tuple[float, ...]
    images: tuple[np.ndarray, ...]  # one uint8 RGB picture per channel


def render_stage(stage: StageFeatures, channels, scale: str = "channel", cmap: str = "viridis",
                 min_size: int = 112) -> StageView:
    """Colours the chosen channels of one stage (see ``core.explain.heatmaps.channel_images``).

    Args:
        stage: one stage's activations.
        channels: channel indices, in display order (for example ``top_channels``).
        scale: ``"channel"`` or ``"shared"`` (shared by the chosen channels).
        cmap: colour map name.
        min_size: enlarge small maps (nearest neighbour) to at least this many pixels.

    Returns:
        A ``StageView``.
    """
    channels = tuple(int(c) for c in channels)
    strengths = channel_strength(stage.activations)
    images = channel_images(stage.activations, channels, scale, cmap, min_size)
    return StageView(stage, channels, tuple(float(strengths[c]) for c in channels), tuple(images))


def channel_map(stage: StageFeatures, channels, channel: int, scale: str = "channel") -> np.ndarray:
    """One channel scaled to [0, 1] exactly as in its stage's grid (shared scale spans ``channels``)."""
    channels = [int(c) for c in channels]
    if channel not in channels:
        channels = channels + [channel]
    return scale_maps(stage.activations[..., channels], scale)[..., channels.index(channel)]
