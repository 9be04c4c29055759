"""Output shapes and parameter counts of standard Keras layers, from their saved config alone.

Shapes are per photo (no batch axis), channels last. A layer not listed here, or a config whose output
cannot be worked out, raises ``ShapeError``: a model Transfer Lab cannot bound is refused, never built.
"""

from __future__ import annotations

import math

Shape = tuple[int, ...]

SAME_SHAPE = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "BatchNormalization", "LayerNormalization",
    "UnitNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Rescaling", "Normalization", "Identity", "CaffePreprocess", "ClassLabels",
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "ActivityRegularization",
})
MERGE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
CODE = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})
PYTHON_CODE = ("this model contains Python code (a Lambda layer or similar); Transfer Lab only loads models in "
               "Keras safe mode, so it was refused")


class ShapeError(ValueError):
    """A layer's output cannot be worked out from its config; the message names the layer's kind."""


def layer_output(kind: str, config: dict, inputs: list[Shape]) -> list[Shape]:
    """The output shapes of one call of a layer of class ``kind`` on ``inputs``."""
    if kind in CODE:
        raise ShapeError(PYTHON_CODE)
    if config.get("data_format", "channels_last") not in ("channels_last", None):
        raise ShapeError(f"the model's {kind} layer is channels-first; Transfer Lab checks channels-last models")
    if kind in MERGE:
        return [_broadcast(kind, inputs)]
    if kind == "Concatenate":
        return [_concatenate(config, inputs)]
    rule = _RULES.get(kind)
    if rule is None and kind not in SAME_SHAPE:
        raise ShapeError(f"the model has a layer Transfer Lab cannot check ({kind}); only standard Keras layers "
                         "are loaded")
    shape = _one(kind, inputs)
    return [shape if rule is None else rule(config, shape)]


def layer_params(kind: str, config: dict, inputs: list[Shape]) -> int:
    """Weights a layer of class ``kind`` declares for ``inputs`` (0 for layers without any)."""
    if not inputs or not inputs[0]:
        return 0
    channels, bias = inputs[0][-1], bool(config.get("use_bias", True))
    kernel = math.prod(_ints(config.get("kernel_size", 1), len(inputs[0]) - 1 or 1, kind))
    if kind in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose"):
        filters = _positive(config.get("filters"), kind)
        return kernel * channels * filters // _positive(config.get("groups", 1) or 1, kind) + filters * bias
    if kind == "Dense":
        units = _positive(config.get("units"), kind)
        return channels * units + units * bias
    multiplier = _positive(config.get("depth_multiplier", 1), kind)
    if kind == "DepthwiseConv2D":
        return kernel * channels * multiplier + channels * multiplier * bias
    if kind == "SeparableConv2D":
        filters = _positive(config.get("filters"), kind)
        return kernel * channels * multiplier + channels * multiplier * filters + filters * bias
    return {"BatchNormalization": 4 * channels, "LayerNormalization": 2 * channels,
            "Normalization": 2 * channels + 1, "PReLU": math.prod(inputs[0])}.get(kind, 0)


def _one(kind: str, inputs: list[Shape]) -> Shape:
    if len(inputs) != 1:
        raise ShapeError(f"the model's {kind} layer takes {len(inputs)} inputs; it takes one")
    return inputs[0]


