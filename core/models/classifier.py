"""A pixels-in classifier: the model, its input size, the checks and its class probabilities.

``Attacker`` (core.attack) and ``Visualiser`` (core.visualise) both build on it, and so
does anything that only needs to classify prepared photos.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf  # Keras 3 runs on TensorFlow here; the forward pass is compiled with it.

from core.models.imagenet import class_name

OUTPUTS = ("logits", "probabilities")
LOG_FLOOR = 1e-30


class Classifier:
    """A read-only wrapper of a pixels-in model; several sessions can share one."""

    def __init__(self, model, outputs: str = "logits", labels=None, name: str = ""):
        """Wraps a pixels-in model.

        Args:
            model: Keras model from ``(n, size, size, 3)`` pixels in 0-255 to scores.
            outputs: ``"logits"`` (ImageNet backbones) or ``"probabilities"`` (a trained head).
            labels: class names in output order; ImageNet names when None.
            name: what to call the classifier in tables.
        """
        if outputs not in OUTPUTS:
            raise ValueError(f"outputs must be 'logits' or 'probabilities', got {outputs!r}")
        self.model = model
        self.outputs = outputs
        self.labels = list(labels) if labels is not None else None
        self.name = name or model.name
        self.input_size = int(model.input_shape[1])
        self.num_classes = int(model.output_shape[-1])
        if self.labels is not None and len(self.labels) != self.num_classes:
            raise ValueError(f"{len(self.labels)} labels for a model with {self.num_classes} outputs")
        pixels = tf.TensorSpec((None, self.input_size, self.input_size, 3), tf.float32)
        self._forward = tf.function(self._log_probs, input_signature=(pixels,))

    @classmethod
    def for_backbone(cls, backbone):
        """The classifier of a loaded ImageNet ``Backbone``."""
        return cls(backbone.model, "logits", None, backbone.spec.display_name)

    def label(self, index: int) -> str:
        """Name of one output class."""
        return self.labels[index] if self.labels is not None else class_name(index)

    def _log_probs(self, pixels):
        """Log-probabilities of every class."""
        scores = self.model(pixels, training=False)
        if self.outputs == "logits":
            return tf.nn.log_softmax(scores, axis=-1)
        return tf.math.log(tf.maximum(tf.cast(scores, tf.float32), LOG_FLOOR))

    def probabilities(self, pixels: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Class probabilities of ``(n, size, size, 3)`` pixels."""
        pixels = np.asarray(pixels, dtype=np.float32)
        probs = np.concatenate([np.exp(self._forward(tf.constant(pixels[i:i + batch_size])).numpy().astype(np.float64))
                                for i in range(0, len(pixels), batch_size)])
        return probs / probs.sum(axis=-1, keepdims=True)
