"""The scores the ideal image climbs: a network's logits, or a trained head's pre-softmax logits when it has them."""

from __future__ import annotations

import keras
import tensorflow as tf

from core.transfer.surgery import pre_softmax_logits


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
    logits_fn = pre_softmax_logits(model)
    if logits_fn is not None:
        def score(pixels):
            logits = logits_fn(pixels)
            return logits, tf.nn.softmax(logits)

        return score, "logit"

    def score_log(pixels):
        probs = model(pixels, training=False)
        return tf.math.log(tf.maximum(probs, 1e-12)), probs

    return score_log, "log-probability"
