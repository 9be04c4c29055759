"""EfficientNet-Lite0/1/2 as Keras 3 functional models, and their weight import.

The architecture mirrors the reference TensorFlow implementation: ReLU6, no
squeeze-excite, stem and head fixed at 32 and 1280 channels, BatchNorm epsilon
1e-3 and TensorFlow "same" padding (Keras ``padding="same"`` pads the extra
pixel bottom/right on stride 2, as the reference does).
"""

from __future__ import annotations

import math
import string

import keras
import numpy as np
from keras import layers

# (repeats, kernel, stride, expand ratio, input filters, output filters)
BASE_BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# name: (width coefficient, depth coefficient, resolution, dropout)
VARIANTS = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
}
BN_EPSILON = 1e-3


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Scales a channel count by the width coefficient, rounded as the reference does."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def block_plan(variant: str) -> list[tuple[int, int, int, int, int]]:
    """Lists each stage's (repeats, kernel, stride, expand, in, out) for a variant."""
    width, depth, _, _ = VARIANTS[variant]
    plan = []
    for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(BASE_BLOCKS):
        fixed = i in (0, len(BASE_BLOCKS) - 1)  # lite keeps the first and last stage's depth
        plan.append((
            repeats if fixed else int(math.ceil(depth * repeats)),
            kernel, stride, expand,
            32 if i == 0 else round_filters(cin, width),
            round_filters(cout, width),
        ))
    return plan


def _conv_bn(x, filters, kernel, stride, name, activation=True, depthwise=False):
    """Conv (or depthwise conv), BatchNorm and optional ReLU6."""
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_dwconv")(x)
        bn_name = f"{name}_bn"
    else:
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
        bn_name = f"{name}_bn"
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=bn_name)(x)
    return layers.ReLU(6.0, name=f"{name}_activation")(x) if activation else x


def _mbconv(x, kernel, stride, expand, cin, cout, name):
    """Mobile inverted bottleneck block without squeeze-excite."""
    inputs = x
    if expand != 1:
        x = _conv_bn(x, cin * expand, 1, 1, f"{name}_expand")
    x = _conv_bn(x, None, kernel, stride, f"{name}_depthwise", depthwise=True)
    x = _conv_bn(x, cout, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and cin == cout:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def build_efficientnet_lite(variant: str = "lite0", num_classes: int = 1000) -> keras.Model:
    """Builds an EfficientNet-Lite classifier that takes RGB pixels in 0-255.

    Args:
        variant: ``"lite0"``, ``"lite1"`` or ``"lite2"``.
        num_classes: size of the logits layer.

    Returns:
        A functional model from ``(size, size, 3)`` pixels to logits. Stage
        outputs are the layers named ``stem_activation``, ``stage{n}_out`` and
        ``top_activation``; the pooled embedding is ``avg_pool``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose from {sorted(VARIANTS)}")
    _, _, size, dropout = VARIANTS[variant]
    inputs = keras.Input((size, size, 3), name="pixels")
    x = layers.Rescaling(1 / 128.0, offset=-127 / 128.0, name="preprocess")(inputs)
    x = _conv_bn(x, 32, 3, 2, "stem")
    for stage, (repeats, kernel, stride, expand, cin, cout) in enumerate(block_plan(variant), start=1):
        for r in range(repeats):
            x = _mbconv(x, kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout,
                        f"block{stage}{string.ascii_lowercase[r]}")
        x = layers.Identity(name=f"stage{stage}_out")(x)
    x = _conv_bn(x, 1280, 1, 1, "top")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="top_dropout")(x)
    outputs = layers.Dense(num_classes, name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"efficientnet_{variant}")


def _torch_prefixes(variant: str):
    """Yields (keras layer prefix, torch module prefix, kind) in model order."""
    yield "stem", "_conv_stem", "conv"
    yield "stem", "_bn0", "bn"
    index = 0
    for stage, (repeats, _, _, expand, _, _) in enumerate(block_plan(variant), start=1):
        for r in range(repeats):
            name, torch_name = f"block{stage}{string.ascii_lowercase[r]}", f"_blocks.{index}"
            if expand != 1:
                yield f"{name}_expand", f"{torch_name}._expand_conv", "conv"
                yield f"{name}_expand", f"{torch_name}._bn0", "bn"
            yield f"{name}_depthwise", f"{torch_name}._depthwise_conv", "dwconv"
            yield f"{name}_depthwise", f"{torch_name}._bn1", "bn"
            yield f"{name}_project", f"{torch_name}._project_conv", "conv"
            yield f"{name}_project", f"{torch_name}._bn2", "bn"
            index += 1
    yield "top", "_conv_head", "conv"
    yield "top", "_bn1", "bn"


def _keras_weights(state: dict, torch_name: str, kind: str) -> tuple[str, list[np.ndarray]]:
    """Converts one torch module's tensors to a Keras layer suffix and weight list."""
    if kind == "conv":
        return "_conv", [state[f"{torch_name}.weight"].transpose(2, 3, 1, 0)]
    if kind == "dwconv":
        return "_dwconv", [state[f"{torch_name}.weight"].transpose(2, 3, 0, 1)]
    keys = ("weight", "bias", "running_mean", "running_var")
    return "_bn", [state[f"{torch_name}.{k}"] for k in keys]


def load_torch_state(model: keras.Model, state: dict, variant: str) -> None:
    """Copies a reference PyTorch state dict into a model from ``build_efficientnet_lite``.

    Args:
        model: the Keras model to fill.
        state: parameter name to array, as read by ``core.models.torch_checkpoint``.
        variant: the variant the model was built as.

    Raises:
        ValueError: a tensor is missing or its shape does not match the layer.
    """
    used = set()
    for prefix, torch_name, kind in _torch_prefixes(variant):
        suffix, weights = _keras_weights(state, torch_name, kind)
        _assign(model.get_layer(prefix + suffix), weights, torch_name)
        used.update(k for k in state if k.startswith(torch_name + "."))
    _assign(model.get_layer("predictions"), [state["_fc.weight"].T, state["_fc.bias"]], "_fc")
    used.update({"_fc.weight", "_fc.bias"})
    unused = [k for k in state if k not in used and not k.endswith("num_batches_tracked")]
    if unused:
        raise ValueError(f"checkpoint has tensors the model does not use: {unused[:5]}")


def _assign(layer, weights, torch_name):
    """Sets a layer's weights after checking every shape."""
    expected = [tuple(w.shape) for w in layer.get_weights()]
    got = [tuple(w.shape) for w in weights]
    if expected != got:
        raise ValueError(f"{torch_name} -> {layer.name}: shapes {got} do not match {expected}")
    layer.set_weights(weights)
