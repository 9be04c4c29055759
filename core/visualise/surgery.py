"""Model surgery for the ideal image: the scores to climb, the pre-softmax logits when a head has them."""

from __future__ import annotations

import keras
import tensorflow as tf


def logits_scorer(model: keras.Model):
    """Scores of a pixels-to-logits model: the logits and their softmax."""
    def score(pixels):
        logits = model(pixels, training=False)
        return logits, tf.nn.softmax(logits)

    return score, "logit"


def probabilities_scorer(model: keras.Model):
    """Scores of a pixels-to-probabilities model (a trained head).

    Uses the pre-softmax input of the final softmax Dense layer when the model is
    ``core.transfer.model.assemble``'s chain; otherwise the log-probability.

    Args:
        model: pixels to class probabilities.

    Returns:
        ``(score_fn, kind)`` where kind is ``"logit"`` or ``"log-probability"``.
    """
    logits_fn = _pre_softmax(model)
    if logits_fn is not None:
        def score(pixels):
            logits = logits_fn(pixels)
            return logits, tf.nn.softmax(logits)

        return score, "logit"

    def score_log(pixels):
        probs = model(pixels, training=False)
        return tf.math.log(tf.maximum(probs, 1e-12)), probs

    return score_log, "log-probability"


def _pre_softmax(model: keras.Model):
    """``pixels -> logits`` for a chain of layers ending in a softmax Dense (maybe nested), else None."""
    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    head_at = max((i for i, layer in enumerate(chain) if _ends_in_softmax_dense(layer)), default=None)
    if head_at is None or any(_uses_in(model, layer) != 1 for layer in chain):
        return None
    head, after = chain[head_at], chain[head_at + 1:]
    if any(type(layer).__name__ != "ClassLabels" for layer in after):
        return None  # something after the softmax changes the output: do not bypass it
    dense = head.layers[-1] if isinstance(head, keras.Model) else head
    features = keras.Model(head.inputs, dense.input) if isinstance(head, keras.Model) else None

    def logits(pixels):
        x = pixels
        for layer in chain[:head_at]:
            x = layer(x, training=False)
        if features is not None:
            x = features(x, training=False)
        return tf.matmul(x, dense.kernel) + dense.bias

    return logits


def _uses_in(model: keras.Model, layer) -> int:
    """How often ``model``'s own graph calls ``layer``; calls from other models' graphs do not count,
    so the answer does not depend on what was built from the same layers before."""
    own = model._nodes  # keys "<id(layer)>_ib-<index in layer._inbound_nodes>" of this graph's nodes
    return sum(f"{id(layer)}_ib-{i}" in own for i in range(len(layer._inbound_nodes)))


def _ends_in_softmax_dense(layer) -> bool:
    """True for a softmax Dense layer, or a model whose last layer is one."""
    last = layer.layers[-1] if isinstance(layer, keras.Model) and layer.layers else layer
    return (isinstance(last, keras.layers.Dense) and not isinstance(layer, keras.layers.InputLayer)
            and getattr(last.activation, "__name__", "") == "softmax")
