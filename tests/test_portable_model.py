"""Take it with you: the bundle opens in a Python without Transfer Lab, and gives the app's numbers everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.data.images import center_crop_resize, load_image_file
from core.transfer.export import (
    ExportError,
    bundle_files,
    bundle_zip,
    keras_bytes,
    notebook_lines,
    run_tflite,
    tflite_bytes,
    write_bundle,
)
from core.transfer.loading import ModelCheckError, load_model_bytes, load_model_file, load_upload
from core.transfer.model import ClassLabels, build_head
from core.transfer.pipeline import export_model, predict_probs
from core.transfer.surgery import flat_classifier
from core.transfer.training import HeadSettings, train_head
from core.visualise.scorers import probabilities_scorer
from tests.conftest import make_tiny_model

CLASSES = ["tabby cat", "beagle", "ünïcode"]

# Runs where no project code is importable: -I drops the script folder, PYTHONPATH and user site.
OUTSIDE = """
import importlib.util, json, sys
import keras, numpy as np
assert importlib.util.find_spec("core") is None, "project code is importable"
model = keras.saving.load_model("model.keras")  # safe mode is the default
labels = open("labels.txt", encoding="utf-8").read().splitlines()
probs = model.predict(np.load("pixels.npy"), verbose=0)
json.dump({"labels": labels, "probs": probs.tolist(), "layers": sorted({type(l).__name__ for l in model.layers})},
          sys.stdout)
