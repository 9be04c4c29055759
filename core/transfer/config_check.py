"""What a ``.keras`` model's ``config.json`` asks for, worked out from the JSON alone: no layer is ever built.

Every tensor's shape is inferred layer by layer from the configs (Functional graphs, Sequential stacks and
nested models), with caps on the number of layers, how deeply models nest, every tensor's size and the
time spent. A layer whose output cannot be worked out from its config is refused, so a few-KB file cannot
make the server build thousands of layers or allocate gigabytes during the check or the first prediction.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from core.transfer.layer_shapes import ShapeError, layer_output, layer_params

NESTED = ("Functional", "Model", "Sequential")


class ConfigCheckError(ValueError):
    """The config was refused; the message says why in one line."""


@dataclass(frozen=True)
class ConfigCaps:
    """Bounds on a model config, all checked before Keras sees it."""

    max_side: int = 1024  # pixels of each input's side
    max_layers: int = 500  # every layer of every nested model; the largest backbone, ResNet50, has 178
    max_depth: int = 4  # models inside models
    max_json_depth: int = 64
    max_elements: int = 32_000_000  # one tensor of one photo: 128 MB in float32
    max_seconds: float = 10.0

    def __post_init__(self):
        sizes = (self.max_side, self.max_layers, self.max_depth, self.max_json_depth, self.max_elements)
        if min(sizes) < 1 or self.max_seconds <= 0:
            raise ValueError(f"config caps must be positive: {self}")


@dataclass(frozen=True)
class ConfigSummary:
    """What the check found: per-photo input and output shapes, parameters, layers, the largest tensor."""

    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]
    params: int
    layers: int
    largest: int


def check_config(config: dict, caps: ConfigCaps = ConfigCaps()) -> ConfigSummary:
    """Infers every tensor's shape in a saved model's config, within ``caps``.

    Raises:
        ConfigCheckError: too deep, too many layers, a tensor too large, a layer that cannot be bounded, too slow.
    """
    json_depth(config, caps.max_json_depth)
    layers = count_layers(config)
    if layers > caps.max_layers:
        raise ConfigCheckError(f"the model has {layers:,} layers; at most {caps.max_layers:,} are allowed")
    walk = _Walk(caps, time.monotonic() + caps.max_seconds)
    if not isinstance(config, dict):
        raise ConfigCheckError("the model's config is not a model")
    inputs = walk.declared_inputs(config)
    bad = [side for shape in inputs for side in shape[:-1] if side > caps.max_side]
    if bad:
        raise ConfigCheckError(f"the model's input is {bad[0]} pixels a side; "
                               f"at most {caps.max_side} are allowed (and the size must be fixed)")
    outputs = walk.layer(config, inputs, depth=0)
    return ConfigSummary(tuple(inputs), tuple(outputs), walk.params, layers, walk.largest)


def count_layers(config) -> int:
    """Layers in a model config, nested models' layers included (walked without recursion)."""
    count, stack = 0, [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("layers"), list):
                count += len(value["layers"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


def json_depth(node, limit: int) -> None:
    """Refuses JSON nested deeper than ``limit`` (walked without recursion)."""
    stack = [(node, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise ConfigCheckError(f"the model's config is nested more than {limit} levels deep")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)


class _Walk:
    """One pass over a config: counts layers and parameters, tracks the largest tensor and the time."""

    def __init__(self, caps: ConfigCaps, deadline: float):
        self.caps, self.deadline = caps, deadline
        self.count = self.params = self.largest = 0

    def declared_inputs(self, config: dict) -> list[tuple[int, ...]]:
        """The input shapes a top-level model declares (its InputLayers, or a Sequential's first layer)."""
        inner = _dict(config.get("config"))
        layers = inner.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ConfigCheckError("the model's config has no layers")
        if config.get("class_name") == "Sequential":
            return [_input_shape(layers[0])]
        by_name = {_dict(layer).get("name"): layer for layer in layers}
        return [_input_shape(by_name.get(ref[0])) for ref in _refs(inner.get("input_layers"))]

    def layer(self, layer: dict, inputs: list[tuple[int, ...]], depth: int) -> list[tuple[int, ...]]:
        """Output shapes of one layer (or nested model) called on ``inputs``."""
        self._tick()
        kind = _dict(layer).get("class_name")
        config = _dict(_dict(layer).get("config"))
        if kind in NESTED:
            if depth >= self.caps.max_depth:
                raise ConfigCheckError(f"the model nests models more than {self.caps.max_depth} deep")
            return self._sequential(config, inputs, depth + 1) if kind == "Sequential" else \
                self._functional(config, inputs, depth + 1)
        try:
            shapes = layer_output(str(kind), config, inputs)
            self.params += layer_params(str(kind), config, inputs)
        except ShapeError as exc:
            raise ConfigCheckError(str(exc)) from None
        for shape in shapes:
            self._size(shape, kind)
        return shapes

    def _sequential(self, config: dict, inputs: list, depth: int) -> list[tuple[int, ...]]:
        shapes = inputs
        for layer in _list(config.get("layers")):
            if _dict(layer).get("class_name") == "InputLayer":
                continue
            shapes = self.layer(layer, shapes, depth)
        return shapes

    def _functional(self, config: dict, inputs: list, depth: int) -> list[tuple[int, ...]]:
        """Runs a Functional graph's nodes in dependency order, as Keras rebuilds it, on shapes only."""
        layers = [_dict(layer) for layer in _list(config.get("layers"))]
        known: dict[tuple, tuple[int, ...]] = {}
        input_refs = _refs(config.get("input_layers"))
        if len(input_refs) != len(inputs):
            raise ConfigCheckError("a model inside the model is called with the wrong number of inputs")
        for ref, shape in zip(input_refs, inputs):
            known[(ref[0], 0, 0)] = shape
        pending = {i: list(enumerate(_list(layer.get("inbound_nodes")))) for i, layer in enumerate(layers)}
        nested = {i for i, layer in enumerate(layers) if layer.get("class_name") in NESTED}
        for i in nested:  # a nested model's node 0 is its own graph, on the inputs it declares
            for k, shape in enumerate(self.layer(layers[i], self.declared_inputs(layers[i]), depth)):
                known[(layers[i].get("name"), 0, k)] = shape
        while any(pending.values()):
            progressed = False
            for i, layer in enumerate(layers):
                while pending[i] and _ready(pending[i][0][1], known):
                    index, node = pending[i].pop(0)
                    outputs = self.layer(layer, [known[ref] for ref in _node_refs(node)], depth)
                    for k, shape in enumerate(outputs):
                        known[(layer.get("name"), index + (i in nested), k)] = shape
                    progressed = True
            if not progressed:
                raise ConfigCheckError("the model's layers are not connected in an order that can be checked")
        return [_known(known, ref) for ref in _refs(config.get("output_layers"))]

    def _tick(self) -> None:
        self.count += 1
        if self.count > 4 * self.caps.max_layers:  # layer calls: shared layers and nested models' own graphs
            raise ConfigCheckError(f"the model calls its layers more than {4 * self.caps.max_layers:,} times")
        if time.monotonic() > self.deadline:
            raise ConfigCheckError(f"checking the model took more than {self.caps.max_seconds:g} s")

    def _size(self, shape: tuple[int, ...], kind) -> None:
        elements = math.prod(shape)
        if elements > self.caps.max_elements:
            raise ConfigCheckError(f"a {kind} layer of the model makes {elements:,} numbers per photo; at most "
                                   f"{self.caps.max_elements:,} are allowed")
        self.largest = max(self.largest, elements)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _refs(value) -> list[tuple]:
    """``[name, node, tensor]`` or a list of them, as tuples."""
    items = _list(value)
    if len(items) == 3 and isinstance(items[0], str):
        items = [items]
    refs = [tuple(item) for item in items if isinstance(item, list) and len(item) == 3]
    if len(refs) != len(items) or not refs:
        raise ConfigCheckError("the model's inputs or outputs are not named in a way that can be checked")
    return refs


def _node_refs(node) -> list[tuple]:
    """The tensors a layer call takes, in order (``keras_history`` of every ``__keras_tensor__`` in it)."""
    found, stack = [], [node]
    while stack:
        value = stack.pop(0)
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = _dict(value.get("config")).get("keras_history")
            if not isinstance(history, list) or len(history) != 3:
                raise ConfigCheckError("a layer's input is not named in a way that can be checked")
            found.append(tuple(history))
        elif isinstance(value, dict):
            stack[:0] = [value.get("args"), value.get("kwargs")] if "args" in value else list(value.values())
        elif isinstance(value, list):
            stack[:0] = value
    return found


def _ready(node, known: dict) -> bool:
    return all(ref in known for ref in _node_refs(node))


def _known(known: dict, ref: tuple) -> tuple[int, ...]:
    if ref not in known:
        raise ConfigCheckError("the model's output is not connected to its input")
    return known[ref]


def _input_shape(layer) -> tuple[int, ...]:
    """A declared input's per-photo shape; every size must be a whole number."""
    config = _dict(_dict(layer).get("config"))
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if _dict(layer).get("class_name") != "InputLayer" or not isinstance(shape, list) or len(shape) < 2:
        raise ConfigCheckError("the model does not declare the size of its input")
    sizes = tuple(shape[1:])
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ConfigCheckError(f"the model's input size {list(sizes)} is not fixed")
    return sizes
