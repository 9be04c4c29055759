"""Checks on an uploaded ``.keras`` file made from its config alone, before Keras builds a single array.

Keras allocates every weight when it rebuilds a model, before it reads the stored values, so a
few-KB file that declares a 40000x40000 input or a billion-unit layer would exhaust the server's
memory inside ``load_model``. These checks read ``config.json`` from the archive and refuse such a
file with one line naming the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

MAX_MODEL_BYTES = 200 * 1024 * 1024
MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_INPUT_SIDE = 1024
MAX_PARAMETERS = 60_000_000
MAX_ENTRIES = 50_000  # layers, dtype policies and initialisers together


class ModelConfigError(ValueError):
    """The file's config describes a model too large, or not one this app loads; the message says which."""


def read_config(path: str | Path) -> dict:
    """The model's ``config.json``, read with size limits; the file is not loaded."""
    path = Path(path)
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ModelConfigError(f"the file is {path.stat().st_size / 1e6:.0f} MB; the limit is "
                               f"{MAX_MODEL_BYTES / 1e6:.0f} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelConfigError("its config.json is too large for a model this app makes")
            return json.loads(archive.read(info))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
        raise ModelConfigError("this is not a readable .keras model file (no valid config.json inside)") from None


def layer_configs(config) -> list[dict]:
    """Every layer entry (a dict with ``class_name`` and ``config``), nested models included."""
    found, stack = [], [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("config"), dict):
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        if len(found) > MAX_ENTRIES:
            raise ModelConfigError("the model's config is far larger than any model this app makes")
    return found


def input_shapes(layers: list[dict]) -> list[list]:
    """The declared ``batch_shape`` of every input layer."""
    shapes = []
    for layer in layers:
        if layer["class_name"] == "InputLayer":
            config = layer["config"]
            shapes.append(config.get("batch_shape") or config.get("batch_input_shape") or [])
    return shapes


def check_input_sides(layers: list[dict]) -> None:
    """Every image input (height, width, channels) must have known sides of at most ``MAX_INPUT_SIDE`` px."""
    shapes = input_shapes(layers)
    if not shapes:
        raise ModelConfigError("the model declares no input shape")
    for shape in shapes:
        sides = list(shape[1:])
        if any(not isinstance(d, int) or d < 1 for d in sides):
            raise ModelConfigError(f"the model's input {shape} has sides of unknown size")
        if len(sides) == 3 and max(sides[:2]) > MAX_INPUT_SIDE:
            raise ModelConfigError(f"the model's input is {'x'.join(map(str, sides))}; the largest accepted "
                                   f"side is {MAX_INPUT_SIDE} px")


def _pair(value) -> int:
    values = value if isinstance(value, list | tuple) else [value]
    return math.prod(int(v) for v in values)


def layer_parameters(layer: dict) -> int:
    """Weights a layer will allocate, from its config and the input shape it was built with."""
    kind, config = layer["class_name"], layer["config"]
    shape = (layer.get("build_config") or {}).get("input_shape")
    if kind == "Embedding":
        return int(config["input_dim"]) * int(config["output_dim"])
    sized = {"Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization",
             "LayerNormalization", "Conv2DTranspose", "EinsumDense", "MultiHeadAttention"}
    if kind not in sized:
        return 0
    if not shape or not isinstance(shape[-1], int):
        raise ModelConfigError(f"layer {config.get('name', kind)!r} has no recorded input shape")
    channels = int(shape[-1])
    if kind == "Dense":
        return (channels + 1) * int(config["units"])
    if kind in ("BatchNormalization", "LayerNormalization"):
        return 4 * channels
    if kind == "DepthwiseConv2D":
        return channels * _pair(config["kernel_size"]) * int(config.get("depth_multiplier", 1)) + channels
    if kind == "SeparableConv2D":
        return channels * _pair(config["kernel_size"]) + channels * int(config["filters"])
    if kind.startswith("Conv"):
        return channels * _pair(config["kernel_size"]) * int(config["filters"]) + int(config["filters"])
    raise ModelConfigError(f"layer {config.get('name', kind)!r} ({kind}) is not one Transfer Lab loads")


def check_model_file(path: str | Path) -> None:
    """Refuses a ``.keras`` file whose input or weights would be too large to build, before building it.

    Raises:
        ModelConfigError: the file size, input side, parameter count or layer count is over its limit.
    """
    layers = layer_configs(read_config(path))
    check_input_sides(layers)
    try:
        total = sum(layer_parameters(layer) for layer in layers)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelConfigError):
            raise
        raise ModelConfigError(f"the model's config is malformed ({exc})") from None
    if total > MAX_PARAMETERS:
        raise ModelConfigError(f"the model would have about {total / 1e6:,.0f} million weights; the limit is "
                               f"{MAX_PARAMETERS / 1e6:,.0f} million")