def _positive(value, kind: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ShapeError(f"the model's {kind} layer has a size that is not a positive whole number ({value!r})")
    return value


def _ints(value, count: int, kind: str) -> tuple[int, ...]:
    """A size given as one int or ``count`` ints (kernel sizes, strides, pool sizes)."""
    values = (value,) * count if isinstance(value, int) else tuple(value) if isinstance(value, list) else ()
    if len(values) != count:
        raise ShapeError(f"the model's {kind} layer has sizes for {len(values)} axes; expected {count}")
    return tuple(_positive(v, kind) for v in values)


def _spatial(config: dict, shape: Shape, kind: str, window_key: str, default_strides=None) -> tuple[int, ...]:
    """Spatial sizes after a sliding window (convolution or pooling), as Keras computes them."""
    spatial = shape[:-1]
    if not spatial:
        raise ShapeError(f"the model's {kind} layer gets an input without spatial axes")
    window = _ints(config.get(window_key), len(spatial), kind)
    strides = _ints(config.get("strides") or default_strides or window, len(spatial), kind)
    dilation = _ints(config.get("dilation_rate", 1), len(spatial), kind)
    padding = config.get("padding", "valid")
    if padding in ("same", "causal"):
        return tuple(-(-n // s) for n, s in zip(spatial, strides))
    if padding != "valid":
        raise ShapeError(f"the model's {kind} layer has padding {padding!r}")
    sizes = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(spatial, window, strides, dilation))
    if min(sizes) < 1:
        raise ShapeError(f"the model's {kind} layer's window is larger than its input")
    return sizes


def _conv(config: dict, shape: Shape) -> Shape:
    return _spatial(config, shape, "convolution", "kernel_size", default_strides=1) + (
        _positive(config.get("filters"), "convolution"),)


def _depthwise(config: dict, shape: Shape) -> Shape:
    return _spatial(config, shape, "DepthwiseConv2D", "kernel_size", default_strides=1) + (
        shape[-1] * _positive(config.get("depth_multiplier", 1), "DepthwiseConv2D"),)


def _transpose(config: dict, shape: Shape) -> Shape:
    if config.get("output_padding") is not None:
        raise ShapeError("the model's transposed convolution sets output_padding")
    spatial = shape[:-1]
    kernel = _ints(config.get("kernel_size"), len(spatial), "Conv2DTranspose")
    strides = _ints(config.get("strides", 1), len(spatial), "Conv2DTranspose")
    grow = (lambda n, k, s: n * s) if config.get("padding") == "same" else (lambda n, k, s: n * s + max(k - s, 0))
    return tuple(grow(n, k, s) for n, k, s in zip(spatial, kernel, strides)) + (
        _positive(config.get("filters"), "Conv2DTranspose"),)


def _pool(config: dict, shape: Shape) -> Shape:
    return _spatial(config, shape, "pooling", "pool_size") + (shape[-1],)


def _global_pool(config: dict, shape: Shape) -> Shape:
    return (1,) * (len(shape) - 1) + (shape[-1],) if config.get("keepdims") else (shape[-1],)


def _pad_pairs(value, count: int, kind: str) -> list[tuple[int, int]]:
    """Padding or cropping as (before, after) per spatial axis, from an int, a list of ints, or of pairs."""
    if isinstance(value, int):
        value = [value] * count
    if not isinstance(value, list) or len(value) != count:
        raise ShapeError(f"the model's {kind} layer has an unreadable size")
    pairs = [tuple(v) if isinstance(v, list) else (v, v) for v in value]
    if any(len(p) != 2 or not all(isinstance(n, int) and n >= 0 for n in p) for p in pairs):
        raise ShapeError(f"the model's {kind} layer has an unreadable size")
    return pairs


def _zero_padding(config: dict, shape: Shape) -> Shape:
    pairs = _pad_pairs(config.get("padding", 1), len(shape) - 1, "ZeroPadding")
    return tuple(n + a + b for n, (a, b) in zip(shape[:-1], pairs)) + (shape[-1],)


def _cropping(config: dict, shape: Shape) -> Shape:
    pairs = _pad_pairs(config.get("cropping", 0), len(shape) - 1, "Cropping")
    sizes = tuple(n - a - b for n, (a, b) in zip(shape[:-1], pairs))
    if min(sizes, default=1) < 1:
        raise ShapeError("the model's Cropping layer crops more than its input")
    return sizes + (shape[-1],)


def _upsampling(config: dict, shape: Shape) -> Shape:
    size = _ints(config.get("size", 2), len(shape) - 1, "UpSampling")
    return tuple(n * k for n, k in zip(shape[:-1], size)) + (shape[-1],)


def _resize(config: dict, shape: Shape) -> Shape:
    return (_positive(config.get("height"), "Resizing"), _positive(config.get("width"), "Resizing"), shape[-1])


def _reshape(config: dict, shape: Shape) -> Shape:
    target = config.get("target_shape")
    if not isinstance(target, list) or not all(isinstance(v, int) and (v > 0 or v == -1) for v in target) \
            or target.count(-1) > 1:
        raise ShapeError("the model's Reshape layer has an unreadable target shape")
    known = math.prod(v for v in target if v > 0)
    total = math.prod(shape)
    if -1 in target:
        target = [total // known if v == -1 else v for v in target]
    if math.prod(target) != total:
        raise ShapeError("the model's Reshape layer does not keep the number of values")
    return tuple(target)


def _permute(config: dict, shape: Shape) -> Shape:
    dims = config.get("dims")
    if not isinstance(dims, list) or sorted(dims) != list(range(1, len(shape) + 1)):
        raise ShapeError("the model's Permute layer has unreadable axes")
    return tuple(shape[d - 1] for d in dims)


def _broadcast(kind: str, inputs: list[Shape]) -> Shape:
    if len(inputs) < 2 or len({len(s) for s in inputs}) != 1:
        raise ShapeError(f"the model's {kind} layer merges inputs of different ranks")
    result = []
    for sizes in zip(*inputs):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            raise ShapeError(f"the model's {kind} layer merges inputs of different sizes")
        result.append(max(sizes))
    return tuple(result)


def _concatenate(config: dict, inputs: list[Shape]) -> Shape:
    if len(inputs) < 2 or len({len(s) for s in inputs}) != 1:
        raise ShapeError("the model's Concatenate layer joins inputs of different ranks")
    axis = config.get("axis", -1)
    if not isinstance(axis, int) or not -len(inputs[0]) - 1 <= axis <= len(inputs[0]) or axis == 0:
        raise ShapeError("the model's Concatenate layer joins along an axis it does not have")
    axis = axis - 1 if axis > 0 else axis + len(inputs[0])  # per-photo shapes have no batch axis
    shape = list(inputs[0])
    shape[axis] = sum(s[axis] for s in inputs)
    return tuple(shape)


_RULES = {
    "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv, "SeparableConv2D": _conv, "SeparableConv1D": _conv,
    "DepthwiseConv2D": _depthwise, "Conv2DTranspose": _transpose, "Conv1DTranspose": _transpose,
    "Dense": lambda config, shape: shape[:-1] + (_positive(config.get("units"), "Dense"),),
    "MaxPooling1D": _pool, "MaxPooling2D": _pool, "MaxPooling3D": _pool,
    "AveragePooling1D": _pool, "AveragePooling2D": _pool, "AveragePooling3D": _pool,
    "GlobalAveragePooling1D": _global_pool, "GlobalAveragePooling2D": _global_pool,
    "GlobalAveragePooling3D": _global_pool, "GlobalMaxPooling1D": _global_pool, "GlobalMaxPooling2D": _global_pool,
    "GlobalMaxPooling3D": _global_pool,
    "ZeroPadding1D": _zero_padding, "ZeroPadding2D": _zero_padding, "ZeroPadding3D": _zero_padding,
    "Cropping1D": _cropping, "Cropping2D": _cropping, "Cropping3D": _cropping,
    "UpSampling1D": _upsampling, "UpSampling2D": _upsampling, "UpSampling3D": _upsampling,
    "Resizing": _resize, "CenterCrop": _resize,
    "Flatten": lambda config, shape: (math.prod(shape),),
    "Reshape": _reshape, "Permute": _permute,
}
