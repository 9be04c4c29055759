"""Fine-tuning's precision and distribution: float16 copies trained on a CPU, and MirroredStrategy on two CPUs."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import core.transfer.finetune as finetune
from core.transfer.export import run_tflite, tflite_bytes
from core.transfer.finetune import FineTuneSettings, distribution_strategy, fine_tune, resolve_precision
from core.transfer.model import build_head
from tests.conftest import ROOT, make_tiny_model


def _tiny_embedding() -> keras.Model:
    model = make_tiny_model()
    return keras.Model(model.input, model.get_layer("avg_pool").output, name="tiny_embedding")


def _pixels(n=16):
    return np.random.default_rng(0).integers(0, 256, (n, 8, 8, 3)).astype(np.uint8)


def _all_layers(model: keras.Model) -> list:
    """Every layer, nested models' included."""
    return [inner for layer in model.layers
            for inner in ([layer, *_all_layers(layer)] if isinstance(layer, keras.Model) else [layer])]


@pytest.fixture
def compiled(monkeypatch) -> dict:
    """Records the model fine_tune compiles (the one it trains) and whether it asked for loss scaling."""
    seen, real = {}, finetune.compile_head

    def spy(model, settings, loss_scale=False):
        seen.update(model=model, loss_scale=loss_scale)
        return real(model, settings, loss_scale)

    monkeypatch.setattr(finetune, "compile_head", spy)
    return seen


def test_settings_refuse_an_unknown_precision_and_a_single_device():
    assert FineTuneSettings().precision == "auto" and FineTuneSettings().devices == ()
    for bad in ("float16", "bfloat16", "mixed", ""):
        with pytest.raises(ValueError, match="precision must be one of auto, float32, mixed_float16"):
            FineTuneSettings(precision=bad)
    with pytest.raises(ValueError, match="two or more device names"):
        FineTuneSettings(devices=("/gpu:0",))
    settings = FineTuneSettings(precision="mixed_float16", devices=["/gpu:0", "/gpu:1"])
    assert settings.devices == ("/gpu:0", "/gpu:1") and hash(settings)


def test_auto_precision_is_mixed_float16_only_with_a_gpu():
    assert resolve_precision("auto", 0) == "float32"
    assert resolve_precision("auto", 1) == resolve_precision("auto", 4) == "mixed_float16"
    assert resolve_precision("mixed_float16", 0) == "mixed_float16"
    assert resolve_precision("float32", 2) == "float32"
    with pytest.raises(ValueError):
        resolve_precision("float16", 1)
    assert distribution_strategy(["/cpu:0"]) is None


def test_the_page_can_say_where_and_how_fine_tuning_runs(monkeypatch):
    monkeypatch.setattr(finetune, "_gpu_count", lambda devices: 0)
    assert finetune.describe_hardware() == "the CPU, float32"
    assert FineTuneSettings().resolved_precision() == "float32"
    assert finetune.describe_hardware(devices=("/cpu:0", "/cpu:1")) == "2 devices (mirrored), float32"
    monkeypatch.setattr(finetune, "_gpu_count", lambda devices: len(devices) or 1)
    assert finetune.describe_hardware() == "1 GPU, mixed float16"
    assert finetune.describe_hardware("float32", ("/gpu:0", "/gpu:1")) == "2 GPUs (mirrored), float32"
    assert FineTuneSettings().resolved_precision() == "mixed_float16"


