"""Grad-CAM: exact maps on a hand-wired model, and where the real network looks for a cat."""

import keras
import numpy as np
import pytest
from PIL import Image

from core.data.images import load_image_file
from core.explain.gradcam import GradCamExplainer, explainer, grad_cam, gradcam_heatmap, gradcam_overlay, heat_fraction
from core.models.backbones import Backbone, BackboneSpec
from core.models.imagenet import CAT_CLASSES
from core.models.predictions import softmax


def make_red_detector(size: int = 8) -> keras.Model:
    """conv = red channel (1x1 kernel), class 0 score = mean red, class 1 score = -mean red."""
    inputs = keras.Input((size, size, 3), name="pixels")
    conv = keras.layers.Conv2D(1, 1, use_bias=False, name="conv",
                               kernel_initializer=keras.initializers.Constant([[[[1.0], [0.0], [0.0]]]]))(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(conv)
    scores = keras.layers.Dense(2, use_bias=False, name="scores",
                                kernel_initializer=keras.initializers.Constant([[1.0, -1.0]]))(pooled)
    return keras.Model(inputs, scores, name="red_detector")


def _red_pattern(size: int = 8) -> np.ndarray:
    """Red rising left to right (0, 10, ..., 70) on the left half, nothing on the right; green noise everywhere."""
    pixels = np.zeros((size, size, 3), np.float32)
    pixels[:, : size // 2, 0] = np.arange(size // 2) * 10 + 40
    pixels[..., 1] = np.random.default_rng(0).integers(0, 256, (size, size))
    return pixels


def test_grad_cam_of_the_red_class_is_the_red_channel_scaled_to_one():
    pixels = _red_pattern()
    result = grad_cam(make_red_detector(), pixels, class_index=0, layer_name="conv")
    assert result.heatmap.shape == (8, 8) and result.heatmap.dtype == np.float32
    np.testing.assert_allclose(result.heatmap, pixels[..., 0] / 70.0, atol=1e-6)
    assert result.class_index == 0 and result.layer == "conv"
    np.testing.assert_allclose(result.scores, [pixels[..., 0].mean(), -pixels[..., 0].mean()], rtol=1e-6)


def test_grad_cam_of_a_class_the_layer_only_lowers_is_all_zero():
    heatmap = gradcam_heatmap(make_red_detector(), _red_pattern(), class_index=1, layer_name="conv")
    np.testing.assert_array_equal(heatmap, np.zeros((8, 8)))


def test_without_a_class_grad_cam_explains_the_top_score():
    assert grad_cam(make_red_detector(), _red_pattern(), layer_name="conv").class_index == 0


def test_an_explainer_is_reusable_and_a_backbone_keeps_its_own():
    model = make_red_detector(32)
    reusable = GradCamExplainer(model, "conv")
    assert explainer(reusable) is reusable
    pixels = _red_pattern(32)
    np.testing.assert_allclose(reusable.explain(pixels, 0).heatmap, grad_cam(model, pixels, 0, "conv").heatmap)
    spec = BackboneSpec(name="red", display_name="Red", input_size=32, family="keras_applications",
                        weights_source="none", stages=(("stem", "conv"),), embedding_layer="avg_pool",
                        gradcam_layer="conv")
    backbone = Backbone(spec, model)
    assert explainer(backbone) is explainer(backbone)
    np.testing.assert_allclose(grad_cam(backbone, pixels, 0).heatmap, reusable.explain(pixels, 0).heatmap)


def test_grad_cam_refuses_bad_requests_with_clear_messages():
    model = make_red_detector()
    with pytest.raises(ValueError, match="class_index must be from 0 to 1"):
        grad_cam(model, _red_pattern(), class_index=2, layer_name="conv")
    with pytest.raises(ValueError, match="needs layer_name"):
        grad_cam(model, _red_pattern())
    with pytest.raises(ValueError, match="convolutional layer"):
        grad_cam(model, _red_pattern(), layer_name="avg_pool")
    with pytest.raises(TypeError, match="expected a Backbone"):
        grad_cam("model", _red_pattern())


def test_heat_fraction_counts_heat_inside_the_mask_and_no_heat_leaves_the_photo():
    heat = np.array([[1.0, 3.0], [0.0, 0.0]])
    assert heat_fraction(heat, np.array([[True, False], [False, False]])) == 0.25
    assert heat_fraction(np.zeros((2, 2)), np.ones((2, 2), bool)) == 0.0
    photo = np.full((2, 2, 3), 50, np.uint8)
    np.testing.assert_array_equal(gradcam_overlay(photo, np.zeros((2, 2))), photo)


@pytest.mark.real_backbone
@pytest.mark.parametrize("cat_side", ["left", "right"])
def test_real_network_looks_at_the_cat_half_of_a_composite(lite0, shared_data, cat_side):
    size = lite0.input_size
    cat = lite0.prepare(load_image_file(shared_data / "singles" / "cat_bengal_fullbody.jpg"))
    half = np.asarray(Image.fromarray(cat).resize((size // 2, size), Image.Resampling.BICUBIC))
    composite = np.full((size, size, 3), 200, np.uint8)  # plain light grey background on the other half
    cat_half = np.zeros((size, size), bool)
    cat_half[:, : size // 2] = True
    if cat_side == "right":
        cat_half = cat_half[:, ::-1]
    composite[cat_half] = half.reshape(-1, 3)
    probs = softmax(lite0.logits(composite[None])[0])
    cat_class = max(CAT_CLASSES, key=lambda i: probs[i])
    result = grad_cam(lite0, composite, cat_class)
    assert result.heatmap.shape == (size, size)
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() == pytest.approx(1.0, abs=0.02)
    assert heat_fraction(result.heatmap, cat_half) > 0.75
