"""Model surgery: the pre-softmax logits are used only when they provably give the model's own output."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from core.transfer.surgery import pre_softmax_logits


def _photos(n=3, size=8):
    return np.random.default_rng(1).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


def _softmax_chain(size=8, classes=3):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(0))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(1),
                                 bias_initializer="ones")(x)
    return keras.Model(inputs, outputs)


def test_a_softmax_chain_gives_logits_whose_softmax_is_the_models_output():
    model = _softmax_chain()
    logits = pre_softmax_logits(model)
    assert logits is not None
    out = logits(_photos())
    np.testing.assert_allclose(tf.nn.softmax(out).numpy(), model(_photos()).numpy(), atol=1e-6)
    assert not np.allclose(out.numpy(), model(_photos()).numpy()), "logits, not probabilities"


def test_a_branching_graph_is_not_bypassed():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    y = keras.layers.Conv2D(4, 3, padding="same")(x)
    x = keras.layers.Add()([x, y])  # re-running the layers in order cannot reproduce this
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    assert pre_softmax_logits(model) is None


def test_a_layer_used_twice_is_not_bypassed():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(3, 3, padding="same", kernel_initializer=keras.initializers.GlorotUniform(2))
    x = conv(conv(inputs))  # shapes chain, so only the probe can tell
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(3))
    model = keras.Model(inputs, dense(x))
    assert pre_softmax_logits(model) is None


def test_a_model_without_a_softmax_head_has_no_pre_softmax_logits(tiny_model):
    assert pre_softmax_logits(tiny_model) is None
