"""Model surgery on assembled classifiers, in one place beside ``assemble``: a flat copy for Grad-CAM and the
pre-softmax logits for the ideal image. Both share the model's weights and change nothing in it."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

PROBE_SEED = 0
PROBE_TOLERANCE = 1e-3  # in log-probability


def flat_classifier(model: keras.Model) -> tuple[keras.Model, str]:
    """The assembled model without nesting, and its last convolutional layer (for Grad-CAM).

    ``assemble`` nests the embedding model and the head; Grad-CAM needs the
    convolutional layers in the same graph as the class scores. The result
    shares the weights of ``model``.

    Args:
        model: an assembled (or loaded) Transfer Lab classifier.

    Returns:
        ``(pixels -> probabilities`` model, name of its last layer with a 4-D output).

    Raises:
        ValueError: the model is not made of an embedding model and a head.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 2:
        raise ValueError("expected a model assembled from an embedding model and a head")
    embedding, head = nested
    convs = [layer.name for layer in embedding.layers if len(getattr(layer, "output", None).shape or ()) == 4]
    if not convs:
        raise ValueError("the embedding model has no convolutional layer")
    return keras.Model(embedding.inputs[0], head(embedding.outputs[0]), name="flat_classifier"), convs[-1]


def pre_softmax_logits(model: keras.Model):
    """``pixels -> logits`` for a chain of layers ending in a softmax Dense (maybe nested), else None.

    The chain is re-run layer by layer up to the head's Dense, whose kernel and bias then give the logits. Rather
    than read Keras's private node records to prove the model is such a chain, the result is checked on a seeded
    probe: its softmax must equal the model's output, or the model is not bypassed.
    """
    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    head_at = max((i for i, layer in enumerate(chain) if _ends_in_softmax_dense(layer)), default=None)
    if head_at is None or any(type(layer).__name__ != "ClassLabels" for layer in chain[head_at + 1:]):
        return None  # no softmax head, or something after it changes the output: do not bypass it
    head = chain[head_at]
    dense = head.layers[-1] if isinstance(head, keras.Model) else head
    features = keras.Model(head.inputs, dense.input) if isinstance(head, keras.Model) else None

    def logits(pixels):
        x = pixels
        for layer in chain[:head_at]:
            x = layer(x, training=False)
        if features is not None:
            x = features(x, training=False)
        return tf.matmul(x, dense.kernel) + dense.bias

    return logits if _agrees_on_probe(model, logits) else None


def _agrees_on_probe(model: keras.Model, logits) -> bool:
    """True when softmax(logits) is the model's output on a seeded random photo."""
    shape = tuple(model.input_shape[1:])
    if any(side is None for side in shape):
        return False
    probe = np.random.default_rng(PROBE_SEED).uniform(0, 255, (1, *shape)).astype(np.float32)
    try:
        mine = tf.nn.softmax(logits(probe)).numpy()
    except (ValueError, TypeError, tf.errors.InvalidArgumentError):
        return False  # the layers do not chain: a branching graph
    theirs = np.asarray(model(probe, training=False))
    # Compared as log-probabilities: a saturated softmax hides a difference among its near-zero entries.
    return np.allclose(np.log(np.maximum(mine, 1e-30)), np.log(np.maximum(theirs, 1e-30)), atol=PROBE_TOLERANCE)


def _ends_in_softmax_dense(layer) -> bool:
    """True for a softmax Dense layer, or a model whose last layer is one."""
    last = layer.layers[-1] if isinstance(layer, keras.Model) and layer.layers else layer
    return (isinstance(last, keras.layers.Dense) and not isinstance(layer, keras.layers.InputLayer)
            and getattr(last.activation, "__name__", "") == "softmax")
