"""Grad-CAM: where in the photo a convolutional network looked to score one class.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization" (ICCV 2017), as in the keras-io example: weight
each channel of a late convolutional layer by the mean gradient of the class
score with respect to it, sum, keep the positive part, and scale to [0, 1].

Works with a loaded ``Backbone`` (its ``spec.gradcam_layer``, the gradient
model memoised on the backbone) or with any Keras model whose output is class
scores plus the name of a convolutional layer inside it (for example a
trained transfer-learning classifier).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from core.explain.heatmaps import overlay, resize_map


@dataclass(frozen=True, eq=False)
class GradCam:
    """One Grad-CAM explanation."""

    heatmap: np.ndarray  # (size, size) float32 in [0, 1], at the model's input resolution
    class_index: int
    scores: np.ndarray  # the model's output for the photo (logits for a backbone)
    layer: str


def build_gradcam_model(model: keras.Model, layer_name: str) -> keras.Model:
    """A model from the same input to (the conv layer's output, the class scores); weights shared."""
    conv = model.get_layer(layer_name).output
    if len(conv.shape) != 4:
        raise ValueError(f"Grad-CAM needs a convolutional layer with (h, w, c) output; {layer_name!r} has {conv.shape}")
    return keras.Model(model.inputs[0], [conv, model.output], name=f"{model.name}_gradcam")


class GradCamExplainer:
    """A model's Grad-CAM machinery, built once: the gradient model and its compiled step.

    Keep one per (model, layer) and reuse it; building it traces a TensorFlow
    graph (about a second) that later photos reuse.
    """

    def __init__(self, model: keras.Model, layer_name: str):
        self.layer = layer_name
        self.model = build_gradcam_model(model, layer_name)
        size = tuple(self.model.inputs[0].shape[1:])
        self._step = tf.function(self._conv_and_grads, reduce_retracing=True,
                                 input_signature=[tf.TensorSpec((1,) + size, tf.float32),
                                                  tf.TensorSpec((), tf.int32)])

    def _conv_and_grads(self, batch, class_index):
        """Conv activations, the gradient of the class score on them, the scores and the class used."""
        with tf.GradientTape() as tape:
            conv, scores = self.model(batch, training=False)
            index = tf.where(class_index < 0, tf.cast(tf.argmax(scores[0]), tf.int32), class_index)
            target = tf.gather(scores[0], index)
        return conv, tape.gradient(target, conv), scores, index

    def explain(self, pixels: np.ndarray, class_index: int | None = None) -> GradCam:
        """Grad-CAM of one class (the top one when None) for one photo (see ``grad_cam``)."""
        num_classes = int(self.model.outputs[1].shape[-1])
        if class_index is not None and not 0 <= int(class_index) < num_classes:
            raise ValueError(f"class_index must be from 0 to {num_classes - 1}, got {class_index}")
        batch = np.asarray(pixels, dtype=np.float32)[None]
        wanted = tf.constant(-1 if class_index is None else int(class_index), tf.int32)
        conv, grads, scores, index = self._step(tf.convert_to_tensor(batch), wanted)
        cam = _combine(np.asarray(conv[0]), np.asarray(grads[0]))
        heatmap = np.clip(resize_map(cam, *batch.shape[1:3]), 0.0, 1.0)
        return GradCam(heatmap, int(index), np.asarray(scores[0], dtype=np.float32), self.layer)


def explainer(source, layer_name: str | None = None) -> GradCamExplainer:
    """The explainer of a Backbone (memoised on it), of a plain Keras model (built now), or the explainer given."""
    if isinstance(source, GradCamExplainer):
        return source
    if hasattr(source, "view") and hasattr(source, "spec"):
        layer = layer_name or source.spec.gradcam_layer
        return source.view(f"gradcam:{layer}", lambda model: GradCamExplainer(model, layer))
    if not isinstance(source, keras.Model):
        raise TypeError(f"expected a Backbone, a keras.Model or a GradCamExplainer, got {type(source).__name__}")
    if not layer_name:
        raise ValueError("a plain Keras model needs layer_name, the convolutional layer to explain")
    return GradCamExplainer(source, layer_name)


def grad_cam(source, pixels: np.ndarray, class_index: int | None = None, layer_name: str | None = None) -> GradCam:
    """Computes the Grad-CAM heatmap of one class for one photo.

    Args:
        source: a loaded ``core.models.backbones.Backbone``; or a ``keras.Model`` from
            pixels to class scores (then ``layer_name`` is required; build a
            ``GradCamExplainer`` once instead when explaining many photos); or
            a ``GradCamExplainer``.
        pixels: ``(size, size, 3)`` prepared pixels, as the model takes them.
        class_index: the class to explain; None explains the top-scoring class.
        layer_name: convolutional layer to explain; defaults to the backbone's ``gradcam_layer``.

    Returns:
        A ``GradCam`` whose heatmap is in [0, 1] at the input's resolution (all
        zeros when nothing in the layer raises the class score).

    Raises:
        ValueError: class_index out of range, or a layer without (h, w, c) output.
    """
    return explainer(source, layer_name).explain(pixels, class_index)


def gradcam_heatmap(source, pixels: np.ndarray, class_index: int | None = None,
                    layer_name: str | None = None) -> np.ndarray:
    """Just the [0, 1] heatmap at input resolution (see ``grad_cam``)."""
    return grad_cam(source, pixels, class_index, layer_name).heatmap


def _combine(conv: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Channel maps weighted by their mean gradient, positive part, scaled so the maximum is 1."""
    weights = grads.astype(np.float64).mean(axis=(0, 1))
    cam = np.maximum(conv.astype(np.float64) @ weights, 0.0)
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).astype(np.float32)


def gradcam_overlay(pixels: np.ndarray, heatmap: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """The photo with the heatmap painted over it (red where the network looked)."""
    return overlay(np.asarray(pixels, dtype=np.uint8), heatmap, alpha=alpha, cmap="jet")


def heat_fraction(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heatmap's total mass that falls inside a boolean mask (0 when the map is empty)."""
    total = float(np.sum(heatmap))
    return float(np.sum(heatmap[mask])) / total if total > 0 else 0.0
