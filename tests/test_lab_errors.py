"""Errors as data (issues 20 and 22): every problem core reports is a code with arguments; the learner reads its
catalogue entry in their language, never core's English and never a server path or a session id."""

from __future__ import annotations

import os
import pickle
import string
import tempfile
import uuid
from pathlib import Path

import pytest

from core.data.archives import ArchiveError, extract_zip
from core.data.datasets import DatasetError, load_folder, open_dataset
from core.data.downloads import NoNetworkError, download
from core.data.images import ImageInputError, load_image, load_image_file
from core.data.safe_paths import FolderError, typed_folder
from core.errors import MESSAGES, LabError, arguments
from core.transfer.loading import ModelCheckError, check_model_archive
from tests.conftest import ROOT
from tests.i18n_text import chinese_left, english_left
from tests.server_paths import leaks
from ui.errors import describe
from ui.i18n import LANGUAGES, catalogue
from ui.text import plain

FAMILY = "lab_error."
UI_ONLY = {"unexpected"}  # the line for a problem that is not coded (a bug): its kind only
SESSION = str(uuid.uuid4())
# Where the app keeps a learner's unpacked upload, and the teacher's shared data and Keras folders: the values
# core passes as ``path``, ``downloads`` and in ``reason`` (an OSError's text names its file).
UPLOADS = Path(tempfile.gettempdir()) / f"transfer-lab-uploads-{os.getuid()}" / f"session-{SESSION}" / "upload-k3j4h5l6"
KERAS_HOME = Path.home() / ".keras" / "models"


def _arguments_as_core_passes_them() -> dict[str, object]:
    texts = dict(
        path=str(UPLOADS / "cats"), downloads=str(KERAS_HOME / "downloads"), dataset=UPLOADS.name,
        reason=f"[Errno 2] No such file or directory: '{UPLOADS / 'cats' / 'x.jpg'}'", file="tabby cat.jpg",
        entry="cats/tabby.jpg", url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/", label="PGD",
        state="running", variable="TRANSFER_LAB_MAX_EPOCHS", value="-3", kind="ConverterError", view="flipped",
        shape="(None, 224, 224, 1)", tasks="species, breeds, folders", task="breeds", formats="JPEG, PNG",
        algorithm="sha256", list="test.txt", detail=f"the model has 2,000 layers; at most 500 are allowed ({UPLOADS})")
    numbers = dict(count=3, limit=60, mb=12.5, limit_mb=10, width=9000, height=8000, side=4096, outputs=3, files=80,
                   seconds=20.0)
    return {**texts, **numbers}


def example(code: str) -> LabError:
    """The error ``code`` with each argument as core would fill it, server paths included."""
    values = _arguments_as_core_passes_them()
    return LabError(code, **{name: values[name] for name in arguments(code)})


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_code_has_an_entry_in_both_catalogues_and_every_entry_a_code():
    for lang in LANGUAGES:
        keys = {key[len(FAMILY):] for key in catalogue(lang) if key.startswith(FAMILY)}
        assert keys - UI_ONLY == set(MESSAGES)


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_an_entry_uses_only_its_codes_arguments(code):
    for lang in LANGUAGES:
        assert _placeholders(catalogue(lang)[FAMILY + code]) <= arguments(code)


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_renders_in_both_languages_without_a_server_path(code):
    error = example(code)
    english, chinese = describe(error, "en"), describe(error, "zh")
    assert chinese_left([english]) == []
    assert english_left([chinese]) == []
    assert str(error) not in chinese
    assert leaks(english) == [] and leaks(chinese) == []


def test_every_code_is_raised_or_recorded_somewhere_in_core():
    sources = "".join(path.read_text() for path in (ROOT / "core").rglob("*.py") if path.name != "errors.py")
    assert [code for code in MESSAGES if f'"{code}"' not in sources] == []


def test_the_cli_keeps_its_english_with_the_paths_it_needs():
    error = example("dataset_no_class_folders")
    assert str(error) == f"{UPLOADS / 'cats'} has no class folders with photos in them (expected class_name/photo.jpg)"


@pytest.mark.parametrize("kind", [LabError, ArchiveError, DatasetError, ModelCheckError, NoNetworkError])
def test_errors_pickle_so_a_worker_can_send_them_back(kind):
    error = kind("archive_too_big", mb=5000.0, limit_mb=200.0)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is kind
    assert (back.code, back.params, str(back)) == (error.code, error.params, str(error))


def test_a_code_needs_exactly_its_arguments():
    with pytest.raises(KeyError, match="no_such_code"):
        LabError("no_such_code")
    with pytest.raises(TypeError, match="archive_too_big takes"):
        LabError("archive_too_big", mb=5)
    with pytest.raises(TypeError):
        LabError("archive_not_zip", reason="x", path="/tmp/x")


def test_learner_names_inside_an_error_are_plain_text():
    error = ImageInputError("image_damaged", file="![x](http://127.0.0.1:9/x.png).jpg")
    assert describe(error, "en").startswith(plain("![x](http://127.0.0.1:9/x.png).jpg") + " is damaged")


def test_something_that_is_not_coded_shows_its_kind_only():
    line = describe(OSError(f"cannot write {UPLOADS}"), "zh")
    assert "OSError" in line and leaks(line) == [] and english_left([line]) == []


