"""Bringing a model back safely: checks on a .keras file's size and config before Keras builds anything, then
loading in safe mode with its labels (from the zip, labels.txt or a bundle) and checking it is a classifier."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

import core.models.backbones  # noqa: F401  (registers CaffePreprocess for loading)
from core.errors import LabError
from core.transfer.config_check import ConfigCaps, ConfigCheckError, ConfigSummary, check_config
from core.transfer.export import LABELS_FILE, parse_labels
from core.transfer.model import class_names

MAX_MEMBERS = 16  # a .keras holds 3-4 files, a bundle 6
MAX_CONFIG_BYTES = 8_000_000


class ModelCheckError(LabError, ValueError):
    """An uploaded model was refused; the message says why."""


@dataclass(frozen=True)
class ModelLimits:
    """What an uploaded model may be, checked from its config before any array is built."""

    max_mb: int = 200
    max_side: int = 1024
    max_params: int = 60_000_000
    max_seconds: float = 60.0  # the whole check, loading and the first prediction included
    caps: ConfigCaps = ConfigCaps()

    def __post_init__(self):
        if self.max_mb < 1 or self.max_side < 32 or self.max_params < 1000:
            raise ValueError(f"model limits too small: {self}")


def check_model_archive(path: str | Path, limits: ModelLimits = ModelLimits()) -> ConfigSummary:
    """Checks a ``.keras`` file from its size and config alone, before Keras builds anything.

    Reads ``config.json`` from the zip (a few members, each capped) and works out every tensor's shape from
    the JSON (``core.transfer.config_check``): every input side must be at most ``limits.max_side``, every
    tensor and the layer count within ``limits.caps``, and the parameters at most ``limits.max_params``.
    No layer is built, so a few-KB file cannot make the process build thousands of layers or huge arrays.

    Raises:
        ModelCheckError: what is wrong with it.
    """
    path = Path(path)
    if path.stat().st_size > limits.max_mb * 1e6:
        raise ModelCheckError("model_too_big", mb=path.stat().st_size / 1e6, limit_mb=limits.max_mb)
    config = _read_config(path, limits)
    try:
        summary = check_config(config, replace(limits.caps, max_side=limits.max_side))
    except ConfigCheckError as exc:  # the learner reads one line; the CLI and the log get the detail
        raise ModelCheckError("model_config_refused", detail=str(exc)) from None
    if summary.params > limits.max_params:
        raise ModelCheckError("model_too_many_params", count=summary.params, limit=limits.max_params)
    return summary


def _read_config(path: Path, limits: ModelLimits) -> dict:
    """The parsed ``config.json`` of a ``.keras`` zip whose members are few and within the size limits."""
    if not zipfile.is_zipfile(path):
        raise ModelCheckError("model_not_zip")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS or sum(info.file_size for info in infos) > 2 * limits.max_mb * 1e6:
                raise ModelCheckError("model_unpacks_too_big", limit_mb=2 * limits.max_mb, files=MAX_MEMBERS)
            return json.loads(read_capped(archive, archive.getinfo("config.json"), MAX_CONFIG_BYTES))
    except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError, RecursionError,
            EOFError, RuntimeError, NotImplementedError):
        raise ModelCheckError("model_no_config") from None


def read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """One member's bytes, refused once more than ``cap`` come out (a header may lie about the size)."""
    if info.file_size > cap:
        raise ModelCheckError("model_member_too_big", file=Path(info.filename).name, limit_mb=cap / 1e6)
    with archive.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise ModelCheckError("model_member_too_big", file=Path(info.filename).name, limit_mb=cap / 1e6)
    return data


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
    started = time.monotonic()
    check_model_archive(path, limits)
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as exc:
        if "lambda" in str(exc).lower() or "safe_mode" in str(exc):
            raise ModelCheckError("model_has_code") from None
        raise ModelCheckError("model_cannot_load", reason=str(exc)) from None
    except Exception as exc:  # a damaged zip, h5 or config: all mean "not a model file"
        raise ModelCheckError("model_unreadable", reason=f"{type(exc).__name__}: {exc}") from None
    if classes is None:
        classes = _labels_inside(path)
    classes = check_classifier(model, classes)
    if time.monotonic() - started > limits.max_seconds:
        raise ModelCheckError("model_too_slow", seconds=limits.max_seconds)
    return model, classes


def _labels_inside(path) -> list[str] | None:
    """The ``labels.txt`` inside a ``.keras`` zip, or None."""
    with zipfile.ZipFile(path) as archive:
        if LABELS_FILE not in archive.namelist() or archive.getinfo(LABELS_FILE).file_size > 1_000_000:
            return None
        return parse_labels(archive.read(LABELS_FILE).decode("utf-8", errors="replace"))


def load_model_bytes(data: bytes, classes=None, limits: ModelLimits = ModelLimits()) -> tuple[keras.Model, list[str]]:
    """``load_model_file`` for an uploaded file's bytes."""
    if len(data) > limits.max_mb * 1e6:
        raise ModelCheckError("model_too_big", mb=len(data) / 1e6, limit_mb=limits.max_mb)
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
        raise ModelCheckError("model_count", count=len(models))
    labels = next((data for n, data in files.items() if n.lower().endswith(".txt")), None)
    classes = parse_labels(labels.decode("utf-8", errors="replace")) if labels is not None else None
    return load_model_bytes(files[models[0]], classes, limits)


def _bundle_members(data: bytes, limits: ModelLimits) -> dict[str, bytes]:
    """The ``.keras`` and ``labels.txt`` of a bundle zip, by base name: one model, the sizes checked first."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            wanted = [i for i in infos if not i.is_dir() and "__MACOSX" not in i.filename
                      and (i.filename.endswith(".keras") or Path(i.filename).name == LABELS_FILE)]
            models = [i for i in wanted if i.filename.endswith(".keras")]
            if len(infos) > MAX_MEMBERS or len(models) > 1:
                raise ModelCheckError("bundle_count", count=len(models), files=len(infos))
            if sum(i.file_size for i in wanted) > limits.max_mb * 1e6:
                raise ModelCheckError("bundle_member_too_big", limit_mb=limits.max_mb)
            return {Path(i.filename).name: read_capped(archive, i, int(limits.max_mb * 1e6)) for i in wanted}
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise ModelCheckError("bundle_unreadable") from None


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
        raise ModelCheckError("model_input_shape", shape=str(model.input_shape))
    if classes is None:
        try:
            classes = class_names(model)
        except ValueError:
            raise ModelCheckError("model_no_class_names") from None
    classes = list(classes)
    if model.output_shape[-1] != len(classes):
        raise ModelCheckError("model_outputs_mismatch", outputs=int(model.output_shape[-1]), count=len(classes))
    probe = np.asarray(model(np.full((1,) + shape[1:], 127.0, np.float32), training=False))
    if np.any(probe < 0) or abs(float(probe.sum()) - 1.0) > 1e-3:
        raise ModelCheckError("model_not_softmax")
    return classes
