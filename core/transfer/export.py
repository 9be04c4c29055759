"""Taking a trained model away and bringing one back: a bundle of ``.keras``, labels, TensorFlow Lite, report.

A saved model holds standard Keras layers only, so ``keras.saving.load_model`` opens it
in any Python with Keras 3 (safe mode on). Its class names travel as ``labels.txt``
(one name a line, in output order), beside the model in the bundle and as an extra
member inside the ``.keras`` zip, which Keras ignores when loading.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

import core.models.backbones  # noqa: F401  (registers CaffePreprocess for loading)
from core.transfer.model import class_names
from core.transfer.report import report_markdown

LABELS_FILE = "labels.txt"
MODEL_FILE = "model.keras"
TFLITE_FILE = "model.tflite"
PREDICT_FILE = "predict.py"
_LOG = logging.getLogger(__name__)


class ModelCheckError(ValueError):
    """An uploaded model was refused; the message says why."""


class ExportError(RuntimeError):
    """A model could not be converted for taking away; the message says why."""


@dataclass(frozen=True)
class ModelLimits:
    """What an uploaded model may be, checked from its config before any array is built."""

    max_mb: int = 200
    max_side: int = 1024
    max_params: int = 60_000_000

    def __post_init__(self):
        if self.max_mb < 1 or self.max_side < 32 or self.max_params < 1000:
            raise ValueError(f"model limits too small: {self}")


def labels_text(classes) -> str:
    """``labels.txt``: one class name a line, in output order."""
    names = [str(c) for c in classes]
    if any("\n" in name or "\r" in name for name in names):
        raise ValueError("class names cannot contain line breaks")
    return "".join(f"{name}\n" for name in names)


def parse_labels(text: str) -> list[str]:
    """Class names from ``labels.txt`` text (blank lines at the end ignored)."""
    return [line for line in text.splitlines() if line.strip()]


def keras_bytes(model: keras.Model, classes) -> bytes:
    """The model as the bytes of a ``.keras`` file, with ``labels.txt`` inside the zip."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, MODEL_FILE)
        model.save(path)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(LABELS_FILE, labels_text(classes))
        return Path(path).read_bytes()


def tflite_bytes(model: keras.Model) -> bytes:
    """Converts a pixels-to-probabilities model to a TensorFlow Lite flatbuffer.

    Exports a SavedModel quietly first: ``from_keras_model`` prints the exported signature
    to stdout, which is the CLI's JSON channel, and redirecting stdout would affect every thread.

    Args:
        model: the assembled model (float32 input in 0-255).

    Returns:
        The ``.tflite`` file's bytes (float32, no quantisation, so predictions match).

    Raises:
        ExportError: the converter failed (the traceback goes to the log).
    """
    import tensorflow as tf

    try:
        with tempfile.TemporaryDirectory() as folder:
            model.export(folder, format="tf_saved_model", verbose=False)
            return tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    except Exception as exc:  # the converter raises many kinds; all mean "no .tflite for this model"
        _LOG.exception("TensorFlow Lite conversion failed")
        raise ExportError(f"TensorFlow Lite could not convert this model ({type(exc).__name__}); "
                          "the .keras file is still complete") from None


