"""The adversarial attack: budget, 8-bit pixels, target probability, checks, sweep and the CLI."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace

import keras
import numpy as np
import pytest

from core.attack.attack import (
    AttackConfig,
    Attacker,
    _project,
    amplification_factor,
    amplify,
    attack,
    attack_batch,
    measure,
    norms,
    run_attack,
)
from core.attack.survival import SurvivalSettings, blur, jpeg, resize_round_trip, survival
from core.attack.sweep import epsilon_sweep
from core.attack.transferability import resize_to, transfer
from core.cli.attack import target_arg
from core.data.images import load_image_file
from tests.conftest import make_tiny_model

LEONBERGER = "singles/dog_closeup_leonberger.jpg"
SIAMESE = 284


@pytest.fixture
def tiny_attacker(tiny_model):
    return Attacker(tiny_model, "logits", ["dog", "cat"], name="tiny")


@pytest.fixture
def photo(rng):
    """An 8x8 photo that touches both ends of the range, so clipping to 0-255 matters."""
    image = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    image[0, :, :] = 0
    image[1, :, :] = 255
    return image


def _weak_class(attacker, image) -> int:
    return int(attacker.probabilities(image[None].astype(np.float32))[0].argmin())


@pytest.mark.parametrize("config", [
    AttackConfig(method="pgd", eps=3, steps=6, target=(1,)),
    AttackConfig(method="pgd", eps=1, steps=4, step_size=2, target=(0,), random_start=True, seed=3),
    AttackConfig(method="fgsm", eps=5, target=()),
    AttackConfig(method="pgd", eps=7, steps=5, target=(), random_start=True),
])
def test_every_step_stays_within_eps_and_in_8_bit_range(tiny_attacker, photo, config):
    records = list(attack(tiny_attacker, photo, config))
    assert len(records) == config.num_steps + 2
    for record in records:
        assert record.image.dtype == np.uint8 and record.image.shape == photo.shape
        assert np.abs(record.perturbation).max() <= config.eps
        assert record.linf == np.abs(record.perturbation).max() <= config.eps
        # image = clean + perturbation exactly, so no pixel wrapped around 0 or 255
        np.testing.assert_array_equal(photo.astype(np.int16) + record.perturbation, record.image.astype(np.int16))
    assert records[-1].final and not any(r.final for r in records[:-1])


def test_targeted_pgd_raises_the_target_probability(tiny_attacker, photo):
    target = _weak_class(tiny_attacker, photo)
    records = list(attack(tiny_attacker, photo, AttackConfig(eps=8, steps=5, target=(target,))))
    assert records[0].step == 0 and records[0].linf == 0
    assert records[-1].target_prob > records[0].target_prob
    assert records[1].target_prob > records[0].target_prob  # the very first step already climbs


def test_target_probability_is_measured_on_the_quantised_image(tiny_attacker, photo):
    target = _weak_class(tiny_attacker, photo)
    final = run_attack(tiny_attacker, photo, AttackConfig(eps=4, steps=3, target=(target,)))
    probs = tiny_attacker.probabilities(final.image[None].astype(np.float32))[0]
    assert final.target_prob == pytest.approx(probs[target], abs=1e-6)
    assert final.success == (probs.argmax() == target)


def test_untargeted_attack_lowers_the_original_class(tiny_attacker, photo):
    original = 1 - _weak_class(tiny_attacker, photo)
    records = list(attack(tiny_attacker, photo, AttackConfig(eps=6, steps=4, target=())))
    assert records[0].top[0].index == original
    assert records[-1].target_prob < records[0].target_prob


def test_the_final_record_is_the_best_step(tiny_attacker, photo):
    target = _weak_class(tiny_attacker, photo)
    records = list(attack(tiny_attacker, photo, AttackConfig(eps=10, steps=6, target=(target,))))
    steps = records[:-1]
    best = max(steps, key=lambda r: (r.success, r.target_prob))
    assert records[-1].step == best.step and records[-1].target_prob == best.target_prob


def test_batch_attack_matches_single_attacks(tiny_attacker, rng):
    images = rng.integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    config = AttackConfig(eps=5, steps=4, target=(1,))
    batch = attack_batch(tiny_attacker, images, config)
    for i, image in enumerate(images):
        single = run_attack(tiny_attacker, image, config)
        np.testing.assert_array_equal(batch["images"][i], single.image)
        assert batch["success"][i] == single.success
        assert batch["target_prob"][i] == pytest.approx(single.target_prob, abs=1e-6)


def test_a_group_target_counts_the_summed_probability(photo):
    attacker = Attacker(make_tiny_model(num_classes=4), "logits")
    probs = attacker.probabilities(photo[None].astype(np.float32))[0]
    first = list(attack(attacker, photo, AttackConfig(eps=1, steps=1, target=(0, 2))))[0]
    assert first.target_prob == pytest.approx(probs[0] + probs[2], abs=1e-6)
    assert first.success == (probs.argmax() in (0, 2))


def test_a_trained_head_with_probability_outputs_can_be_attacked(photo):
    base = make_tiny_model(num_classes=3)
    model = keras.Model(base.inputs, keras.layers.Softmax()(base.outputs[0]))
    attacker = Attacker(model, "probabilities", ["my dog", "my cat", "my hamster"])
    target = _weak_class(attacker, photo)
    records = list(attack(attacker, photo, AttackConfig(eps=10, steps=5, target=(target,))))
    assert records[-1].target_prob > records[0].target_prob
    assert {p.label for p in records[0].top} == {"my dog", "my cat", "my hamster"}


def test_bad_inputs_are_refused_with_clear_messages(tiny_attacker, photo):
    with pytest.raises(ValueError, match="8-bit"):
        list(attack(tiny_attacker, photo.astype(np.float32), AttackConfig(target=(1,))))
    with pytest.raises(ValueError, match="prepared to 8x8x3"):
        list(attack(tiny_attacker, np.zeros((9, 9, 3), np.uint8), AttackConfig(target=(1,))))
    with pytest.raises(ValueError, match="does not exist"):
        list(attack(tiny_attacker, photo, AttackConfig(target=(284,))))
    with pytest.raises(ValueError, match="labels"):
        Attacker(make_tiny_model(), "logits", ["just one"])


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "cw"}, "method"), ({"eps": 2.5}, "whole number"), ({"eps": 256}, "0 to 255"),
    ({"steps": 0}, "steps"), ({"step_size": -1}, "step_size"), ({"target": (3, 3)}, "distinct"),
])
def test_config_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttackConfig(**kwargs)


def test_step_size_is_eps_over_steps_unless_set_and_fgsm_takes_one_step():
    assert AttackConfig(eps=2, steps=10).alpha == 1
    assert AttackConfig(eps=8, steps=10).alpha == 2
    assert AttackConfig(eps=16, steps=10).alpha == 4
    assert AttackConfig(eps=8, steps=10, step_size=3).alpha == 3
    fgsm = AttackConfig(method="fgsm", eps=4, steps=10)
    assert (fgsm.alpha, fgsm.num_steps) == (4, 1)


def test_projection_clips_to_the_budget_and_the_pixel_range():
    clean = np.array([0.0, 1.0, 128.0, 254.0, 255.0], np.float32)
    moved = np.array([-3.0, 5.0, 126.0, 258.0, 250.0], np.float32)
    np.testing.assert_array_equal(_project(moved, clean, 2), [0.0, 3.0, 126.0, 255.0, 253.0])


def test_amplify_and_norms_exact_values():
    delta = np.array([[-2, 0, 1, 2]], np.int16)
    assert amplification_factor(2) == 63 and amplification_factor(0) == 127 and amplification_factor(200) == 1
    np.testing.assert_array_equal(amplify(delta, 63), [[2, 128, 191, 254]])
    assert norms(delta) == (2, 3.0)


def test_measure_reports_top1_target_and_norms(tiny_attacker, photo):
    adversarial = photo.copy()
    adversarial[4, 4, 0] = np.uint8(min(255, int(photo[4, 4, 0]) + 3))
    adversarial[5, 5, 1] = np.uint8(max(0, int(photo[5, 5, 1]) - 4))
    result = measure(tiny_attacker, photo, adversarial, (1,))
    probs = tiny_attacker.probabilities(adversarial[None].astype(np.float32))[0]
    assert result["target_prob"] == pytest.approx(probs[1], abs=1e-6)
    assert result["success"] == (probs.argmax() == 1)
    expected = np.abs(adversarial.astype(int) - photo.astype(int))
    assert result["linf"] == expected.max()
    assert result["l2"] == pytest.approx(np.sqrt((expected ** 2).sum()))
    assert result["before"][0].label in ("dog", "cat")


def test_everyday_changes_keep_shape_and_change_pixels(photo):
    for changed in (jpeg(photo, 50), resize_round_trip(photo, 0.5), blur(photo, 1.0)):
        assert changed.shape == photo.shape and changed.dtype == np.uint8
        assert not np.array_equal(changed, photo)
    with pytest.raises(ValueError, match="quality"):
        SurvivalSettings(jpeg_quality=0)
    with pytest.raises(ValueError, match="scale"):
        SurvivalSettings(resize_scale=1.0)
    with pytest.raises(ValueError, match="radius"):
        SurvivalSettings(blur_radius=0)


def test_survival_rows_start_with_the_saved_image(tiny_attacker, photo):
    final = run_attack(tiny_attacker, photo, AttackConfig(eps=6, steps=4, target=(1,)))
    rows = survival(tiny_attacker, final.image, clean_top=0, target=(1,))
    assert [r["check"] for r in rows] == ["none (as saved)", "JPEG re-compression", "small resize", "slight blur"]
    assert rows[0]["target_prob"] == pytest.approx(final.target_prob, abs=1e-6)
    assert rows[0]["survives"] == final.success
    assert all(r["survives"] == (r["top_index"] == 1) for r in rows)


def test_transfer_resizes_to_each_network_and_judges_the_target(tiny_attacker, photo):
    other = Attacker(make_tiny_model(size=12, seed=5), "logits", ["dog", "cat"], name="bigger")
    assert resize_to(photo, 12).shape == (12, 12, 3)
    rows = transfer([other], photo, photo, (1,))
    probs = other.probabilities(resize_to(photo, 12)[None].astype(np.float32))[0]
    assert rows[0]["network"] == "bigger"
    assert rows[0]["clean_index"] == probs.argmax() and rows[0]["clean_label"] == ["dog", "cat"][probs.argmax()]
    assert rows[0]["target_prob"] == pytest.approx(probs[1], abs=1e-6)
    assert rows[0]["survives"] == (probs.argmax() == 1)
    untargeted = transfer([other], photo, photo, ())
    assert untargeted[0]["survives"] is False  # the same image cannot change the top class


def test_epsilon_sweep_streams_progress_and_rates(tiny_attacker, rng):
    images = list(rng.integers(0, 256, (5, 8, 8, 3)).astype(np.uint8))
    config = AttackConfig(steps=3, target=(1,))
    points = list(epsilon_sweep(tiny_attacker, images, [0, 40], config, batch_size=2))
    assert [(p.eps, p.done) for p in points] == [(0, 2), (0, 4), (0, 5), (40, 2), (40, 4), (40, 5)]
    already = (tiny_attacker.probabilities(np.stack(images).astype(np.float32)).argmax(-1) == 1).sum()
    assert points[2].successes == already
    assert points[5].successes >= points[2].successes
    assert points[5].rate == points[5].successes / 5


def test_the_sweep_keeps_every_attack_setting_but_the_budget(tiny_attacker, rng, monkeypatch):
    import core.attack.sweep as sweep

    seen = []

    def fake_batch(attacker, images, config):
        seen.append(config)
        return {"success": np.zeros(len(images), bool)}

    monkeypatch.setattr(sweep, "attack_batch", fake_batch)
    values = {"method": "pgd", "eps": 3, "steps": 7, "step_size": 2, "target": (1,), "random_start": True, "seed": 9}
    assert set(values) == {f.name for f in fields(AttackConfig)}, "give the new AttackConfig field a test value"
    config = AttackConfig(**values)
    list(sweep.epsilon_sweep(tiny_attacker, list(rng.integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)), [5], config))
    assert seen and all(c == replace(config, eps=5) for c in seen)
    assert {f.name: getattr(seen[0], f.name) for f in fields(AttackConfig)} == {**values, "eps": 5}


def test_the_final_record_copies_every_field_of_the_best_step(tiny_attacker, photo):
    records = list(attack(tiny_attacker, photo, AttackConfig(eps=10, steps=4, target=(1,))))
    final, best = records[-1], next(r for r in records[:-1] if r.step == records[-1].step)
    for f in fields(final):
        mine, theirs = getattr(final, f.name), getattr(best, f.name)
        if isinstance(mine, np.ndarray):
            np.testing.assert_array_equal(mine, theirs)
        elif f.name not in ("final", "seconds"):
            assert mine == theirs, f.name
    assert final.final and final.seconds > 0


def test_cli_target_takes_class_ids_or_untargeted_and_refuses_the_rest():
    assert target_arg("284") == (284,)
    assert target_arg("281,282") == (281, 282)
    assert target_arg("untargeted") == ()
    for bad in ("cat", "1000", "3,3", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            target_arg(bad)


@pytest.mark.real_backbone
def test_lite0_targeted_pgd_eps2_turns_the_leonberger_into_a_siamese_cat(lite0, shared_data, tmp_path, capsys):
    from core.cli import main

    status = main(["attack", str(shared_data / LEONBERGER), "--target", str(SIAMESE), "--eps", "2", "--steps", "10",
                   "--out", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["before"]["label"] == "Leonberg"
    assert report["success"] is True and report["after"]["index"] == SIAMESE
    assert report["linf"] <= 2 and report["target_prob"] > 0.5
    clean = load_image_file(tmp_path / "clean.png")
    adversarial = load_image_file(tmp_path / "adversarial.png")
    np.testing.assert_array_equal(clean, lite0.prepare(load_image_file(shared_data / LEONBERGER)))
    assert np.abs(adversarial.astype(int) - clean.astype(int)).max() <= 2
    logits = lite0.logits(np.stack([clean, adversarial]))
    assert logits[0].argmax() != SIAMESE
    assert logits[1].argmax() == SIAMESE
    assert load_image_file(tmp_path / "perturbation.png").shape == clean.shape


@pytest.mark.real_backbone
def test_lite0_fgsm_record_stream_and_survival(lite0, shared_data):
    attacker = Attacker.for_backbone(lite0)
    clean = lite0.prepare(load_image_file(shared_data / LEONBERGER))
    records = list(attack(attacker, clean, AttackConfig(method="fgsm", eps=2, target=(SIAMESE,))))
    assert [r.step for r in records] == [0, 1, 1]
    assert records[1].linf == 2 and records[0].top[0].label == "Leonberg"
    rows = survival(attacker, records[-1].image, records[0].top[0].index, (SIAMESE,))
    assert len(rows) == 4


def test_cli_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    from core.cli import main

    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not a photo")
    assert main(["attack", str(not_an_image), "--target", "284", "--out", str(tmp_path / "out")]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["attack", str(not_an_image), "--target", "284", "--eps", "300", "--out", str(tmp_path)]) == 2
    assert "eps must be" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
