"""Stage features from one forward pass, top-K channel choice and the page's settings."""

import gc

import keras
import numpy as np
import pytest

from core.explain.feature_maps import (
    FeatureMapSettings,
    StageFeatures,
    channel_map,
    extract_features,
    render_stage,
    stage_model,
    stage_summary,
    top_channels,
)
from core.explain.gradcam import build_gradcam_model
from core.models.backbones import Backbone, BackboneSpec, build_model, get_spec, list_backbones

LITE_CHANNELS = (32, 16, 24, 40, 80, 112, 192, 320, 1280)
LITE2_CHANNELS = (32, 16, 24, 48, 88, 120, 208, 352, 1280)
EXPECTED_SHAPES = {
    "efficientnet_lite0": [(s, s, c) for s, c in zip((112, 112, 56, 28, 14, 14, 7, 7, 7), LITE_CHANNELS)],
    "efficientnet_lite1": [(s, s, c) for s, c in zip((120, 120, 60, 30, 15, 15, 8, 8, 8), LITE_CHANNELS)],
    "efficientnet_lite2": [(s, s, c) for s, c in zip((130, 130, 65, 33, 17, 17, 9, 9, 9), LITE2_CHANNELS)],
    "mobilenet_v2": [(112, 112, 32), (56, 56, 24), (28, 28, 32), (14, 14, 96), (7, 7, 320), (7, 7, 1280)],
    "resnet50": [(112, 112, 64), (56, 56, 256), (28, 28, 512), (14, 14, 1024), (7, 7, 2048)],
    "vgg16": [(224, 224, 64), (112, 112, 64), (56, 56, 128), (28, 28, 256), (14, 14, 512), (7, 7, 512)],
}


def make_fake_backbone() -> Backbone:
    """A 32-pixel two-stage conv net behind a real Backbone: fast, and every shape is known."""
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0, name="preprocess")(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.GlorotUniform(0))(x)
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv2",
                            kernel_initializer=keras.initializers.GlorotUniform(1))(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(3, name="predictions", kernel_initializer=keras.initializers.GlorotUniform(2))(x)
    spec = BackboneSpec(name="fake", display_name="Fake", input_size=32, family="keras_applications",
                        weights_source="none", stages=(("stem", "conv1"), ("head", "conv2")),
                        embedding_layer="avg_pool", gradcam_layer="conv2")
    return Backbone(spec, keras.Model(inputs, outputs, name="fake"))


@pytest.mark.parametrize("name", [spec.name for spec in list_backbones()])
def test_every_backbone_gives_every_stage_from_one_pass_with_the_expected_shape(name):
    backbone = Backbone(get_spec(name), build_model(name, weights=None))
    size = backbone.input_size
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3)).astype(np.uint8)
    features = extract_features(backbone, pixels)
    assert [s.shape for s in features.stages] == EXPECTED_SHAPES[name]
    assert [s.layer for s in features.stages] == [layer for _, layer in backbone.spec.stages]
    assert features.logits.shape == (1000,)
    np.testing.assert_allclose(features.logits, backbone.logits(pixels[None])[0], rtol=1e-4, atol=1e-4)
    assert len(build_gradcam_model(backbone.model, backbone.spec.gradcam_layer).outputs[0].shape) == 4
    del backbone, features
    gc.collect()


def test_stage_model_is_built_once_per_backbone_and_matches_the_layers():
    backbone = make_fake_backbone()
    model = stage_model(backbone)
    assert stage_model(backbone) is model
    assert len(model.outputs) == 3
    pixels = np.arange(32 * 32 * 3).reshape(32, 32, 3) % 256
    features = extract_features(backbone, pixels)
    conv1 = keras.Model(backbone.model.input, backbone.model.get_layer("conv1").output)
    np.testing.assert_allclose(features.stage("stem").activations, conv1(pixels[None].astype("float32"))[0],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features.logits, backbone.logits(pixels[None])[0], rtol=1e-5, atol=1e-6)
    assert stage_summary(features) == [
        {"stage": "stem", "layer": "conv1", "height": 16, "width": 16, "channels": 4},
        {"stage": "head", "layer": "conv2", "height": 8, "width": 8, "channels": 6},
    ]
    with pytest.raises(ValueError, match="no stage 'middle'"):
        features.stage("middle")


def test_top_channels_orders_by_mean_activation_and_breaks_ties_by_index():
    acts = np.zeros((2, 2, 5), np.float32)
    acts[..., 0] = 1.0
    acts[..., 1] = [[0, 0], [0, 8]]  # mean 2
    acts[..., 2] = -1.0
    acts[..., 3] = [[4, 0], [0, 0]]  # mean 1, ties with channel 0
    assert top_channels(acts, 5) == [1, 0, 3, 4, 2]
    assert top_channels(acts, 2) == [1, 0]
    assert top_channels(acts, 99) == [1, 0, 3, 4, 2]
    with pytest.raises(ValueError):
        top_channels(acts, 0)


def test_render_stage_and_channel_map_agree_with_the_chosen_scale():
    acts = np.zeros((2, 2, 3), np.float32)
    acts[..., 0] = [[0, 2], [2, 4]]
    acts[..., 1] = [[1, 1], [1, 2]]
    stage = StageFeatures("stem", "conv", acts)
    view = render_stage(stage, [0, 1], scale="shared", cmap="gray", min_size=0)
    assert view.channels == (0, 1) and view.strengths == (2.0, 1.25)
    np.testing.assert_array_equal(view.images[1][..., 0], [[64, 64], [64, 128]])  # (1 - 0) / 4 * 255 = 63.75
    np.testing.assert_array_equal(channel_map(stage, [0, 1], 1, "shared"), [[0.25, 0.25], [0.25, 0.5]])
    np.testing.assert_array_equal(channel_map(stage, [0, 1], 1, "channel"), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(channel_map(stage, [0], 2, "channel"), np.zeros((2, 2)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(stage=""), "choose a stage"),
    (dict(stage="stem", top_k=0), "number of channels"),
    (dict(stage="stem", top_k=65), "number of channels"),
    (dict(stage="stem", scale="global"), "colour scale"),
    (dict(stage="stem", channel=-1), "channel must be"),
])
def test_settings_refuse_bad_values_before_any_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FeatureMapSettings(**kwargs)


def test_default_settings_show_sixteen_channels_per_channel_scale():
    settings = FeatureMapSettings(stage="stem")
    assert (settings.top_k, settings.scale, settings.channel, settings.overlay) == (16, "channel", None, False)


def test_the_shape_charts_ticks_are_short_enough_to_stand_side_by_side():
    from ui.charts import shape_chart

    rows = [{"stage": label, "layer": label, "height": h, "width": h, "channels": c}
            for label, h, c in (("stem", 112, 32), ("stage 1", 112, 16), ("stage 7", 7, 320), ("head", 7, 1280))]
    names = {"stem": "起始层", "stage 1": "第 1 阶段", "stage 7": "第 7 阶段", "head": "顶层"}
    figure = shape_chart(rows, names)
    assert list(figure.layout.xaxis.ticktext) == ["起始层", "1", "7", "顶层"]
    assert list(figure.layout.xaxis.tickvals) == ["stem", "stage 1", "stage 7", "head"]
