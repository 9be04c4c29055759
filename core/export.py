"""Taking a trained model away and bringing one back: ``.keras``, TensorFlow Lite, a run report, safe loading."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

import core.backbones  # noqa: F401  (registers CaffePreprocess for loading)
from core.model_checks import ModelConfigError, check_model_file
from core.transfer_model import class_names


class ModelCheckError(ValueError):
    """An uploaded model was refused; the message says why."""


def keras_bytes(model: keras.Model) -> bytes:
    """The model as the bytes of a ``.keras`` file."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return Path(path).read_bytes()


def tflite_bytes(model: keras.Model) -> bytes:
    """Converts a pixels-to-probabilities model to a TensorFlow Lite flatbuffer.

    Args:
        model: the assembled model (float32 input in 0-255).

    Returns:
        The ``.tflite`` file's bytes (float32, no quantisation, so predictions match).
    """
    import tensorflow as tf

    # The converter prints the traced function's signature to stdout; the CLI, a process of its own,
    # moves that to stderr. Here nothing is redirected: stdout is shared by every session of the app.
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


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


def load_model_file(path: str | Path) -> tuple[keras.Model, list[str]]:
    """Loads a ``.keras`` model in Keras safe mode and checks it is a Transfer Lab classifier.

    Safe mode refuses models that would run arbitrary Python code when loaded
    (a ``Lambda`` layer holding a function, for example).

    Args:
        path: the ``.keras`` file.

    Returns:
        The model and its class names.

    Raises:
        ModelCheckError: not a readable ``.keras`` file, code inside, or not pixels to softmax probabilities.
    """
    import zipfile

    if not zipfile.is_zipfile(path):
        raise ModelCheckError("this is not a readable .keras model file (a .keras file is a zip archive)")
    try:
        check_model_file(path)  # before Keras allocates a single weight
    except ModelConfigError as exc:
        raise ModelCheckError(str(exc)) from None
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except ValueError as exc:
        if "lambda" in str(exc).lower() or "safe_mode" in str(exc):
            raise ModelCheckError("this model contains Python code (a Lambda layer or similar); Transfer Lab "
                                  "only loads models in Keras safe mode, so it was refused") from None
        raise ModelCheckError(f"this is not a model Transfer Lab can load ({exc})") from None
    except Exception as exc:  # a damaged zip, h5 or config: all mean "not a model file"
        raise ModelCheckError(f"this is not a readable .keras model file ({type(exc).__name__}: {exc})") from None
    return model, check_classifier(model)


def load_model_bytes(data: bytes) -> tuple[keras.Model, list[str]]:
    """``load_model_file`` for an uploaded file's bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "uploaded.keras")
        Path(path).write_bytes(data)
        return load_model_file(path)


def check_classifier(model: keras.Model) -> list[str]:
    """Checks a loaded model takes ``(size, size, 3)`` pixels and gives softmax probabilities; returns its classes.

    Raises:
        ModelCheckError: what is wrong with it.
    """
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4 or shape[3] != 3 or shape[1] != shape[2] or not shape[1]:
        raise ModelCheckError(f"the model's input is {model.input_shape}; expected square RGB photos (None, s, s, 3)")
    try:
        classes = class_names(model)
    except ValueError as exc:
        raise ModelCheckError(str(exc)) from None
    if model.output_shape[-1] != len(classes):
        raise ModelCheckError(f"the model has {model.output_shape[-1]} outputs for {len(classes)} class names")
    probe = np.asarray(model(np.full((1,) + shape[1:], 127.0, np.float32), training=False))
    if np.any(probe < 0) or abs(float(probe.sum()) - 1.0) > 1e-3:
        raise ModelCheckError("the model's output is not softmax probabilities (they must be >= 0 and sum to 1)")
    return classes


def run_report(run: dict) -> dict:
    """A JSON-able report of a training run: dataset, classes, settings, accuracy, confusion matrix.

    Args:
        run: keys ``dataset``, ``task``, ``backbone``, ``classes``, ``settings`` (dict), ``train_count``,
            ``val_count``, ``evaluation`` (``core.evaluation.Evaluation``), ``history``, optionally ``fine_tune``.

    Returns:
        The report dictionary.
    """
    evaluation = run["evaluation"]
    report = {key: run[key] for key in ("dataset", "task", "backbone", "train_count", "val_count", "settings")}
    report.update(classes=list(run["classes"]), val_accuracy=evaluation.accuracy, per_class=evaluation.per_class,
                  confusion={"labels": list(evaluation.classes), "matrix": evaluation.confusion.tolist()},
                  history=run["history"])
    if run.get("fine_tune"):
        report["fine_tune"] = run["fine_tune"]
    return json.loads(json.dumps(report, default=float))


def report_markdown(report: dict) -> str:
    """The report as a short Markdown document."""
    lines = [f"# Transfer Lab run: {report['dataset']} by {report['task']}", "",
             f"- Backbone: {report['backbone']}",
             f"- Photos: {report['train_count']} training, {report['val_count']} validation",
             f"- Validation accuracy: {report['val_accuracy']:.1%}",
             "- Settings: " + ", ".join(f"{k} {v}" for k, v in report["settings"].items()), ""]
    if report.get("fine_tune"):
        lines.insert(5, f"- After fine-tuning: {report['fine_tune']['val_accuracy']:.1%}")
    lines += ["| class | accuracy |", "|---|---|"]
    lines += [f"| {name} | {acc:.1%} |" for name, acc in report["per_class"].items()]
    labels = report["confusion"]["labels"]
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", "",
              "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |"
              for name, row in zip(labels, report["confusion"]["matrix"])]
    return "\n".join(lines) + "\n"
