"""The backbone registry, the EfficientNet-Lite port and evidence that the weights are right."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from core.data.images import load_image_file
from core.models import backbones, efficientnet_lite
from core.models.backbones import CaffePreprocess, availability, build_model, get_spec, list_backbones, load_backbone
from core.models.imagenet import CAT_CLASSES, DOG_CLASSES
from core.models.predictions import softmax

REFERENCE = Path(__file__).parent / "fixtures" / "reference_logits.npz"
LITE = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


def test_registry_lists_the_offline_and_keras_backbones():
    names = [s.name for s in list_backbones()]
    assert names[:3] == list(LITE)
    assert {"mobilenet_v2", "resnet50", "vgg16"} <= set(names)
    assert backbones.DEFAULT_BACKBONE == "efficientnet_lite0"
    assert [get_spec(n).input_size for n in LITE] == [224, 240, 260]
    with pytest.raises(ValueError, match="unknown backbone 'alexnet'"):
        get_spec("alexnet")


def test_keras_applications_need_their_cached_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ok, reason = availability("vgg16")
    assert not ok and "download-weights vgg16" in reason
    with pytest.raises(ValueError, match="VGG16 is not available"):
        build_model("vgg16")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / get_spec("vgg16").weights_file).write_bytes(b"placeholder")
    assert availability("vgg16") == (True, "in the Keras cache")


def test_lite_backbones_are_available_offline():
    assert all(availability(name)[0] for name in LITE)


@pytest.mark.parametrize("variant,widths", [
    ("lite0", [16, 24, 40, 80, 112, 192, 320]),
    ("lite2", [16, 24, 48, 88, 120, 208, 352]),
])
def test_block_plan_scales_width_and_depth(variant, widths):
    plan = efficientnet_lite.block_plan(variant)
    assert [stage[5] for stage in plan] == widths
    assert plan[0][0] == 1 and plan[-1][0] == 1  # first and last stage keep their depth


@pytest.mark.parametrize("name", [s.name for s in list_backbones()])
def test_every_stage_shrinks_and_deepens(name):
    spec = get_spec(name)
    model = build_model(name, weights=None)
    assert model.input.shape[1:] == (spec.input_size, spec.input_size, 3)
    assert model.output.shape[-1] == 1000
    shapes = [model.get_layer(layer).output.shape[1:] for _, layer in spec.stages]
    sides = [s[0] for s in shapes]
    assert sides == sorted(sides, reverse=True) and sides[-1] == -(-spec.input_size // 32)
    assert len(model.get_layer(spec.gradcam_layer).output.shape) == 4
    if spec.family == "efficientnet_lite":
        assert shapes[0][-1] == 32 and shapes[-1][-1] == 1280


def test_lite_preprocessing_maps_pixels_exactly():
    model = build_model("efficientnet_lite0", weights=None)
    out = np.asarray(model.get_layer("preprocess")(np.array([[0.0, 127.0, 255.0]], np.float32)))
    np.testing.assert_allclose(out, [[-127 / 128, 0.0, 1.0]], atol=1e-7)


def test_caffe_preprocessing_flips_to_bgr_and_subtracts_the_mean():
    out = np.asarray(CaffePreprocess()(np.array([[[[255.0, 0.0, 10.0]]]], np.float32)))
    np.testing.assert_allclose(out[0, 0, 0], [10 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-6)


@pytest.mark.real_backbone
@pytest.mark.parametrize("name", LITE)
def test_keras_port_reproduces_the_pytorch_reference(name, shared_data):
    reference = np.load(REFERENCE)
    variant = name.split("_")[1]
    backbone = load_backbone(name)
    photos = sorted((shared_data / "singles").glob("*.jpg"))
    assert len(photos) == 6
    pixels = np.stack([backbone.prepare(load_image_file(p)) for p in photos])
    for photo, px in zip(photos, pixels):
        assert hashlib.sha256(px.tobytes()).hexdigest() == str(reference[f"{variant}/{photo.name}/pixels_sha256"])
    logits = backbone.logits(pixels)
    expected = np.stack([reference[f"{variant}/{p.name}/logits"] for p in photos])
    assert np.abs(logits - expected).max() < 1e-3


@pytest.mark.real_backbone
def test_converted_weights_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CACHE", str(tmp_path))
    first = load_backbone("efficientnet_lite0")
    cached = list((tmp_path / "weights").glob("efficientnet_lite0-*.weights.h5"))
    assert len(cached) == 1
    again = load_backbone("efficientnet_lite0")
    x = np.full((1, 224, 224, 3), 100.0, np.float32)
    np.testing.assert_allclose(first.logits(x), again.logits(x), atol=1e-5)


@pytest.mark.real_backbone
def test_zero_shot_cat_and_dog_groups_on_pets_mini(lite0, shared_data):
    files = sorted((shared_data / "pets-mini").glob("*/*.jpg"))
    assert len(files) == 300
    pixels = np.stack([lite0.prepare(load_image_file(f)) for f in files])
    top1 = softmax(lite0.logits(pixels)).argmax(axis=1)
    right = [
        (int(i) in CAT_CLASSES) if f.parent.name == "cat" else (int(i) in DOG_CLASSES)
        for f, i in zip(files, top1)
    ]
    assert np.mean(right) >= 0.85, f"zero-shot cat/dog group accuracy {np.mean(right):.3f}"
