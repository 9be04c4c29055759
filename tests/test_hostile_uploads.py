"""A hostile learner's uploads: a zip that fails to unpack, unpacks to far more than it weighs, or fills the
server's disk is refused in one line, leaves no folder behind, and leaves the uploader and the server's memory."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.data.archives import ArchiveError, ArchiveTooBig, extract_zip
from tests.conftest import open_page, top5_boxes


def _png() -> bytes:
    photo = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(photo, "PNG")
    return photo.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


FILE_THEN_FOLDER = {"cats/a.png": _png(), "cats/x": b"zeros" * 1000, "cats/x/y.png": _png(), "dogs/a.png": _png()}
LONG_NAME = {"cats/a.png": _png(), "dogs/a.png": _png(), f"dogs/{'d' * 300}/b.png": _png()}


@pytest.mark.parametrize("entries", [FILE_THEN_FOLDER, LONG_NAME], ids=["file-then-folder", "name-over-255-bytes"])
def test_an_extraction_that_fails_midway_is_an_archive_error_and_removes_what_it_wrote(tmp_path, entries):
    with pytest.raises(ArchiveError) as refused:
        extract_zip(io.BytesIO(_zip(entries)), tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert str(tmp_path) not in str(refused.value)
    given = tmp_path / "given"
    (given / "kept").mkdir(parents=True)
    with pytest.raises(ArchiveError):
        extract_zip(io.BytesIO(_zip(entries)), given)
    assert [p.name for p in given.iterdir()] == ["kept"]


def test_the_unpacked_bytes_are_counted_while_writing(tmp_path):
    with pytest.raises(ArchiveTooBig):
        extract_zip(io.BytesIO(_zip({"cats/a.png": _png(), "dogs/z.bin": bytes(3_000_000)})), tmp_path / "z",
                    max_bytes=1_000_000)
    assert not (tmp_path / "z").exists()


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    import ui.uploads

    root = tmp_path / "uploads"
    monkeypatch.setattr(ui.uploads, "uploads_root", lambda: root)
    return root


def _upload_zip(at, name: str, data: bytes, key: str = "tt_zip"):
    at.file_uploader(key=key).set_value((name, data, "application/zip")).run()
    return at


def _session_bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_a_zip_that_fails_to_unpack_leaves_no_folder_however_often_the_page_reruns(uploads):
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    _upload_zip(at, "trap.zip", _zip(FILE_THEN_FOLDER))
    for _ in range(3):
        at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and all("trap.zip" in e and "uploads" not in e for e in errors), errors
    assert _session_bytes(uploads) == 0


def test_a_small_zip_that_unpacks_past_the_allowance_is_refused_and_leaves_the_uploader(classroom, uploads,
                                                                                        monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "2")
    bomb = _zip({"cats/a.png": _png(), "dogs/a.png": _png(), "dogs/zeros.png": bytes(5_000_000)})
    assert len(bomb) < 50_000
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    _upload_zip(at, "bomb.zip", bomb)
    assert not at.exception
    assert any("bomb.zip not added" in e.value and "unpacked" in e.value for e in at.error), [e.value for e in at.error]
    assert _session_bytes(uploads) == 0
    keys = [u.key for u in at.file_uploader]
    assert "tt_zip_1" in keys and "tt_zip" not in keys  # a fresh, empty uploader
    assert at.file_uploader(key="tt_zip_1").value is None
    assert at.session_state["transfer_page"].zip_dir is None


def test_a_zip_within_the_allowance_is_charged_what_it_unpacks_to(classroom, uploads, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "2")
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    _upload_zip(at, "ok.zip", _zip({"cats/a.png": _png(), "dogs/a.png": _png(), "dogs/b.png": bytes(900_000)}))
    assert not at.exception and not at.error
    (charged, _), = at.session_state["uploads"].ledger.values()
    assert charged >= 900_000


def test_a_full_uploads_root_refuses_the_next_zip_with_a_clear_line(classroom, uploads, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOADS_TOTAL_MB", "1")
    other = uploads / "session-someone" / "upload-1"
    other.mkdir(parents=True)
    (other / "big.bin").write_bytes(bytes(1_200_000))
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("zip").run()
    _upload_zip(at, "late.zip", _zip({"cats/a.png": _png(), "dogs/a.png": _png()}))
    assert not at.exception
    assert any("server's space for uploads is full" in e.value for e in at.error)
    assert _session_bytes(uploads) == 1_200_000


def _photo_png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_photos_over_the_allowance_leave_the_uploader_and_the_servers_memory(classroom, monkeypatch, fake_backbones):
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    removed = []
    remove = MemoryUploadedFileManager.remove_file
    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file",
                        lambda self, session, file_id: removed.append(file_id) or remove(self, session, file_id))
    monkeypatch.setenv("TRANSFER_LAB_MAX_SESSION_PHOTOS", "1")
    at = open_page("app_pages/home.py")
    at.radio(key="home_source").set_value("Upload").run()
    at.file_uploader(key="home_upload").set_value([("a.png", _photo_png(1), "image/png"),
                                                   ("b.png", _photo_png(2), "image/png")]).run()
    assert not at.exception
    assert any("These 2 files were not added" in e.value for e in at.error)
    assert len(removed) == 2  # their bytes are gone from Streamlit's upload store
    assert "home_upload_1" in [u.key for u in at.file_uploader]
    assert at.session_state["uploads"].ledger == {}  # and no longer use the allowance
    at.file_uploader(key="home_upload_1").set_value([("a.png", _photo_png(1), "image/png")]).run()
    assert not at.error and len(top5_boxes(at)) == 1


def test_an_uploaded_photo_is_decoded_once_however_often_the_page_reruns(monkeypatch, fake_backbones):
    import ui.photos

    decoded = []
    decode = ui.photos.photo_from_bytes
    monkeypatch.setattr(ui.photos, "photo_from_bytes", lambda data, name: decoded.append(name) or decode(data, name))
    at = open_page("app_pages/home.py")
    at.radio(key="home_source").set_value("Upload").run()
    at.file_uploader(key="home_upload").set_value([("a.png", _photo_png(1), "image/png"),
                                                   ("bad.png", b"not a photo", "image/png")]).run()
    for _ in range(3):
        at.run()
    assert not at.exception
    assert sorted(decoded) == ["a.png", "bad.png"]
    assert any("bad.png" in e.value for e in at.error)


def test_no_uploaded_file_can_be_much_larger_than_a_photo():
    import tomllib

    from core.data.images import MAX_BYTES
    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 <= 2 * MAX_BYTES  # Streamlit keeps each file in memory
