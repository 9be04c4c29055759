"""Upload folders belong to a session: replaced, failed and ended-session uploads leave nothing behind."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.data.session_files import discard, new_upload_folder, session_folder, sweep
from tests.conftest import open_page


def _zip_of_two_classes() -> bytes:
    buffer = io.BytesIO()
    photo = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(photo, "PNG")
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("cat/a.png", "cat/b.png", "dog/a.png", "dog/b.png"):
            archive.writestr(name, photo.getvalue())
    return buffer.getvalue()


def test_sweep_removes_only_ended_sessions_under_the_app_root(tmp_path):
    root = tmp_path / "uploads"
    alive, ended = new_upload_folder(root, "alive-1"), new_upload_folder(root, "ended-2")
    (root / "not-a-session").mkdir()
    assert sweep(root, {"alive-1"}) == ["ended-2"]
    assert alive.is_dir() and not ended.parent.exists() and (root / "not-a-session").is_dir()


def test_discard_never_leaves_the_app_root(tmp_path):
    learner = tmp_path / "learner"
    learner.mkdir()
    assert not discard(learner, tmp_path / "uploads")
    assert learner.is_dir()
    with pytest.raises(ValueError, match="session id"):
        session_folder(tmp_path / "uploads", "../learner")


def test_a_replaced_zip_and_a_failed_zip_leave_no_folder(tmp_path, monkeypatch):
    import ui.uploads

    monkeypatch.setattr(ui.uploads, "uploads_root", lambda: tmp_path / "uploads")
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    at.file_uploader(key="tt_zip").set_value(("first.zip", _zip_of_two_classes(), "application/zip")).run()
    first = at.session_state["transfer_page"].zip_dir[2]
    at.file_uploader(key="tt_zip").set_value(("second.zip", _zip_of_two_classes(), "application/zip")).run()
    second = at.session_state["transfer_page"].zip_dir[2]
    assert not at.exception and first != second
    folders = sorted(str(p) for p in (tmp_path / "uploads").glob("session-*/*"))
    assert folders == [second]
    at.file_uploader(key="tt_zip").set_value(("broken.zip", b"not a zip", "application/zip")).run()
    assert any("not a .zip file that can be read" in e.value for e in at.error)
    assert list((tmp_path / "uploads").glob("session-*/*")) == []


def test_classroom_upload_limit_is_stated_and_enforced(classroom, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "1")
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    assert "at most 1 MB" in at.file_uploader(key="tt_zip").help
    at.file_uploader(key="tt_zip").set_value(("big.zip", b"0" * 1_500_000, "application/zip")).run()
    assert not at.exception
    assert any("upload allowance" in e.value for e in at.error)
