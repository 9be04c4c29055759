"""Classroom mode as a learner meets it: no path can be typed anywhere, only the teacher's folders are listed."""

import pytest

from tests.conftest import open_page

_REAL = pytest.mark.real_backbone  # these pages run the real Lite0 on their sample photo as soon as they open
PAGES = [pytest.param("app_pages/home.py", marks=_REAL), pytest.param("app_pages/feature_maps.py", marks=_REAL),
         "app_pages/transfer_training.py", "app_pages/ideal_cat.py",
         pytest.param("app_pages/adversarial_dog.py", marks=_REAL)]
PATH_WORDS = ("folder", "path", "directory")


def _page_text(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success") for e in at.get(kind)]
    parts += [str(option) for box in at.selectbox for option in box.options]
    parts += [str(option) for radio in at.radio for option in radio.options]
    return "\n".join(str(p) for p in parts)


def _no_path_box(at) -> None:
    typed = [box.label for box in at.text_input if any(word in box.label.lower() for word in PATH_WORDS)]
    assert typed == [], f"text inputs that take a path in classroom mode: {typed}"


def _show_every_folder_chooser(at, page: str) -> None:
    """Selects the choices that reveal a folder field on each page."""
    if page.endswith("transfer_training.py"):
        at.radio(key="tt_source").set_value("folder").run()
    if page.endswith("adversarial_dog.py"):
        at.radio(key="adv_where").set_value("folder").run()


@pytest.mark.parametrize("page", PAGES)
def test_no_page_takes_a_typed_path_in_classroom_mode(classroom, page):
    at = open_page(page)
    _show_every_folder_chooser(at, page)
    assert not at.exception
    _no_path_box(at)
    assert "secret-learner-folder" not in _page_text(at)
    assert "Classroom mode" in "\n".join(e.value for e in at.sidebar.get("info"))


def test_classroom_lists_only_the_shared_folders(classroom):
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("folder").run()
    options = at.selectbox(key="tt_folder").options
    assert options == ["shared", "shared/pets", "shared/pets/cat", "shared/pets/dog"]
    at.session_state["tt_mode"] = "own"
    at.run()
    _no_path_box(at)
    assert "secret-learner-folder" not in _page_text(at)


def test_a_learner_cannot_start_a_dataset_download(classroom, monkeypatch):
    from core.data import downloads

    started = []
    monkeypatch.setattr(downloads, "network_reachable", lambda *a, **k: started.append(a) or False)
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("oxford-pets").run()
    at.button(key="tt_train").click().run(timeout=240)
    assert not at.exception
    assert started == []
    assert any("python -m core download-dataset oxford-pets" in e.value for e in at.info)
