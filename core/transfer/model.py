"""The transfer model: frozen backbone embedding, a small classifier head, and its class names.

A trained model is one Keras model from 0-255 pixels to class probabilities, made of
standard Keras layers only, so its ``.keras`` file loads in any Python with Keras 3
(safe mode on). The class names travel beside it (``labels.txt``, see ``core.transfer.export``).
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="transfer_lab")
class ClassLabels(layers.Layer):
    """Identity layer that carried the class names in models saved by earlier versions.

    Kept only so those files still load; new models never contain it.
    """

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


def assemble(embedding_model: keras.Model, head: keras.Model, classes=None) -> keras.Model:
    """Joins a backbone's embedding model and a trained head into one model of standard layers.

    The result calls fresh wrappers of both parts (same layers, same weights), never the
    parts themselves, so the embedding model (often shared by every session) gains no
    graph node: it keeps no reference to this learner's model, and each assembled model
    looks the same to code that walks the graph (the ideal-cat objective).

    Args:
        embedding_model: pixels to pooled features; may be a shared, frozen one (it is only read).
        head: model from ``build_head``.
        classes: class names in the head's output order, checked against its width when given
            (they are not stored in the model; ``core.transfer.export`` writes them beside it).

    Returns:
        ``pixels (0-255) -> probabilities``.
    """
    if classes is not None and len(classes) != head.output.shape[-1]:
        raise ValueError(f"{len(classes)} class names for a head with {head.output.shape[-1]} outputs")
    embedding = keras.Model(embedding_model.input, embedding_model.output, name=embedding_model.name)
    top = keras.Model(head.input, head.output, name=head.name)
    inputs = keras.Input(embedding_model.input.shape[1:], name="pixels")
    return keras.Model(inputs, top(embedding(inputs)), name="transfer_lab_classifier")


def class_names(model: keras.Model) -> list[str]:
    """The class names stored inside a model saved by an earlier version (a ``ClassLabels`` layer).

    Args:
        model: a loaded model.

    Returns:
        The names, in output order.

    Raises:
        ValueError: the model has no ``ClassLabels`` layer (today's models keep them in ``labels.txt``).
    """
    for layer in model.layers:
        if isinstance(layer, ClassLabels):
            return list(layer.classes)
    raise ValueError("this model does not carry its class names; give its labels.txt (one name a line) with it")


def guess_backbone(model: keras.Model) -> str | None:
    """The registry name of the backbone inside a loaded classifier (by its nested model's name), or None."""
    from core.models.backbones import list_backbones

    names = " ".join(layer.name for layer in model.layers)
    size = int(model.input_shape[1])
    for spec in sorted(list_backbones(), key=lambda s: -len(s.name)):
        if spec.name in names and spec.input_size == size:
            return spec.name
    return None
