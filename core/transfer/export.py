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
from pathlib import Path

import keras
import numpy as np

import core.models.backbones  # noqa: F401  (registers CaffePreprocess for loading)
from core.errors import LabError

LABELS_FILE = "labels.txt"
MODEL_FILE = "model.keras"
PREDICT_FILE = "predict.py"
_LOG = logging.getLogger(__name__)


class ExportError(LabError, RuntimeError):
    """A model could not be converted for taking away; the message says why."""


def labels_text(classes) -> str:
    """``labels.txt``: one class name a line, in output order."""
    names = [str(c) for c in classes]
    if any("\n" in name or "\r" in name for name in names):
        raise ExportError("export_line_break")
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
        raise ExportError("export_tflite", kind=type(exc).__name__) from None


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


def run_report(run: dict) -> dict:
    """A JSON-able report of a training run: dataset, classes, settings, accuracy, confusion matrix.

    Args:
        run: keys ``dataset``, ``task``, ``backbone``, ``classes``, ``settings`` (dict), ``train_count``,
            ``val_count``, ``evaluation`` (``Evaluation``), ``history``, optionally ``fine_tune``.

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