"""


def _trained(seed=0):
    """A tiny embedding with a head trained for a few epochs, assembled as the app does."""
    tiny = make_tiny_model(seed=seed)
    embedding = keras.Model(tiny.input, tiny.get_layer("avg_pool").output, name="tiny_embedding")
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 8, 8, 3)).astype(np.float32)
    head = train_head(np.asarray(embedding(pixels)), np.arange(12) % 3, 3,
                      settings=HeadSettings(epochs=3, learning_rate=0.1, seed=seed)).head
    return export_model(embedding, head, CLASSES)


def _photos(folder, n=3):
    """Photos of odd sizes on disk: a JPEG, a PNG with transparency, a tall PNG."""
    rng = np.random.default_rng(1)
    paths = []
    for i, (size, name) in enumerate([((37, 23), "a.jpg"), ((16, 16), "b.png"), ((11, 40), "c.png")][:n]):
        array = rng.integers(0, 256, size[::-1] + (4 if i == 1 else 3,), dtype=np.uint8)
        Image.fromarray(array).save(folder / name)
        paths.append(folder / name)
    return paths


def _run_outside(folder, *args):
    return subprocess.run([sys.executable, "-I", *args], cwd=folder, capture_output=True, text=True, timeout=300,
                          check=True).stdout


def test_the_bundle_gives_the_apps_probabilities_in_plain_keras_predict_py_and_tflite(tmp_path):
    model = _trained()
    files = bundle_files(model, CLASSES, report={"val_accuracy": 1.0})
    assert set(files) == {"model.keras", "labels.txt", "model.tflite", "predict.py", "report.json"}
    assert len(files["predict.py"].decode().splitlines()) <= 22
    with zipfile.ZipFile(__import__("io").BytesIO(bundle_zip(files))) as archive:
        assert sorted(archive.namelist()) == sorted(f"transfer_lab_model/{name}" for name in files)
        archive.extractall(tmp_path)
    folder = tmp_path / "transfer_lab_model"
    photos = _photos(tmp_path)
    app = predict_probs(model, [load_image_file(p) for p in photos])
    pixels = np.stack([center_crop_resize(load_image_file(p), 8) for p in photos]).astype(np.float32)
    np.save(folder / "pixels.npy", pixels)

    outside = json.loads(_run_outside(folder, "-c", OUTSIDE))
    assert outside["labels"] == CLASSES and "ClassLabels" not in outside["layers"]
    plain = np.array(outside["probs"])
    printed = _run_outside(tmp_path, str(folder / "predict.py"), *map(str, photos)).splitlines()
    script = np.array([[dict(_pairs(line))[name] for name in CLASSES] for line in printed])
    tflite = run_tflite(files["model.tflite"], pixels)

    np.testing.assert_allclose(plain, app, atol=1e-6)
    np.testing.assert_allclose(script, app, atol=1e-6)  # printed with 6 decimals
    np.testing.assert_allclose(tflite, app, atol=1e-4)


def _pairs(line):
    """(class, probability) pairs of one predict.py line: 'photo  name p  name p  name p'."""
    for part in line.split("  ")[1:]:
        name, prob = part.rsplit(" ", 1)
        yield name, float(prob)


def test_the_bundle_zip_or_a_keras_with_its_labels_loads_back(tmp_path):
    model = _trained()
    files = bundle_files(model, CLASSES, tflite=b"not needed here")
    x = np.random.default_rng(2).integers(0, 256, (4, 8, 8, 3)).astype(np.float32)
    for upload in ({"mine.zip": bundle_zip(files)},
                   {"model.keras": files["model.keras"]},  # labels.txt inside the .keras zip
                   {"other.keras": _without_labels(files["model.keras"]), "labels.txt": files["labels.txt"]}):
        loaded, classes = load_upload(upload)
        assert classes == CLASSES
        np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    with pytest.raises(ModelCheckError, match="labels.txt"):
        load_upload({"other.keras": _without_labels(files["model.keras"])})
    with pytest.raises(ModelCheckError, match="one .keras"):
        load_upload({"labels.txt": files["labels.txt"]})


def _without_labels(data: bytes) -> bytes:
    buffer = __import__("io").BytesIO()
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            if name != "labels.txt":
                target.writestr(name, source.read(name))
    return buffer.getvalue()


def test_a_model_saved_by_an_earlier_version_still_loads(tmp_path):
    model = _trained()
    legacy = keras.Model(model.input, ClassLabels(CLASSES, name="class_labels")(model.output))
    legacy.save(tmp_path / "old.keras")
    loaded, classes = load_model_file(tmp_path / "old.keras")
    assert classes == CLASSES
    x = np.full((1, 8, 8, 3), 90.0, np.float32)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_a_huge_input_is_refused_from_the_config_before_any_array_is_built(tmp_path):
    inputs = keras.Input((40000, 40000, 3))  # symbolic: building this model allocates nothing
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(tmp_path / "huge.keras")
    data = (tmp_path / "huge.keras").read_bytes()
    assert len(data) < 50_000
    with pytest.raises(ModelCheckError, match="40000 pixels a side; at most 1024"):
        load_model_bytes(data, ["a", "b"])
    with pytest.raises(ModelCheckError, match="40000 pixels"):
        load_upload({"huge.keras": data, "labels.txt": b"a\nb\n"})


def test_too_many_parameters_are_refused_from_the_config(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs)))
    model.save(tmp_path / "small.keras")
    with zipfile.ZipFile(tmp_path / "small.keras") as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["config.json"] = members["config.json"].replace(b'"units": 2', b'"units": 1000000')
    with zipfile.ZipFile(tmp_path / "big.keras", "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    with pytest.raises(ModelCheckError, match="193,000,000 parameters"):
        load_model_file(tmp_path / "big.keras", ["a", "b"])


def test_a_second_training_leaves_the_first_models_ideal_cat_objective_alone():
    tiny = make_tiny_model()
    shared = keras.Model(tiny.input, tiny.get_layer("avg_pool").output, name="shared_embedding")
    first = export_model(shared, build_head(4, 3, seed=1), CLASSES)
    pixels = np.random.default_rng(3).uniform(0, 255, (1, 8, 8, 3)).astype(np.float32)
    score, kind = probabilities_scorer(first)
    before = np.asarray(score(pixels)[0])
    nodes = len(shared._inbound_nodes), len(tiny._inbound_nodes)
    export_model(shared, build_head(4, 3, seed=2), CLASSES)
    export_model(shared, build_head(4, 3, seed=3), CLASSES)
    assert (len(shared._inbound_nodes), len(tiny._inbound_nodes)) == nodes
    flat_classifier(first)  # Try it's Grad-CAM calls the first model's head on another graph
    score_again, kind_again = probabilities_scorer(first)
    assert kind == kind_again == "logit"
    np.testing.assert_array_equal(np.asarray(score_again(pixels)[0]), before)


def test_a_failed_tflite_conversion_is_one_message_and_stdout_is_never_swapped(monkeypatch, caplog):
    import tensorflow as tf

    seen = []

    def broken(folder):
        seen.append(sys.stdout)
        raise RuntimeError("converter exploded")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", broken)
    stdout = sys.stdout
    with pytest.raises(ExportError, match="TensorFlow Lite could not convert this model"):
        tflite_bytes(_trained())
    assert seen == [stdout] and "converter exploded" in caplog.text


def test_cli_export_and_train_write_the_pages_files(tmp_path, capsys):
    model = _trained()
    write_bundle(tmp_path / "in", {"m.keras": keras_bytes(model, CLASSES)})
    assert main(["export", "--model", str(tmp_path / "in" / "m.keras"), "--out", str(tmp_path / "out"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["classes"] == CLASSES
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["labels.txt", "model.keras", "model.tflite",
                                                                     "predict.py"]
    assert (tmp_path / "out" / "labels.txt").read_text(encoding="utf-8").splitlines() == CLASSES
    assert main(["export", "--model", str(tmp_path / "in" / "nothing.keras"), "--out", str(tmp_path)]) == 2
    assert 'keras.saving.load_model("model.keras")' in notebook_lines()
    assert len(notebook_lines().splitlines()) == 3


@pytest.mark.real_backbone
def test_real_lite0_bundle_from_the_cli_runs_outside(shared_data, tmp_path, capsys):
    out = tmp_path / "bundle" / "pets.keras"
    assert main(["train", "--data", str(shared_data / "pets-mini"), "--task", "species", "--per-class", "6",
                 "--epochs", "3", "--views", "1", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["labels.txt", "pets.keras", "pets.tflite", "predict.py", "report.json", "report.md"]
    model, classes = load_model_file(out)
    singles = sorted((shared_data / "singles").glob("*.jpg"))[:3]
    app = predict_probs(model, [load_image_file(p) for p in singles])
    printed = _run_outside(tmp_path, str(out.parent / "predict.py"), *map(str, singles)).splitlines()
    script = np.array([[dict(_pairs(line))[name] for name in classes] for line in printed])
    pixels = np.stack([center_crop_resize(load_image_file(p), 224) for p in singles]).astype(np.float32)
    np.testing.assert_allclose(script, app, atol=2e-6)
    np.testing.assert_allclose(run_tflite((out.parent / "pets.tflite").read_bytes(), pixels), app, atol=1e-4)


def test_the_pages_loader_gives_one_line_for_a_huge_input_and_try_it_skips_grad_cam_on_other_models(tmp_path):
    from core.transfer.loading import ModelLimits
    from ui.state import TrainedModel
    from ui.your_model import _gradcam, load_uploaded_model

    inputs = keras.Input((40000, 40000, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(tmp_path / "huge.keras")
    trained, message = load_uploaded_model({"huge.keras": (tmp_path / "huge.keras").read_bytes(),
                                            "labels.txt": b"a\nb\n"}, ModelLimits())
    assert trained is None
    assert message == "huge.keras, labels.txt was refused: this model is too large or too unusual to check safely"
    flat = make_tiny_model(3)
    assert _gradcam(TrainedModel(flat, tuple(CLASSES), None)) is None
