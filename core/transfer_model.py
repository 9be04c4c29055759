"""The transfer model: frozen backbone embedding, a small classifier head, and its class names.

A trained model is one Keras model from 0-255 pixels to class probabilities,
so it can be saved as a single ``.keras`` file and used anywhere.
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="transfer_lab")
class ClassLabels(layers.Layer):
    """Identity layer that carries the class names in the saved model's config."""

    def __init__(self, classes=(), **kwargs):
        super().__init__(**kwargs)
        self.classes = [str(c) for c in classes]

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "classes": list(self.classes)}


def build_head(embedding_dim: int, num_classes: int, hidden_units: int = 0, dropout: float = 0.0,
               seed: int = 0) -> keras.Model:
    """Builds the classifier head that is trained on embeddings.

    Args:
        embedding_dim: size of the backbone's pooled features.
        num_classes: number of output classes (at least 2).
        hidden_units: size of an optional hidden ReLU layer; 0 for none.
        dropout: dropout rate before the output layer, in [0, 1).
        seed: initialiser seed, for reproducible runs.

    Returns:
        A model from ``(embedding_dim,)`` features to softmax probabilities.
    """
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if hidden_units < 0:
        raise ValueError(f"hidden_units must be 0 or more, got {hidden_units}")
    inputs = keras.Input((embedding_dim,), name="embedding")
    x = inputs
    if hidden_units:
        x = layers.Dense(hidden_units, activation="relu", name="head_hidden",
                         kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="head_output",
                           kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(x)
    return keras.Model(inputs, outputs, name="head")


def assemble(embedding_model: keras.Model, head: keras.Model, classes: list[str]) -> keras.Model:
    """Joins a backbone's embedding model and a trained head into one model.

    The embedding model is copied, weights included, so the learner's model never adds a node to a
    backbone that other sessions share: a call on the shared graph would keep this head alive for the
    life of the process and change what later surgery on the shared model finds.

    Args:
        embedding_model: pixels to pooled features (``Backbone.embedding_model()``); it is not changed.
        head: model from ``build_head``.
        classes: class names, in the head's output order.

    Returns:
        ``pixels -> probabilities`` with the class names in a ``ClassLabels`` layer.
    """
    if len(classes) != head.output.shape[-1]:
        raise ValueError(f"{len(classes)} class names for a head with {head.output.shape[-1]} outputs")
    inputs = keras.Input(embedding_model.input.shape[1:], name="pixels")
    probs = head(private_copy(embedding_model)(inputs))
    outputs = ClassLabels(classes, name="class_labels")(probs)
    return keras.Model(inputs, outputs, name="transfer_lab_classifier")


def private_copy(model: keras.Model) -> keras.Model:
    """A new model of the same structure and weights that shares no layer with ``model``."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def class_names(model: keras.Model) -> list[str]:
    """The class names stored in an assembled model.

    Args:
        model: a model from ``assemble`` (or loaded from its ``.keras`` file).

    Returns:
        The names, in output order.

    Raises:
        ValueError: the model has no ``ClassLabels`` layer.
    """
    for layer in model.layers:
        if isinstance(layer, ClassLabels):
            return list(layer.classes)
    raise ValueError("this model does not carry Transfer Lab class names")
