"""Export (.keras, TFLite, report), safe-mode loading of uploaded models, and fine-tuning's freezing."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from core.cli import main
from core.transfer.evaluation import evaluate_probs
from core.transfer.export import keras_bytes, report_markdown, run_report, run_tflite, tflite_bytes
from core.transfer.finetune import FineTuneSettings, backbone_blocks, block_of, fine_tune, unfreeze_top
from core.transfer.loading import ModelCheckError, load_model_bytes, load_model_file
from core.transfer.model import build_head
from core.transfer.pipeline import export_model
from core.transfer.training import HeadSettings, train_head
from tests.conftest import make_tiny_model


def _tiny_embedding(seed=0) -> keras.Model:
    model = make_tiny_model(seed=seed)
    return keras.Model(model.input, model.get_layer("avg_pool").output, name="tiny_embedding")


def _tiny_classifier() -> keras.Model:
    return export_model(_tiny_embedding(), build_head(4, 3), ["a", "b", "c"])


def _pixels(n=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3)).astype(np.uint8)


def test_keras_bytes_round_trip_and_checks():
    model = _tiny_classifier()
    loaded, classes = load_model_bytes(keras_bytes(model, ["a", "b", "c"]))
    assert classes == ["a", "b", "c"]
    x = _pixels().astype(np.float32)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_safe_mode_refuses_a_lambda_layer(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelCheckError, match="Python code"):
        load_model_file(path)
    with pytest.raises(ModelCheckError, match="not a readable"):
        load_model_bytes(b"PK\x03\x04 not really a zip")


def test_models_that_are_not_classifiers_are_refused(tmp_path):
    embedding = _tiny_embedding()
    logits = keras.Model(embedding.input, keras.layers.Dense(2, activation="softmax")(embedding.output))
    path = tmp_path / "plain.keras"
    logits.save(path)
    with pytest.raises(ModelCheckError, match="class names"):
        load_model_file(path)
    wide = keras.Input((8, 6, 3))
    odd = keras.Model(wide, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(wide)))
    odd.save(tmp_path / "odd.keras")
    with pytest.raises(ModelCheckError, match="square RGB"):
        load_model_file(tmp_path / "odd.keras")


def test_tflite_matches_keras_on_tiny_model_and_cli(tmp_path, capsys):
    model = _tiny_classifier()
    x = _pixels(5).astype(np.float32)
    np.testing.assert_allclose(run_tflite(tflite_bytes(model), x), model(x), atol=1e-5)
    path = tmp_path / "tiny.keras"
    model.save(path)
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    out = tmp_path / "tiny.tflite"
    capsys.readouterr()  # the app's own conversion above may print to the server log: not the CLI's output
    assert main(["export", "--model", str(path), "--tflite", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["classes"] == ["a", "b", "c"] and result["bytes"] == out.stat().st_size > 0
    np.testing.assert_allclose(run_tflite(out.read_bytes(), x), model(x), atol=1e-5)


def test_run_report_survives_json_and_shows_accuracy_and_confusion_in_markdown():
    evaluation = evaluate_probs(np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]), [0, 1, 1], ("cat", "dog"))
    report = run_report({"dataset": "mine", "task": "folders", "backbone": "efficientnet_lite0",
                         "classes": ("cat", "dog"), "settings": {"epochs": 20, "learning_rate": 0.001},
                         "train_count": 12, "val_count": 3, "evaluation": evaluation,
                         "history": {"loss": [np.float32(0.5)]}})
    assert report["val_accuracy"] == pytest.approx(2 / 3)
    assert report["confusion"] == {"labels": ["cat", "dog"], "matrix": [[1, 0], [1, 1]]}
    assert json.loads(json.dumps(report)) == report
    markdown = report_markdown(report)
    assert "Validation accuracy: 66.7%" in markdown and "| cat | 1 | 0 |" in markdown


def test_training_the_head_leaves_the_backbone_unchanged():
    embedding = _tiny_embedding()
    before = [w.copy() for w in embedding.get_weights()]
    features = np.asarray(embedding(_pixels(12).astype(np.float32)))
    trained = train_head(features, np.arange(12) % 3, 3, settings=HeadSettings(epochs=3, learning_rate=0.1))
    model = export_model(embedding, trained.head, ["a", "b", "c"])
    for kept, original in zip(model.get_layer("tiny_embedding").get_weights(), before):
        np.testing.assert_array_equal(kept, original)


def test_fine_tuning_changes_only_the_unfrozen_blocks():
    embedding = _tiny_embedding()
    head = build_head(4, 2)
    before = {w.path: np.array(w) for w in embedding.weights}
    pixels, labels = _pixels(16), np.arange(16) % 2
    tuned = fine_tune(embedding, head, ["a", "b"], pixels, labels, pixels[:4], labels[:4],
                      FineTuneSettings(blocks=0, epochs=2, learning_rate=1e-2, batch_size=8))
    assert tuned.unfrozen == () and len(tuned.history["loss"]) == 2
    for w in embedding.weights:
        np.testing.assert_array_equal(np.array(w), before[w.path])
    tuned = fine_tune(embedding, head, ["a", "b"], pixels, labels, settings=FineTuneSettings(
        blocks=1, epochs=2, learning_rate=1e-2, batch_size=8, augment=False))
    assert tuned.unfrozen == ("conv",)
    changed = {w.path for w in embedding.weights if not np.array_equal(np.array(w), before[w.path])}
    assert changed == {w.path for w in embedding.get_layer("conv").weights}
    assert tuned.model.output_shape == (None, 2)


def test_unfreezing_efficientnet_lite_blocks_keeps_batchnorm_frozen():
    from core.models.backbones import _embedding_model as embedding_of
    from core.models.backbones import build_model, get_spec

    embedding = embedding_of(build_model("efficientnet_lite0", weights=None), get_spec("efficientnet_lite0")
                             .embedding_layer)
    blocks = backbone_blocks(embedding)
    assert blocks[0] == "stem" and blocks[-2:] == ["block7a", "top"] and len(blocks) == 18
    assert unfreeze_top(embedding, 2) == ["block7a", "top"]
    trainable = {layer.name for layer in embedding.layers if layer.trainable and layer.weights}
    assert trainable == {"block7a_expand_conv", "block7a_depthwise_dwconv", "block7a_project_conv", "top_conv"}
    assert block_of("block6d_project_bn") == "block6d" and block_of("avg_pool") == "avg_pool"
    with pytest.raises(ValueError):
        FineTuneSettings(learning_rate=0.5)


@pytest.mark.real_backbone
def test_real_tflite_export_matches_keras_on_singles(shared_data, lite0, tmp_path):
    from core.data.images import load_image_file

    features = np.random.default_rng(0).normal(size=(8, 1280)).astype(np.float32)
    head = train_head(features, np.arange(8) % 2, 2, settings=HeadSettings(epochs=1)).head
    model = export_model(lite0.embedding_model(), head, ["cat", "dog"])
    pixels = np.stack([lite0.prepare(load_image_file(p)) for p in sorted((shared_data / "singles").glob("*.jpg"))])
    np.testing.assert_allclose(run_tflite(tflite_bytes(model), pixels.astype(np.float32)),
                               model.predict(pixels.astype(np.float32), verbose=0), atol=1e-4)
    from core.transfer.model import guess_backbone

    assert guess_backbone(model) == "efficientnet_lite0"
    assert guess_backbone(_tiny_classifier()) is None


@pytest.mark.real_backbone
def test_cli_train_with_fine_tuning_reports_both_phases(shared_data, tmp_path, capsys):
    out = tmp_path / "tuned.keras"
    assert main(["train", "--data", str(shared_data / "pets-mini"), "--task", "species", "--per-class", "6",
                 "--epochs", "5", "--fine-tune-blocks", "1", "--fine-tune-epochs", "1", "--fine-tune-precision",
                 "mixed_float16", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["fine_tune"]) == {"val_accuracy", "history", "seconds", "unfrozen", "precision"}
    assert result["fine_tune"]["precision"] == "mixed_float16"
    assert result["fine_tune"]["unfrozen"] == ["top"] and len(result["fine_tune"]["history"]["loss"]) == 1
    assert 0 <= result["fine_tune"]["val_accuracy"] <= 1
    model, classes = load_model_file(out)
    assert classes == ["cat", "dog"] and model.output_shape == (None, 2)


def test_flat_classifier_exposes_the_last_conv_layer_for_grad_cam():
    from core.transfer.surgery import flat_classifier

    model = _tiny_classifier()
    flat, layer = flat_classifier(model)
    assert layer == "conv" and len(flat.get_layer(layer).output.shape) == 4
    x = _pixels(3).astype(np.float32)
    np.testing.assert_array_equal(flat(x), model(x))
    with pytest.raises(ValueError, match="embedding model and a head"):
        flat_classifier(make_tiny_model())

