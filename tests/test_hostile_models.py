"""A hostile learner's models: the .keras check never builds a layer, bounds every tensor from the config, reads
at most one model from a bundle, and model uploads count against the session's allowance."""

import io
import json
import time
import zipfile

import keras
import pytest

from core.transfer.config_check import ConfigCaps, ConfigCheckError, check_config
from core.transfer.loading import ModelCheckError, load_model_bytes, load_upload
from tests.conftest import make_tiny_model, open_page


def _tensor(name: str, shape: list) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, *shape], "dtype": "float32",
                                                         "keras_history": [name, 0, 0]}}


def _layer(kind: str, name: str, config: dict, source: str | None, shape: list) -> dict:
    nodes = [] if source is None else [{"args": [_tensor(source, shape)], "kwargs": {}}]
    return {"module": "keras.layers", "class_name": kind, "config": {"name": name, **config},
            "registered_name": None, "name": name, "inbound_nodes": nodes}


def _functional(layers: list[dict], last: str) -> dict:
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "hostile", "trainable": True, "layers": layers, "input_layers": [["x", 0, 0]],
                       "output_layers": [[last, 0, 0]]}}


def _input(shape: list) -> dict:
    return _layer("InputLayer", "x", {"batch_shape": [None, *shape], "dtype": "float32"}, None, shape)


def _keras_file(config: dict) -> bytes:
    """A .keras zip holding only a config (the check must refuse it before any weight is read)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
    return buffer.getvalue()


def _many_dense(count: int) -> dict:
    layers = [_input([8])] + [_layer("Dense", f"d{i}", {"units": 8}, "x" if i == 0 else f"d{i - 1}", [8])
                              for i in range(count)]
    return _functional(layers, f"d{count - 1}")


def test_thousands_of_declared_layers_are_refused_from_the_json_in_moments():
    data = _keras_file(_many_dense(2000))
    assert len(data) < 60_000
    started = time.monotonic()
    with pytest.raises(ModelCheckError, match="2,001 layers; at most 500"):
        load_model_bytes(data, ["a", "b"])
    assert time.monotonic() - started < 5


def test_a_layer_that_blows_up_its_input_is_refused_before_keras_sees_it():
    layers = [_input([224, 224, 3]), _layer("UpSampling2D", "up", {"size": [60, 60]}, "x", [224, 224, 3]),
              _layer("GlobalAveragePooling2D", "gap", {}, "up", [13440, 13440, 3]),
              _layer("Dense", "probs", {"units": 2, "activation": "softmax"}, "gap", [3])]
    data = _keras_file(_functional(layers, "probs"))
    assert len(data) < 3_000
    with pytest.raises(ModelCheckError, match="UpSampling2D layer of the model makes 541,900,800 numbers per photo"):
        load_model_bytes(data, ["a", "b"])


@pytest.mark.parametrize("kind,config,match", [
    ("Lambda", {"function": "x"}, "Python code"),
    ("MysteryLayer", {}, "cannot check \\(MysteryLayer\\)"),
    ("Conv2D", {"filters": 4, "kernel_size": [3, 3], "data_format": "channels_first"}, "channels-first"),
    ("Reshape", {"target_shape": [-1, -1]}, "Reshape"),
])
def test_a_layer_whose_output_cannot_be_bounded_is_refused(kind, config, match):
    layers = [_input([8, 8, 3]), _layer(kind, "odd", config, "x", [8, 8, 3])]
    with pytest.raises(ConfigCheckError, match=match):
        check_config(_functional(layers, "odd"))


def test_deep_json_and_deeply_nested_models_are_refused():
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ConfigCheckError, match="nested more than 64 levels"):
        check_config({"class_name": "Functional", "config": {"layers": deep}})
    model = make_tiny_model()
    for _ in range(5):
        model = keras.Sequential([keras.Input((8, 8, 3)), model])
    with pytest.raises(ConfigCheckError, match="nests models more than 4 deep"):
        check_config(json.loads(model.to_json()))


def test_the_shapes_and_parameters_worked_out_match_keras():
    model = make_tiny_model(3)
    summary = check_config(json.loads(model.to_json()))
    assert summary.params == model.count_params()
    assert summary.inputs == ((8, 8, 3),) and summary.outputs == ((3,),)
    with pytest.raises(ConfigCheckError, match="more than 0.001 s"):
        check_config(_many_dense(400), ConfigCaps(max_seconds=0.001))


def test_a_bundle_is_read_only_when_it_holds_one_model():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k in range(6):
            archive.writestr(f"model{k}.keras", b"x" * 1000)
    with pytest.raises(ModelCheckError, match="expected one .keras model in the bundle, got 6"):
        load_upload({"bundle.zip": buffer.getvalue()})


def test_model_uploads_count_against_the_allowance(classroom, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "1")
    at = open_page("app_pages/transfer_training.py")
    assert "at most 1 MB" in at.file_uploader(key="tt_model_upload").help
    at.file_uploader(key="tt_model_upload").set_value(("big.keras", b"k" * 1_500_000, "application/zip")).run()
    assert not at.exception
    assert any("big.keras not added" in e.value and "allowance" in e.value for e in at.error)
    assert "tt_model_upload_1" in [u.key for u in at.file_uploader]