def test_mixed_precision_trains_a_float16_copy_and_returns_float32(compiled):
    embedding, head = _tiny_embedding(), build_head(4, 2)
    before = {w.path: np.array(w) for w in embedding.weights}
    head_before = [np.array(w) for w in head.weights]
    seen_conv = []
    pixels, labels = _pixels(), np.arange(16) % 2
    # Validation labels the opposite of training's: the more it learns, the worse, so the best epoch is the first.
    tuned = fine_tune(embedding, head, ["a", "b"], pixels, labels, pixels, 1 - labels,
                      FineTuneSettings(blocks=1, epochs=3, learning_rate=1e-2, batch_size=8, augment=False,
                                       precision="mixed_float16"),
                      on_epoch=lambda r: seen_conv.append(np.array(embedding.get_layer("conv").kernel)))
    assert tuned.precision == "mixed_float16" and tuned.unfrozen == ("conv",) and tuned.best_epoch == 1
    changed = {w.path for w in embedding.weights if not np.array_equal(np.array(w), before[w.path])}
    assert changed == {"conv/kernel", "conv/bias"}
    assert not any(np.array_equal(np.array(w), b) for w, b in zip(head.weights, head_before))
    assert not np.array_equal(seen_conv[0], before["conv/kernel"])  # on_epoch sees the epoch's weights
    np.testing.assert_array_equal(np.array(embedding.get_layer("conv").kernel), seen_conv[0])  # the best, kept
    assert not np.array_equal(seen_conv[-1], seen_conv[0])
    assert {layer.dtype_policy.name for layer in _all_layers(tuned.model)} == {"float32"}
    assert {w.dtype for w in tuned.model.weights} == {"float32"}
    probs = np.asarray(tuned.model(pixels[:5].astype(np.float32)))
    assert probs.dtype == np.float32 and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(run_tflite(tflite_bytes(tuned.model), pixels[:5].astype(np.float32)), probs, atol=1e-5)

    trainer = compiled["model"]
    copy = trainer.get_layer("tiny_embedding")
    assert copy is not embedding and compiled["loss_scale"]
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    assert int(trainer.optimizer.iterations) == 6  # 3 epochs of 2 batches, none skipped for overflow
    conv = copy.get_layer("conv")
    assert (conv.compute_dtype, conv.variable_dtype) == ("float16", "float32")
    assert copy(pixels[:2].astype(np.float32)).dtype == "float16"
    assert trainer.get_layer("head").get_layer("head_output").compute_dtype == "float32"
    assert [layer.trainable for layer in copy.layers] == [layer.trainable for layer in embedding.layers]
    for trained, original in zip(copy.weights + trainer.get_layer("head").weights, embedding.weights + head.weights):
        np.testing.assert_array_equal(np.array(trained), np.array(original))


def test_float32_on_one_device_trains_the_callers_own_models(compiled):
    embedding, head = _tiny_embedding(), build_head(4, 2)
    tuned = fine_tune(embedding, head, ["a", "b"], _pixels(8), np.arange(8) % 2,
                      settings=FineTuneSettings(blocks=1, epochs=1, batch_size=8, precision="float32"))
    assert tuned.precision == "float32" and not compiled["loss_scale"]
    assert compiled["model"].get_layer("tiny_embedding") is embedding
    assert compiled["model"].get_layer("head") is head


_MIRRORED = """
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np

import core.transfer.finetune as finetune
from core.transfer.model import build_head
from tests.conftest import make_tiny_model

compile_head, trained = finetune.compile_head, []
finetune.compile_head = lambda model, *args: trained.append(model) or compile_head(model, *args)
results = []
for precision in ("auto", "mixed_float16"):
    tiny = make_tiny_model()
    embedding = keras.Model(tiny.input, tiny.get_layer("avg_pool").output, name="tiny_embedding")
    before = {w.path: np.array(w) for w in embedding.weights}
    pixels = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3)).astype(np.uint8)
    labels = np.arange(16) % 2
    tuned = finetune.fine_tune(embedding, build_head(4, 2), ["a", "b"], pixels, labels, pixels[:4], labels[:4],
                               finetune.FineTuneSettings(blocks=1, epochs=2, learning_rate=1e-2, batch_size=8,
                                                         precision=precision, devices=("/cpu:0", "/cpu:1")))
    kernel = trained[-1].get_layer("tiny_embedding").get_layer("conv").kernel
    results.append({"precision": tuned.precision, "epochs": len(tuned.history["loss"]),
                    "replicas": trained[-1].distribute_strategy.num_replicas_in_sync,
                    "trained_variable": type(kernel.value).__name__,
                    "original_variable": type(embedding.get_layer("conv").kernel.value).__name__,
                    "changed": sorted(w.path for w in embedding.weights
                                      if not np.array_equal(np.array(w), before[w.path])),
                    "probs": np.asarray(tuned.model(pixels[:3].astype(np.float32))).tolist()})
print(json.dumps(results))
"""


def test_mirrored_strategy_on_two_logical_cpus_trains_the_unfrozen_blocks():
    # Splitting the CPU into two devices must happen before TensorFlow initialises: a fresh process.
    done = subprocess.run([sys.executable, "-c", _MIRRORED], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["precision"] for r in results] == ["float32", "mixed_float16"]  # auto: the devices are CPUs
    for result in results:
        assert result["epochs"] == 2 and result["replicas"] == 2
        assert result["trained_variable"] == "MirroredVariable" and result["original_variable"] == "ResourceVariable"
        assert result["changed"] == ["conv/bias", "conv/kernel"]
        probs = np.array(result["probs"])
        assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_time_estimate_counts_three_forwards_per_training_photo_and_the_set_up():
    assert finetune.estimate_seconds(100.0, 200, 50, 3) == pytest.approx(5.0 + 3 * 650 / 100)
    assert finetune.estimate_seconds(100.0, 200, 50, 3, setup_s=0.0) == pytest.approx(19.5)
    assert np.isnan(finetune.estimate_seconds(0.0, 200, 50, 3))  # nothing measured: say so, don't guess
