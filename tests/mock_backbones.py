"""Tiny stand-ins for the pretrained backbones, with the real specs' layer names, so pages run end to end fast.

``use_mock_backbones(monkeypatch)`` makes ``core.work.shared.backbones`` build these instead of loading weights,
and clears the process-wide caches before and after, so no other test ever sees a mock (or a real one here).
"""

from __future__ import annotations

import keras

from core.models.backbones import Backbone, get_spec, list_backbones

SMALL = 2  # conv filters per stage: the smallest that still gives every stage a shape


def mock_model(name: str, seed: int = 0) -> keras.Model:
    """A few strided convolutions named like the spec's stages, average pool and 1000 logits."""
    spec = get_spec(name)
    inputs = keras.Input((spec.input_size, spec.input_size, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(inputs)
    x = keras.layers.AveragePooling2D(4, name="shrink")(x)  # keeps the mock fast at 224-260 px
    layers = [layer for _, layer in spec.stages]
    for i, layer in enumerate(layers):
        strides = 2 if i in (1, len(layers) // 2) else 1
        x = keras.layers.Conv2D(SMALL + i, 3, strides=strides, padding="same", activation="relu", name=layer,
                                kernel_initializer=keras.initializers.GlorotUniform(seed + i))(x)
    if spec.embedding_layer not in layers:
        x = keras.layers.GlobalAveragePooling2D(name=spec.embedding_layer)(x)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="mock_pool")(x)
    outputs = keras.layers.Dense(1000, name="mock_logits",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed + 99))(x)
    return keras.Model(inputs, outputs, name=f"mock_{name}")


def mock_backbone(name: str) -> Backbone:
    return Backbone(get_spec(name), mock_model(name))


def clear_shared_caches() -> None:
    from core.work import shared

    shared.clear_all()
    # Per-session caches can only be cleared from inside a script run, and every AppTest run is one session.
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import ui.feature_maps as f\nf.photo_features.clear()\nf.photo_gradcam.clear()").run()


def use_mock_backbones(monkeypatch) -> None:
    """Every backbone the app loads in this test is a mock; the shared caches start and end empty."""
    import ui.common
    import ui.ideal_cat
    from core.work import shared

    def available():  # two offline Lites, so the second opinion has another network to ask
        return {spec.name: (spec.name in ("efficientnet_lite0", "efficientnet_lite1"), "mock")
                for spec in list_backbones()}

    clear_shared_caches()
    monkeypatch.setattr(shared, "load_backbone", mock_backbone)
    monkeypatch.setattr(ui.common, "backbone_availability", available)
    monkeypatch.setattr(ui.ideal_cat, "backbone_availability", available)
