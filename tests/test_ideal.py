"""Class visualisation: image parameterisation, transforms, regularisers, the generator and the CLI."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from core.models.backbones import Backbone, get_spec
from core.transfer.model import assemble, build_head
from core.visualise import image_param, regularisers, transforms
from core.visualise.opinions import Opinion, second_opinion
from core.visualise.optimise import IdealConfig, Visualiser, class_weights
from core.visualise.scorers import probabilities_scorer
from tests.conftest import make_tiny_model

SEED = tf.constant([0, 1], tf.int32)


def _image(array) -> tf.Tensor:
    """A (h, w) or (h, w, c) numpy array as a (1, h, w, c) float32 tensor."""
    array = np.asarray(array, np.float32)
    return tf.constant(array[None, ..., None] if array.ndim == 2 else array[None])


# --- Fourier parameterisation -------------------------------------------------------------------------------


def test_zero_spectrum_is_flat_mid_grey():
    image = image_param.fourier_image(tf.zeros((2, 3, 8, 5)), 8).numpy()
    assert image.shape == (1, 8, 8, 3)
    np.testing.assert_array_equal(image, np.full((1, 8, 8, 3), 0.5, np.float32))
    assert np.all(image_param.to_uint8(image) == 128)


def test_spectrum_scale_is_one_over_frequency_with_capped_dc():
    scale = image_param.spectrum_scale(4, 4)
    assert scale.shape == (4, 3)
    # sqrt(h * w) = 4; DC capped at 1/4 cycles/pixel; (0, 1) is 1/4; (1, 1) is sqrt(2)/4.
    np.testing.assert_allclose(scale[0, 0], 16.0)
    np.testing.assert_allclose(scale[0, 1], 16.0)
    np.testing.assert_allclose(scale[1, 1], 16.0 / math.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(scale[0, 2], 8.0)


def test_a_dc_coefficient_gives_a_flat_decorrelated_colour():
    spectrum = np.zeros((2, 3, 4, 3), np.float32)
    spectrum[0, 0, 0, 0] = 4.0  # irfft2d: 4 * 16 / 16 pixels = 4; lucid's /4 gives 1 in the first colour axis
    image = image_param.fourier_image(tf.constant(spectrum), 4).numpy()
    matrix = image_param.COLOR_CORRELATION_SVD_SQRT
    expected = 1 / (1 + np.exp(-matrix[:, 0] / np.max(np.linalg.norm(matrix, axis=0))))
    np.testing.assert_allclose(image, np.broadcast_to(expected, (1, 4, 4, 3)), rtol=1e-5)


def test_init_spectrum_is_seeded_and_small():
    a, b = image_param.init_spectrum(8, seed=3), image_param.init_spectrum(8, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 3, 8, 5) and a.std() < 0.02
    assert not np.array_equal(a, image_param.init_spectrum(8, seed=4))


def test_pixel_image_clips_to_unit_range():
    np.testing.assert_array_equal(image_param.pixel_image(tf.constant([-1.0, 0.25, 2.0]), 3).numpy(), [0, 0.25, 1])


# --- transforms --------------------------------------------------------------------------------------------


def test_translate_moves_each_pixel_by_the_shift():
    image = np.zeros((5, 5), np.float32)
    image[1, 1] = 1.0
    moved = transforms.translate(_image(image), 2, 1).numpy()[0, ..., 0]
    assert moved[3, 2] == 1.0 and moved.sum() == 1.0


def _displacement(out: np.ndarray, start=(8, 8)) -> tuple[int, int]:
    y, x = np.argwhere(out[0, ..., 0] == 1.0)[0]
    return int(y - start[0]), int(x - start[1])


def test_jitter_of_k_moves_pixels_by_at_most_k_and_reaches_k():
    image = np.zeros((17, 17), np.float32)
    image[8, 8] = 1.0
    moves = [_displacement(transforms.jitter(3)(_image(image), tf.constant([s, 0])).numpy()) for s in range(60)]
    assert max(max(abs(dy), abs(dx)) for dy, dx in moves) == 3
    assert {dy for dy, _ in moves} == set(range(-3, 4))


def test_jitter_zero_is_identity_and_negative_is_refused():
    image = _image(np.arange(16).reshape(4, 4))
    np.testing.assert_array_equal(transforms.jitter(0)(image, SEED).numpy(), image.numpy())
    with pytest.raises(ValueError, match="jitter"):
        transforms.jitter(-1)


def test_affine_identity_and_quarter_turn_are_exact():
    image = np.arange(25, dtype=np.float32).reshape(5, 5)
    np.testing.assert_allclose(transforms.affine(_image(image), 1.0, 0.0).numpy()[0, ..., 0], image)
    turned = transforms.affine(_image(image), 1.0, math.pi / 2).numpy()[0, ..., 0]
    np.testing.assert_allclose(turned, np.rot90(image), atol=1e-4)


def test_zoom_two_enlarges_about_the_centre():
    image = np.zeros((5, 5), np.float32)
    image[2, 3] = 1.0  # one pixel right of the centre
    zoomed = transforms.affine(_image(image), 2.0, 0.0).numpy()[0, ..., 0]
    # output x samples input x at 2 + (x - 2) / 2: x = 4 lands exactly on the bright pixel
    assert zoomed[2, 4] == pytest.approx(1.0) and zoomed[2, 3] == pytest.approx(0.5)


def test_scale_and_rotate_with_no_range_are_identity():
    image = _image(np.arange(36).reshape(6, 6))
    np.testing.assert_allclose(transforms.scale((1.0, 1.0))(image, SEED).numpy(), image.numpy(), atol=1e-4)
    np.testing.assert_allclose(transforms.rotate(0.0)(image, SEED).numpy(), image.numpy(), atol=1e-4)
    with pytest.raises(ValueError):
        transforms.scale((1.2, 1.1))


def test_compose_is_identity_when_empty_and_reproducible_per_seed():
    image = _image(np.random.default_rng(0).random((12, 12, 3)))
    np.testing.assert_array_equal(transforms.compose([])(image, SEED).numpy(), image.numpy())
    chain = transforms.compose([transforms.jitter(3), transforms.rotate(20.0)])
    np.testing.assert_array_equal(chain(image, SEED).numpy(), chain(image, SEED).numpy())
    assert not np.array_equal(chain(image, SEED).numpy(), chain(image, tf.constant([5, 9])).numpy())


# --- regularisers ------------------------------------------------------------------------------------------


def test_regularisers_exact_values():
    stripes = _image([[0.0, 1.0], [0.0, 1.0]])  # every horizontal pair differs by 1, no vertical pair does
    assert float(regularisers.total_variation(stripes)) == pytest.approx(0.5)
    assert float(regularisers.l2(_image(np.full((3, 3), 0.5)))) == 0.0
    assert float(regularisers.l2(_image(np.ones((3, 3))))) == pytest.approx(0.25)
    assert float(regularisers.blur(_image(np.full((4, 4), 0.3)))) == pytest.approx(0.0)
    assert float(regularisers.blur(_image(np.eye(4)))) > 0
    assert list(regularisers.penalties(stripes)) == ["total_variation", "blur", "l2"]


# --- the generator -----------------------------------------------------------------------------------------


def _tiny_config(**overrides) -> IdealConfig:
    settings = dict(classes=(1,), steps=40, size=8, jitter=1, scale=0.1, rotate=5.0, record_every=10)
    return IdealConfig(**{**settings, **overrides})


@pytest.mark.parametrize("mode, rate", [("recognisable", 0.1), ("naive", 0.02)])
def test_generator_raises_the_target_logit(mode, rate):
    records = list(Visualiser(make_tiny_model(2, 8)).run(_tiny_config(mode=mode, learning_rate=rate, record_every=1)))
    assert [r.step for r in records] == list(range(1, 41))
    assert records[-1].logit > records[0].logit + 0.05
    assert records[-1].prob > records[0].prob
    assert records[-1].image.shape == (8, 8, 3) and records[-1].image.dtype == np.uint8
    assert set(records[-1].losses) == {"objective", "total_variation", "blur", "l2", "total"}


def test_step_cap_limits_the_run():
    records = list(Visualiser(make_tiny_model(2, 8)).run(_tiny_config(steps=256, step_cap=5, record_every=2)))
    assert [r.step for r in records] == [2, 4, 5]
    assert records[-1].total_steps == 5 and records[-1].done and not records[0].done


def test_same_seed_same_image_other_seed_other_image():
    vis = Visualiser(make_tiny_model(2, 8))
    first = list(vis.run(_tiny_config(steps=6)))[-1].image
    again = list(vis.run(_tiny_config(steps=6)))[-1].image
    other = list(vis.run(_tiny_config(steps=6, seed=1)))[-1].image
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)



def test_parallel_runs_on_one_visualiser_share_no_optimiser_state():
    vis = Visualiser(make_tiny_model(2, 8))
    alone = list(vis.run(_tiny_config(steps=6)))[-1].image
    with ThreadPoolExecutor(2) as pool:
        images = list(pool.map(lambda _: list(vis.run(_tiny_config(steps=6)))[-1].image, range(2)))
    for image in images:
        np.testing.assert_array_equal(image, alone)

def test_regularisers_are_charted_by_name_with_their_weights():
    record = list(Visualiser(make_tiny_model(2, 8)).run(_tiny_config(steps=2, total_variation=2.0, l2=1.0)))[-1]
    assert record.losses["total_variation"] > 0 and record.losses["l2"] >= 0 and record.losses["blur"] == 0
    assert record.losses["total"] == pytest.approx(sum(v for k, v in record.losses.items() if k != "total"),
                                                   rel=1e-5, abs=1e-5)


def test_image_size_can_differ_from_the_network_input():
    record = list(Visualiser(make_tiny_model(2, 8)).run(_tiny_config(steps=2, size=12)))[-1]
    assert record.image.shape == (12, 12, 3)


def test_mean_of_several_classes_weights():
    np.testing.assert_allclose(class_weights((0, 2), 4), [0.5, 0, 0.5, 0])


@pytest.mark.parametrize("bad, match", [
    (dict(classes=()), "at least one"), (dict(classes=(3, 3)), "repeat"), (dict(mode="dream"), "mode"),
    (dict(steps=0), "steps"), (dict(size=4), "size"), (dict(learning_rate=0.0), "learning rate"),
    (dict(blur=-1.0), "blur"), (dict(step_cap=-1), "step_cap"),
])
def test_config_refuses_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        _tiny_config(**bad)


def test_a_class_the_model_lacks_is_refused():
    with pytest.raises(ValueError, match="does not exist"):
        next(Visualiser(make_tiny_model(2, 8)).run(_tiny_config(classes=(5,))))


# --- a trained head as the objective -----------------------------------------------------------------------


def _trained_model() -> keras.Model:
    tiny = make_tiny_model(2, 8)
    embedding = keras.Model(tiny.input, tiny.get_layer("avg_pool").output)
    return assemble(embedding, build_head(4, 3, dropout=0.2), ["a", "b", "c"])


def test_a_trained_head_is_optimised_through_its_pre_softmax_logits():
    model = _trained_model()
    score, kind = probabilities_scorer(model)
    pixels = tf.random.stateless_uniform((1, 8, 8, 3), [1, 2]) * 255
    logits, probs = score(pixels)
    assert kind == "logit"
    np.testing.assert_allclose(probs.numpy(), model(pixels).numpy(), atol=1e-6)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), model(pixels).numpy(), atol=1e-6)
    records = list(Visualiser(model, outputs="probabilities").run(_tiny_config(classes=(2,), learning_rate=0.1)))
    assert records[-1].logit > records[0].logit


def test_a_model_without_a_reachable_softmax_dense_uses_log_probability():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, keras.layers.Softmax()(x))
    score, kind = probabilities_scorer(model)
    pixels = tf.ones((1, 8, 8, 3)) * 0.05
    assert kind == "log-probability"
    np.testing.assert_allclose(score(pixels)[0].numpy(), np.log(model(pixels).numpy()), atol=1e-5)


# --- second opinion ----------------------------------------------------------------------------------------


def test_second_opinion_reports_each_network_and_flags_the_maker():
    judges = [Backbone(get_spec(name), make_tiny_model(1000, get_spec(name).input_size, seed=i))
              for i, name in enumerate(["efficientnet_lite0", "efficientnet_lite1"])]
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    opinions = second_opinion(image, (281, 282), judges, made_on="efficientnet_lite0")
    assert [o.backbone for o in opinions] == ["EfficientNet-Lite0", "EfficientNet-Lite1"]
    assert [o.made_on for o in opinions] == [True, False]
    for opinion in opinions:
        assert 0 < opinion.target_prob < 1 and opinion.top_prob >= opinion.target_prob / 2
        assert opinion.top_label




def test_the_visualiser_and_the_attacker_share_one_classifier():
    from core.attack.attack import Attacker
    from core.models.classifier import Classifier

    model = make_tiny_model(2, 8)
    pixels = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3)).astype(np.float32)
    vis, attacker = Visualiser(model, name="tiny"), Attacker(model, name="tiny")
    assert isinstance(vis, Classifier) and isinstance(attacker, Classifier)
    assert (vis.input_size, vis.num_classes) == (attacker.input_size, attacker.num_classes) == (8, 2)
    np.testing.assert_allclose(vis.probabilities(pixels), attacker.probabilities(pixels), rtol=1e-6)
    np.testing.assert_allclose(vis.probabilities(pixels).sum(axis=-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="outputs must be"):
        Visualiser(model, outputs="scores")

def test_judging_with_a_trained_head_gives_the_targets_sum_and_every_class():
    from core.visualise.opinions import judge_model

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(inputs))))
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    prob, probs = judge_model(model, image, (0, 2))
    assert probs.shape == (3,) and math.isclose(float(probs.sum()), 1.0, rel_tol=1e-5)
    assert math.isclose(prob, float(probs[0] + probs[2]), rel_tol=1e-6)


def test_an_opinion_as_a_dict_carries_every_field():
    opinion = Opinion("EfficientNet-Lite0", 0.25, "tabby", 0.5, made_on=True)
    assert opinion.as_dict() == {"backbone": "EfficientNet-Lite0", "target_prob": 0.25, "top_label": "tabby",
                                 "top_prob": 0.5, "made_on": True}
    assert set(opinion.as_dict()) == {f.name for f in fields(Opinion)}

# --- command line -----------------------------------------------------------------------------------------


@pytest.mark.real_backbone
def test_cli_prints_the_json_contract_and_saves_the_png(tmp_path, capsys):
    from core.cli import main

    out = tmp_path / "cat.png"
    status = main(["ideal", "--class", "284", "--steps", "3", "--size", "64", "--seed", "1", "--out", str(out),
                   "--json"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(result) == {"classes", "prob", "steps", "seconds", "png"}
    assert result["classes"] == [284] and result["steps"] == 3 and result["png"] == str(out)
    assert 0 <= result["prob"] <= 1 and result["seconds"] > 0
    assert Image.open(out).size == (64, 64)


def test_cli_refuses_a_bad_class_list(capsys):
    from core.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["ideal", "--class", "284,cat", "--out", "x.png"])
    assert exit_info.value.code == 2
    assert "--class" in capsys.readouterr().err


def test_naive_mode_config_keeps_the_lessons_recipe():
    from core.visualise.optimise import mode_config

    naive = mode_config("naive", classes=(284,), total_variation=0.0)
    assert (naive.learning_rate, naive.total_variation) == (0.01, 1.0)
    assert mode_config("naive", classes=(284,), total_variation=3.0).total_variation == 3.0
    assert mode_config(classes=(284,)) == IdealConfig(classes=(284,))