def run_tflite(content: bytes, pixels: np.ndarray) -> np.ndarray:
    """Runs a TensorFlow Lite model on a batch of prepared pixels, one photo at a time.

    Args:
        content: ``.tflite`` bytes.
        pixels: ``(n, size, size, 3)`` pixels in 0-255.

    Returns:
        ``(n, num_classes)`` outputs.
    """
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's move to LiteRT
        interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    outputs = []
    for photo in np.asarray(pixels, np.float32):
        interpreter.set_tensor(source["index"], photo[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"])[0].copy())
    return np.stack(outputs)


PREDICT_SCRIPT = '''"""Top classes of photos from a Transfer Lab model: python predict.py photo.jpg [more.jpg ...]"""
import sys
from pathlib import Path

import keras
import numpy as np
from PIL import Image, ImageOps

here = Path(__file__).parent
model = keras.saving.load_model(here / "{model_file}")  # standard Keras layers: safe mode stays on
labels = (here / "labels.txt").read_text(encoding="utf-8").splitlines()
size = model.input_shape[1]
for path in sys.argv[1:]:
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGBA")  # as the app: upright, alpha on white
    photo = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    side = max(1, round(min(photo.size) * 0.875))  # the app's centre crop: 87.5% of the shorter side
    left, top = (photo.width - side) // 2, (photo.height - side) // 2
    crop = photo.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    probs = model.predict(np.asarray(crop, np.float32)[None], verbose=0)[0]  # 0-255 pixels in
    print(path, *(f"{{labels[i]}} {{probs[i]:.6f}}" for i in np.argsort(probs)[::-1][:3]), sep="  ")
'''


def predict_script(model_file: str = MODEL_FILE) -> str:
    """``predict.py``: needs only keras, tensorflow, numpy and pillow; preprocesses exactly as the app."""
    return PREDICT_SCRIPT.format(model_file=model_file)


def notebook_lines(model_file: str = MODEL_FILE) -> str:
    """The three lines a learner pastes into a notebook (then ``model.predict`` on 0-255 pixels)."""
    return (f'import keras\nmodel = keras.saving.load_model("{model_file}")\n'
            f'labels = open("{LABELS_FILE}", encoding="utf-8").read().splitlines()')


def bundle_files(model: keras.Model, classes, report: dict | None = None, model_file: str = MODEL_FILE,
                 tflite: bytes | None = None) -> dict[str, bytes]:
    """Every file of the take-away bundle, by name: model, labels, TFLite, report, ``predict.py``.

    Raises:
        ExportError: the TensorFlow Lite conversion failed.
    """
    stem = Path(model_file).stem
    files = {model_file: keras_bytes(model, classes), LABELS_FILE: labels_text(classes).encode(),
             f"{stem}.tflite": tflite if tflite is not None else tflite_bytes(model),
             PREDICT_FILE: predict_script(model_file).encode()}
    if report is not None:
        files["report.json"] = json.dumps(report, indent=2).encode()
        if "val_accuracy" in report and "per_class" in report:
            files["report.md"] = report_markdown(report).encode()
    return files


def bundle_zip(files: dict[str, bytes]) -> bytes:
    """The bundle's files as one zip, under a folder ``transfer_lab_model/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"transfer_lab_model/{name}", content)
    return buffer.getvalue()


def write_bundle(folder: str | Path, files: dict[str, bytes]) -> list[Path]:
    """Writes the bundle's files into a folder (the CLI); returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in files.items():
        (folder / name).write_bytes(content)
        paths.append(folder / name)
    return paths
def check_model_archive(path: str | Path, limits: ModelLimits = ModelLimits()) -> None:
    """Checks a ``.keras`` file from its size and config alone, before Keras builds anything.

    Reads ``config.json`` from the zip: every input side must be at most ``limits.max_side``
    and the parameters (counted on variables that are declared but never allocated) at
    most ``limits.max_params``, so a few-KB file cannot make the process build a huge array.

    Raises:
        ModelCheckError: what is wrong with it.
    """
    path = Path(path)
    if path.stat().st_size > limits.max_mb * 1e6:
        raise ModelCheckError(f"the model file is {path.stat().st_size / 1e6:.0f} MB; the limit is {limits.max_mb} MB")
    if not zipfile.is_zipfile(path):
        raise ModelCheckError("this is not a readable .keras model file (a .keras file is a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > 2 * limits.max_mb * 1e6:
                raise ModelCheckError(f"the model unpacks to more than {2 * limits.max_mb} MB")
            config = json.loads(archive.read("config.json"))
    except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError):
        raise ModelCheckError("this is not a readable .keras model file (no readable config.json inside)") from None
    sides = [side for shape in _input_shapes(config) for side in shape[1:-1]]
    bad = [side for side in sides if not isinstance(side, int) or not 0 < side <= limits.max_side]
    if bad:
        raise ModelCheckError(f"the model's input is {bad[0]} pixels a side; "
                              f"at most {limits.max_side} are allowed (and the size must be fixed)")
    params = _declared_params(config)
    if params > limits.max_params:
        raise ModelCheckError(f"the model has {params:,} parameters; at most {limits.max_params:,} are allowed")


def _input_shapes(node) -> list:
    """Every ``batch_shape`` of an input layer anywhere in a model config (nested models included)."""
    found = []
    if isinstance(node, dict):
        if node.get("class_name") == "InputLayer":
            layer = node.get("config") if isinstance(node.get("config"), dict) else {}
            shape = layer.get("batch_shape") or layer.get("batch_input_shape")
            found.append(list(shape) if isinstance(shape, (list, tuple)) else [None, None, None])
        for value in node.values():
            found += _input_shapes(value)
    elif isinstance(node, list):
        for value in node:
            found += _input_shapes(value)
    return found


def _declared_params(config: dict) -> int:
    """Parameters of a model config, built in a stateless scope so no weight is allocated.

    Raises:
        ModelCheckError: the config does not deserialise in safe mode.
    """
    from keras.src.backend.common import global_state

    pending = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            skeleton = keras.saving.deserialize_keras_object(
                {k: v for k, v in config.items() if k != "compile_config"}, safe_mode=True)
            return int(sum(np.prod(v.shape, dtype=np.int64) for v in skeleton.weights))
    except ValueError as exc:
        if "lambda" in str(exc).lower() or "safe_mode" in str(exc):
            raise ModelCheckError("this model contains Python code (a Lambda layer or similar); Transfer Lab "
                                  "only loads models in Keras safe mode, so it was refused") from None
        raise ModelCheckError(f"this is not a model Transfer Lab can load ({exc})") from None
    except Exception as exc:  # any failure to read the config means "not a model file"
        raise ModelCheckError(f"this is not a readable .keras model file ({type(exc).__name__})") from None
    finally:  # the declared variables stay unallocated: forget them rather than let a later scope build them
        global_state.set_global_attribute("uninitialized_variables", pending)


def load_model_file(path: str | Path, classes=None,
                    limits: ModelLimits = ModelLimits()) -> tuple[keras.Model, list[str]]:
    """Loads a ``.keras`` model in Keras safe mode after ``check_model_archive``; checks it is a classifier.

    Safe mode refuses models that would run arbitrary Python code when loaded
    (a ``Lambda`` layer holding a function, for example).

    Args:
        path: the ``.keras`` file.
        classes: its class names; None to read them from the ``labels.txt`` inside it, or from the
            ``ClassLabels`` layer of a model saved by an earlier version.
        limits: bounds checked before loading.

    Returns:
        The model and its class names.

    Raises:
        ModelCheckError: too big, not a readable ``.keras`` file, code inside, or not pixels to softmax probabilities.
    """
    check_model_archive(path, limits)
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as exc:
        if "lambda" in str(exc).lower() or "safe_mode" in str(exc):
            raise ModelCheckError("this model contains Python code (a Lambda layer or similar); Transfer Lab "
                                  "only loads models in Keras safe mode, so it was refused") from None
        raise ModelCheckError(f"this is not a model Transfer Lab can load ({exc})") from None
    except Exception as exc:  # a damaged zip, h5 or config: all mean "not a model file"
        raise ModelCheckError(f"this is not a readable .keras model file ({type(exc).__name__}: {exc})") from None
    if classes is None:
        classes = _labels_inside(path)
    return model, check_classifier(model, classes)


def _labels_inside(path) -> list[str] | None:
    """The ``labels.txt`` inside a ``.keras`` zip, or None."""
    with zipfile.ZipFile(path) as archive:
        if LABELS_FILE not in archive.namelist() or archive.getinfo(LABELS_FILE).file_size > 1_000_000:
            return None
        return parse_labels(archive.read(LABELS_FILE).decode("utf-8", errors="replace"))


def load_model_bytes(data: bytes, classes=None, limits: ModelLimits = ModelLimits()) -> tuple[keras.Model, list[str]]:
    """``load_model_file`` for an uploaded file's bytes."""
    if len(data) > limits.max_mb * 1e6:
        raise ModelCheckError(f"the model file is {len(data) / 1e6:.0f} MB; the limit is {limits.max_mb} MB")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "uploaded.keras")
        Path(path).write_bytes(data)
        return load_model_file(path, classes, limits)


def load_upload(files: dict[str, bytes], limits: ModelLimits = ModelLimits()) -> tuple[keras.Model, list[str]]:
    """Loads what a learner uploads: the bundle zip, or a ``.keras`` (with or without its ``labels.txt``).

    Args:
        files: file name to bytes.
        limits: bounds on the model.

    Returns:
        The model and its class names.

    Raises:
        ModelCheckError: nothing loadable, or the model was refused.
    """
    files = dict(files)
    for name in [n for n in files if n.lower().endswith(".zip")]:
        files.update(_bundle_members(files.pop(name), limits))
    models = [n for n in files if n.lower().endswith(".keras")]
    if len(models) != 1:
        raise ModelCheckError(f"expected one .keras model (or the bundle zip), got {len(models)}")
    labels = next((data for n, data in files.items() if n.lower().endswith(".txt")), None)
    classes = parse_labels(labels.decode("utf-8", errors="replace")) if labels is not None else None
    return load_model_bytes(files[models[0]], classes, limits)


def _bundle_members(data: bytes, limits: ModelLimits) -> dict[str, bytes]:
    """The ``.keras`` and ``labels.txt`` of a bundle zip, by base name."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            wanted = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename
                      and (i.filename.endswith(".keras") or Path(i.filename).name == LABELS_FILE)]
            if any(i.file_size > limits.max_mb * 1e6 for i in wanted):
                raise ModelCheckError(f"the bundle holds a file over {limits.max_mb} MB")
            return {Path(i.filename).name: archive.read(i) for i in wanted}
    except (zipfile.BadZipFile, OSError):
        raise ModelCheckError("this zip cannot be read; upload the bundle as downloaded") from None


def check_classifier(model: keras.Model, classes=None) -> list[str]:
    """Checks a loaded model takes ``(size, size, 3)`` pixels and gives softmax probabilities; returns its classes.

    Args:
        model: a loaded model (its input side already bounded by ``check_model_archive``).
        classes: its class names; None for the ``ClassLabels`` layer of an earlier version's model.

    Raises:
        ModelCheckError: what is wrong with it.
    """
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4 or shape[3] != 3 or shape[1] != shape[2] or not shape[1]:
        raise ModelCheckError(f"the model's input is {model.input_shape}; expected square RGB photos (None, s, s, 3)")
    if classes is None:
        try:
            classes = class_names(model)
        except ValueError as exc:
            raise ModelCheckError(str(exc)) from None
    classes = list(classes)
    if model.output_shape[-1] != len(classes):
        raise ModelCheckError(f"the model has {model.output_shape[-1]} outputs for {len(classes)} class names")
    probe = np.asarray(model(np.full((1,) + shape[1:], 127.0, np.float32), training=False))
    if np.any(probe < 0) or abs(float(probe.sum()) - 1.0) > 1e-3:
        raise ModelCheckError("the model's output is not softmax probabilities (they must be >= 0 and sum to 1)")
    return classes
