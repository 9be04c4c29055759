"""A hostile learner and the teacher's folders: links leading out are never listed, read or named, and own
classes hold each photo once, within the teacher's limits."""

import numpy as np
import pytest
from PIL import Image

from core.data.datasets import load_folder
from tests.conftest import open_page


def _photo(path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def linked(tmp_path):
    """A teacher's folder with two classes, and links to a canary folder and a canary photo beside it."""
    pets, canary = tmp_path / "shared" / "pets", tmp_path / "canary"
    for k in range(5):
        _photo(pets / "cat" / f"Abyssinian_{k}.png", k)
        _photo(pets / "dog" / f"beagle_{k}.png", 10 + k)
    _photo(canary / "secret_1.png", 99)
    (pets / "canary").symlink_to(canary, target_is_directory=True)
    (pets / "cat" / "Persian_1.png").symlink_to(canary / "secret_1.png")
    (pets / "dog" / "linked").symlink_to(canary, target_is_directory=True)
    return pets


@pytest.mark.parametrize("task", ["folders", "breeds"])
def test_links_leading_out_of_a_folder_are_neither_classes_nor_photos(linked, task):
    dataset = load_folder(linked, task)
    assert "canary" not in dataset.classes and "Persian" not in dataset.classes
    names = [s.name for s in dataset.samples] + list(dataset.skipped)
    assert not any("secret" in n or "Persian" in n for n in names), names
    assert len(dataset.samples) == 10


def test_a_link_inside_the_folder_still_counts(linked):
    (linked / "dog" / "again.png").symlink_to(linked / "dog" / "beagle_0.png")
    assert len(load_folder(linked, "folders").samples) == 11


def _own_classes(classroom, monkeypatch, **limits):
    for name, value in limits.items():
        monkeypatch.setenv(name, str(value))
    for k in range(5):
        _photo(classroom / "pets" / "cat" / f"cat_{k}.png", k)
    at = open_page("app_pages/transfer_training.py")
    at.session_state["tt_mode"] = "own"
    return at.run()


def test_adding_the_same_folder_twice_keeps_each_photo_once_within_the_class_limit(classroom, monkeypatch):
    at = _own_classes(classroom, monkeypatch, TRANSFER_LAB_MAX_PHOTOS_PER_CLASS=3)
    at.selectbox(key="oc_0_folder").set_value("shared/pets/cat").run()
    at.button(key="oc_0_add_folder").click().run()
    assert any("2 photos not added" in w.value and "at most 3" in w.value for w in at.warning)
    at.button(key="oc_0_add_folder").click().run()
    assert not at.exception
    assert len(at.session_state["transfer_page"].own_classes[0].shots) == 3
    assert any("3 of these photos are already in" in i.value for i in at.info)


def test_classes_and_photos_in_all_are_capped(classroom, monkeypatch):
    at = _own_classes(classroom, monkeypatch, TRANSFER_LAB_MAX_CLASSES=2, TRANSFER_LAB_MAX_SESSION_PHOTOS=4)
    assert at.button(key="oc_add").disabled
    assert any("at most 2 classes" in c.value for c in at.caption)
    at.selectbox(key="oc_0_folder").set_value("shared/pets/cat").run()
    at.button(key="oc_0_add_folder").click().run()
    assert len(at.session_state["transfer_page"].own_classes[0].shots) == 4
    assert any("1 photos not added: your classes hold at most 4" in w.value for w in at.warning)


def test_a_linked_photo_in_a_shared_folder_is_never_read(classroom, monkeypatch, tmp_path):
    canary = tmp_path / "canary.png"
    _photo(canary, 42)
    (classroom / "pets" / "cat" / "zz_link.png").symlink_to(canary)
    at = _own_classes(classroom, monkeypatch)
    at.selectbox(key="oc_0_folder").set_value("shared/pets/cat").run()
    at.button(key="oc_0_add_folder").click().run()
    shots = at.session_state["transfer_page"].own_classes[0].shots
    assert sorted(p.name for p in shots) == [f"cat_{k}.png" for k in range(5)]


def test_the_adversarial_pages_folder_never_reads_a_linked_photo(linked):
    from ui.adversarial import folder_images

    assert [p.name for p in folder_images(str(linked / "cat"))] == [f"Abyssinian_{k}.png" for k in range(5)]