def _real_errors(tmp_path: Path) -> list[LabError]:
    """Errors core raises for real, each about a folder under a session's uploads or the teacher's data."""
    session = tmp_path / "transfer-lab-uploads-0" / f"session-{SESSION}" / "upload-abcdef12"
    (session / "cats").mkdir(parents=True)
    (session / "notes.txt").write_text("not a photo")
    (session / "bad.zip").write_bytes(b"PK not really")
    (session / "bad.keras").write_bytes(b"not a model")
    errors = []
    attempts = [
        lambda: load_folder(session), lambda: load_folder(session / "missing"), lambda: open_dataset(
            str(session / "gone"), "folders"), lambda: extract_zip(session / "bad.zip", session / "out"),
        lambda: load_image_file(session / "notes.txt"), lambda: load_image(b"", "empty.jpg"),
        lambda: typed_folder(str(session / "missing")), lambda: check_model_archive(session / "bad.keras"),
        lambda: download("http://127.0.0.1:9/weights.h5", session / "weights.h5"),
    ]
    for attempt in attempts:
        with pytest.raises((DatasetError, ArchiveError, ImageInputError, FolderError, ModelCheckError,
                            NoNetworkError)) as caught:
            attempt()
        errors.append(caught.value)
    return errors


def test_real_errors_about_session_folders_name_no_path(tmp_path, monkeypatch):
    monkeypatch.setattr("core.data.downloads.network_reachable", lambda *args, **kwargs: False)
    errors = _real_errors(tmp_path)
    assert any(str(tmp_path) in str(error) for error in errors)  # the CLI's English names them ...
    for error in errors:
        for lang in LANGUAGES:
            assert leaks(describe(error, lang)) == [], error.code  # ... the learner's line never does


def _placeholder_values(lang: str) -> dict[str, object]:
    """Each placeholder of the catalogue filled the way the code fills it, from real server paths."""
    problem = describe(example("dataset_no_class_folders"), lang)
    texts = dict(
        # names the code derives from a folder or file: only its last part, as plain text
        folder=plain((UPLOADS / "cats").name), name=plain("tabby cat.jpg"), names=plain("model.keras, labels.txt"),
        photo=plain("tabby cat.jpg"), photos=plain("tabby cat.jpg"), dataset=plain("cats"),
        datasets="Oxford-IIIT Pet", source="oxford-pets", note=problem, problem=problem, error=problem,
        command="python -m core download-weights mobilenet_v2", package="efficientnet-lite",
        # the rest are the app's own words and numbers
        action="This page", allowance="200 MB", breed="Bengal", classes="cat, dog", fallback="Siamese",
        hardware="CPU", help="Help.", kind="OSError", label="Training on cats", layer="block_16", letter="A",
        method="PGD", mode="mixed", model="MobileNetV2", network="MobileNetV2", networks="MobileNetV2, ResNet50",
        page="Home",
        mark="✅", words="ready offline", place="2", precision="float32", predicted="cat", query=plain("tabby"),
        stage="middle", suffixes=".jpg",
        target="tabby", task="species", teaches="features", text="Help.", title="Home", true="dog", view="flipped")
    numbers = dict.fromkeys(
        ("accuracy", "amplified", "cached", "cap", "change", "channel", "count", "crossing", "depth", "done",
         "duration", "epoch", "eps", "factor", "fewest", "fooled", "fraction", "groups", "height", "index", "l2",
         "left", "limit", "linf", "mb", "mean", "minimum", "minutes", "most", "n", "number", "points", "prob",
         "quality", "radius", "rate", "scale", "seconds", "seed", "side", "size", "skipped", "step", "steps",
         "target_prob", "total", "train", "val", "views", "width", "limit_mb", "outputs"), 3)
    return {**numbers, **texts}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_no_catalogue_entry_shows_a_server_path(lang):
    values = _placeholder_values(lang)
    for key, text in catalogue(lang).items():
        code = key[len(FAMILY):] if key.startswith(FAMILY) and key[len(FAMILY):] in MESSAGES else None
        names = _placeholders(text) - (arguments(code) if code else set())
        assert names <= set(values), f"{key}: say how the code fills {sorted(names - set(values))}"
        line = describe(example(code), lang) if code else text.format(**values)
        assert leaks(line) == [], f"{key}: {line}"


def _zip_of_photos(classes: dict[str, int]) -> bytes:
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, shade in classes.items():
            for k in range(4):
                photo = io.BytesIO()
                noise = np.random.default_rng(shade + k).integers(0, 255, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(noise).save(photo, "PNG")  # unlike photos: the near-duplicate check keeps them
                archive.writestr(f"{name}/{k}.png", photo.getvalue())
    return buffer.getvalue()


def test_a_run_on_an_uploaded_zip_is_named_after_the_zip_not_its_server_folder(fake_backbones, tmp_path,
                                                                               monkeypatch):
    import ui.uploads
    from tests.conftest import open_page

    monkeypatch.setattr(ui.uploads, "uploads_root", lambda: tmp_path / f"session-{SESSION}")
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    at.file_uploader(key="tt_zip").set_value(("my pets.zip", _zip_of_photos({"cat": 40, "dog": 200}),
                                              "application/zip")).run()
    at.number_input(key="tt_epochs").set_value(1).run()
    at.button(key="tt_train").click().run()
    assert not at.exception and [e.value for e in at.error] == []
    assert [run.dataset for run in at.session_state["transfer_page"].runs] == ["my pets"]
    assert any("my pets" in header.value for header in at.subheader)  # the conftest guard checked for folders
