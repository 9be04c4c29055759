"""A hostile learner and the session: no download they can start in classroom mode, no element key they can
make collide, and a closed tab's session that nobody can take over."""

import fcntl
import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, top5_boxes


def _png(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _home() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def test_the_same_photo_under_two_names_gets_two_charts_on_home(fake_backbones):
    at = _home()
    at.radio(key="home_source").set_value("Upload").run()
    photo = _png()
    at.file_uploader(key="home_upload").set_value([("cat.png", photo, "image/png"), ("same cat.png", photo,
                                                                                      "image/png")]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(top5_boxes(at)) == 2


def _sidebar_download_buttons(at) -> list[str]:
    return [b.key for b in at.sidebar.button if str(b.key).startswith("download_")]


def test_learners_get_no_weights_download_in_classroom_mode(fake_backbones, classroom):
    at = _home()
    assert not at.exception
    assert _sidebar_download_buttons(at) == []
    words = "\n".join(m.value for m in at.sidebar.markdown)
    assert "your teacher can add them with `python -m core download-weights resnet50`" in words


def test_personal_mode_keeps_the_download_button(fake_backbones):
    at = _home()
    assert "download_resnet50" in _sidebar_download_buttons(at)


def test_the_weights_download_holds_the_datasets_lock(tmp_path, monkeypatch):
    from core.models import backbones

    target = tmp_path / "keras" / "resnet50.h5"
    monkeypatch.setattr(backbones, "keras_weights_path", lambda spec: target)
    seen = []

    def fake_download(url, dest, *args, **kwargs):
        with open(dest.parent / f"{dest.name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append("free")
            except BlockingIOError:
                seen.append("held")
        return dest

    monkeypatch.setattr(backbones, "download", fake_download)
    backbones.download_keras_weights("resnet50")
    assert seen == ["held"]


class _Info:
    def __init__(self, identifier):
        self.session = type("Session", (), {"id": identifier})()


class _Runtime:
    """The two session lists and the logout hook of Streamlit's runtime, as ``refuse_closed`` reads them."""

    def __init__(self):
        self.active, self.stored, self.refused = {"open"}, {"closed"}, set()
        self._session_mgr = self

    def list_active_sessions(self):
        return [_Info(i) for i in self.active]

    def list_sessions(self):
        return [_Info(i) for i in self.active | self.stored]

    def mark_session_nonresumable(self, identifier):
        self.refused.add(identifier)


def test_a_tab_closed_past_the_grace_can_no_longer_be_reattached():
    from ui.session import CLOSED_GRACE_S, refuse_closed

    runtime, seen = _Runtime(), {}
    assert refuse_closed(runtime, seen, 100.0) == []  # a network blip reconnects within the grace
    assert refuse_closed(runtime, seen, 100.0 + CLOSED_GRACE_S) == ["closed"]
    assert runtime.refused == {"closed"}
    runtime.stored = set()
    refuse_closed(runtime, seen, 200.0)
    assert seen == {}


def test_upload_folders_do_not_carry_the_session_id(tmp_path, monkeypatch):
    import ui.uploads
    from ui.session import session_token

    monkeypatch.setattr(ui.uploads, "uploads_root", lambda: tmp_path)
    at = AppTest.from_string("import ui.uploads as u\nu.new_upload_dir()", default_timeout=30).run()
    assert not at.exception
    folder, = tmp_path.iterdir()
    identifier = "test session id"  # AppTest's
    assert identifier.replace(" ", "_") not in folder.name and folder.name == f"session-{session_token(identifier)}"
    assert session_token("a") != session_token("b") and len(session_token("a")) == 32
