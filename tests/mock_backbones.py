"""The one way the tests fake a pretrained backbone: a tiny stand-in with the real spec's stage names.

``mock_backbone(name)`` is a few strided convolutions named like the spec's stages, an average pool under the
spec's embedding layer name and 1000 logits, under a checksum of its own (so its embeddings never share a cache
entry with the real network's). The ``fake_backbones`` fixture (tests/conftest.py) makes every load of the app and
of the command line build these, and clears the process-wide caches (``core.work.shared``) before and after, so no
other test ever sees a mock (or a real one here).
"""

from __future__ import annotations

from dataclasses import replace

import keras

from core.models.backbones import Backbone, BackboneSpec, get_spec, list_backbones

SMALL = 2  # conv filters per stage: the smallest that still gives every stage a shape
OFFLINE = ("efficientnet_lite0", "efficientnet_lite1")  # two, so a second opinion has another network to ask


def mock_spec(name: str, input_size: int | None = None) -> BackboneSpec:
    """The real spec under a mock checksum, optionally at a smaller input size (the attack tests use 32 px)."""
    spec = get_spec(name)
    return replace(spec, weights_sha256=f"mock-{name}", input_size=input_size or spec.input_size)


def mock_model(spec: BackboneSpec, seed: int = 0) -> keras.Model:
    """A few strided convolutions named like the spec's stages, average pool and 1000 logits."""
    inputs = keras.Input((spec.input_size, spec.input_size, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(inputs)
    x = keras.layers.AveragePooling2D(4, name="shrink")(x)  # keeps the mock fast at 224-260 px
    layers, pooled = [layer for _, layer in spec.stages], []
    for i, layer in enumerate(layers):
        strides = 2 if i in (1, len(layers) // 2) else 1
        x = keras.layers.Conv2D(SMALL + i, 3, strides=strides, padding="same", activation="relu", name=layer,
                                kernel_initializer=keras.initializers.GlorotUniform(seed + i))(x)
        pooled.append(keras.layers.GlobalAveragePooling2D(name=f"mock_pool_{i}")(x))
    if spec.embedding_layer not in layers:  # every stage's pooled features: random deep stages alone fade to ~0
        x = keras.layers.Concatenate(name=spec.embedding_layer)(pooled)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="mock_pool")(x)
    outputs = keras.layers.Dense(1000, name="mock_logits",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed + 99))(x)
    return keras.Model(inputs, outputs, name=f"mock_{spec.name}")


def mock_backbone(name: str = "efficientnet_lite0", input_size: int | None = None, seed: int = 0) -> Backbone:
    spec = mock_spec(name, input_size)
    return Backbone(spec, mock_model(spec, seed))


def mock_availability() -> dict:
    return {spec.name: (spec.name in OFFLINE, "mock") for spec in list_backbones()}


def clear_shared_caches() -> None:
    """Empties the process-wide caches, after Home's background warm-up (ui.light) has finished writing to them."""
    import threading

    import ui.light
    from core.work import shared

    for thread in threading.enumerate():
        if thread.name == "warm-feature-maps":
            thread.join(timeout=60)
    ui.light._warmed.clear()
    shared.clear_all()


def use_mock_backbones(monkeypatch) -> None:
    """Every backbone the app or the command line loads in this test is a mock; the caches start empty."""
    import ui.backbones
    import ui.ideal_cat
    from core.models import backbones
    from core.work import shared

    clear_shared_caches()
    for module in (backbones, shared):
        monkeypatch.setattr(module, "load_backbone", lambda name="efficientnet_lite0": mock_backbone(name))
    monkeypatch.setattr(ui.backbones, "backbone_availability", mock_availability)
    monkeypatch.setattr(ui.ideal_cat, "backbone_availability", mock_availability)
