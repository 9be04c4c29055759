"""Dataset loaders, safe archives, per-class limits, splits and the near-duplicate leakage check."""

from __future__ import annotations

import io
import shutil
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.data import datasets, public_datasets
from core.data.archives import ArchiveError, extract_tar, extract_zip
from core.data.datasets import (
    DatasetError,
    limit_per_class,
    load_cats_vs_dogs,
    load_folder,
    load_image_folder,
    load_oxford_named,
    load_oxford_pets,
    load_zip,
    oxford_label,
)
from core.data.downloads import NoNetworkError
from core.data.images import load_image_file
from core.data.splits import dhash, hamming, near_duplicate_groups, official_split, stratified_split

OXFORD_PHOTOS = {  # image id: (class id, species 1 cat / 2 dog, breed id), as in annotations/list.txt
    "Abyssinian_177": (1, 1, 1), "Abyssinian_122": (1, 1, 1), "Bengal_1": (6, 1, 6),
    "beagle_100": (11, 2, 3), "beagle_101": (11, 2, 3),
}


def _pets(shared_data: Path, pattern: str) -> list[Path]:
    return sorted((shared_data / "pets-mini").rglob(pattern))


def _oxford_archives(shared_data: Path, folder: Path) -> tuple[Path, Path]:
    """images.tar.gz and annotations.tar.gz in the official layout, from shared photos and odd files."""
    staging = folder / "staging"
    (staging / "images").mkdir(parents=True)
    (staging / "annotations").mkdir()
    sources = {p.stem: p for p in _pets(shared_data, "*.jpg")}
    for image_id in OXFORD_PHOTOS:
        source = sources.get(image_id) or _pets(shared_data, image_id.split("_")[0] + "_*.jpg")[-1]
        shutil.copy(source, staging / "images" / f"{image_id}.jpg")
    shutil.copy(shared_data / "odd" / "Abyssinian_101.mat", staging / "images")  # not an image, not listed
    shutil.copy(shared_data / "odd" / "Abyssinian_34.jpg", staging / "images")  # a GIF named .jpg, listed
    lines = [f"{i} {c} {s} {b}" for i, (c, s, b) in OXFORD_PHOTOS.items()] + ["Abyssinian_34 1 1 1"]
    header = "#Image CLASS-ID SPECIES BREED ID\n"
    (staging / "annotations" / "list.txt").write_text(header + "\n".join(lines) + "\n")
    (staging / "annotations" / "trainval.txt").write_text("\n".join(lines[:3] + lines[5:]) + "\n")
    (staging / "annotations" / "test.txt").write_text("\n".join(lines[3:5]) + "\nbeagle_999 11 2 3\n")
    archives = []
    for part in ("images", "annotations"):
        archive = folder / f"{part}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(staging / part, arcname=part)
        archives.append(archive)
    return archives[0], archives[1]


def test_oxford_pets_layout_official_split_and_tasks(shared_data, tmp_path):
    images, annotations = _oxford_archives(shared_data, tmp_path)
    root = tmp_path / "oxford"
    extract_tar(images, root)
    extract_tar(annotations, root)
    breeds = load_oxford_pets(root, "breeds")
    assert breeds.classes == ("Abyssinian", "beagle", "Bengal")
    assert sorted(s.name for s in breeds.samples) == sorted([f"{i}.jpg" for i in OXFORD_PHOTOS] + ["Abyssinian_34.jpg"])
    assert [s.split for s in breeds.samples].count("test") == 2
    assert breeds.has_official_split
    assert [str(note) for note in breeds.skipped] == ["beagle_999.jpg: listed in test.txt but missing"]
    species = load_oxford_pets(root, "species")
    assert species.classes == ("cat", "dog")
    assert species.counts() == {"cat": 4, "dog": 2}
    gif = next(s for s in breeds.samples if s.name == "Abyssinian_34.jpg")
    assert load_image_file(gif.path).shape[2] == 3  # decoded by content, not by its .jpg name


def test_oxford_download_offline_says_what_to_do_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CACHE", str(tmp_path))
    monkeypatch.setattr("core.data.downloads.network_reachable", lambda url, timeout=3.0: False)
    start = time.perf_counter()
    with pytest.raises(NoNetworkError) as info:
        public_datasets.fetch_oxford_pets()
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "network connection" in message and "images.tar.gz" in message
    assert str(tmp_path / "datasets" / "oxford-iiit-pet") in message
    with pytest.raises(NoNetworkError, match="PetImages"):
        public_datasets.fetch_cats_vs_dogs()


def test_oxford_folder_put_by_hand_needs_no_network(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("core.data.downloads.network_reachable", lambda url, timeout=3.0: pytest.fail("went online"))
    images, annotations = _oxford_archives(shared_data, tmp_path)
    root = public_datasets.oxford_pets_dir()
    assert datasets.local_datasets() == ("bundled",)
    extract_tar(images, root)
    assert datasets.local_datasets() == ("bundled",)  # images without annotations are not a usable dataset yet
    extract_tar(annotations, root)
    assert datasets.local_datasets() == ("bundled", "oxford-pets")
    assert datasets.open_dataset("oxford-pets", "species").classes == ("cat", "dog")


def _pet_images_zip(shared_data: Path, path: Path) -> Path:
    """A Cats vs Dogs zip in the PetImages layout, with a zero-byte, a non-image and a cut-short file."""
    with zipfile.ZipFile(path, "w") as archive:
        for k, photo in enumerate(_pets(shared_data, "cat/*.jpg")[:3]):
            archive.write(photo, f"PetImages/Cat/{k}.jpg")
        for k, photo in enumerate(_pets(shared_data, "dog/*.jpg")[:3]):
            archive.write(photo, f"PetImages/Dog/{k}.jpg")
        archive.writestr("PetImages/Cat/666.jpg", b"")
        archive.writestr("PetImages/Dog/Thumbs.db", b"\xd0\xcf\x11\xe0 not an image")
        archive.write(shared_data / "odd" / "truncated.jpg", "PetImages/Dog/11702.jpg")
        whole = _pets(shared_data, "dog/*.jpg")[5].read_bytes()
        archive.writestr("PetImages/Dog/cut.jpg", whole[: len(whole) // 3])
    return path


def test_cats_vs_dogs_layout_skips_and_counts_broken_files(shared_data, tmp_path):
    root = extract_zip(_pet_images_zip(shared_data, tmp_path / "kagglecatsanddogs.zip"), tmp_path / "cvd")
    dataset = load_cats_vs_dogs(root)
    assert dataset.classes == ("cat", "dog")
    assert len(dataset.skipped) == 3
    assert any("666.jpg: empty (0 bytes)" == str(note) for note in dataset.skipped)
    assert any(str(note).startswith("Thumbs.db") for note in dataset.skipped)
    assert dataset.counts() == {"cat": 3, "dog": 4}  # the cut-short one is caught when decoded


def test_a_folder_and_its_zip_give_the_same_classes_and_skip_non_photos(shared_data, tmp_path):
    folder = tmp_path / "mine"
    for name, photos in (("cats", _pets(shared_data, "cat/*.jpg")[:2]), ("dogs", _pets(shared_data, "dog/*.jpg")[:3])):
        (folder / name).mkdir(parents=True)
        for photo in photos:
            shutil.copy(photo, folder / name)
    (folder / "dogs" / "notes.txt").write_text("hello")
    dataset = load_image_folder(folder)
    assert dataset.classes == ("cats", "dogs")
    assert dataset.counts() == {"cats": 2, "dogs": 3}
    assert [str(note) for note in dataset.skipped] == ["notes.txt: not a photo file name"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for photo in folder.rglob("*.jpg"):
            archive.write(photo, f"wrapped/{photo.parent.name}/{photo.name}")
        archive.writestr("__MACOSX/wrapped/._x.jpg", b"junk")
    zipped = load_zip(io.BytesIO(buffer.getvalue()), tmp_path / "unzipped")
    assert zipped.classes == ("cats", "dogs") and zipped.counts() == {"cats": 2, "dogs": 3}


@pytest.mark.parametrize("entry", ["../evil.jpg", "/etc/evil.jpg", "ok/../../evil.jpg", "C:/evil.jpg",
                                   "..\\evil.jpg"])
def test_zip_slip_is_refused_before_writing(tmp_path, entry):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cats/fine.jpg", b"x")
        archive.writestr(entry, b"evil")
    with pytest.raises(ArchiveError, match="outside its folder"):
        extract_zip(buffer, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.jpg").exists()


def test_zip_bomb_is_refused_by_size_and_by_count(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cats/big.jpg", b"\0" * 5_000_000)
    assert len(buffer.getvalue()) < 20_000
    with pytest.raises(ArchiveError, match="unpacks to 5 MB, more than the 1 MB allowed"):
        extract_zip(buffer, tmp_path / "out", max_bytes=1_000_000)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for k in range(11):
            archive.writestr(f"cats/{k}.jpg", b"x")
    with pytest.raises(ArchiveError, match="11 files, more than the 10 allowed"):
        extract_zip(many, tmp_path / "out2", max_files=10)
    with pytest.raises(ArchiveError, match="not a readable .zip"):
        extract_zip(io.BytesIO(b"not a zip"), tmp_path / "out3")


def test_zip_with_lying_sizes_is_stopped_while_writing(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cats/big.jpg", b"\0" * 3_000_000)
    data = bytearray(buffer.getvalue())
    # Patch the central directory's uncompressed size to 10 bytes (a lying header).
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(ArchiveError):
        extract_zip(io.BytesIO(bytes(data)), tmp_path / "out", max_bytes=1_000_000)


def test_oxford_names_give_breed_and_species():
    assert oxford_label("Abyssinian_11.jpg", "breeds") == "Abyssinian"
    assert oxford_label("Abyssinian_11.jpg", "species") == "cat"
    assert oxford_label("great_pyrenees_3.jpg", "breeds") == "great_pyrenees"
    assert oxford_label("great_pyrenees_3.jpg", "species") == "dog"
    assert oxford_label("holiday.jpg", "breeds") is None


def test_pets_mini_by_breed_and_species(shared_data):
    breeds = load_oxford_named(shared_data / "pets-mini", "breeds")
    assert len(breeds.classes) == 37 and len(breeds.samples) == 300
    assert sum(c[0].isupper() for c in breeds.classes) == 12
    assert breeds.counts()["Abyssinian"] == 25 and breeds.counts()["beagle"] == 6
    assert load_folder(shared_data / "pets-mini", "species").counts() == {"cat": 150, "dog": 150}
    assert load_folder(shared_data / "pets-mini", "folders").classes == ("cat", "dog")
    with pytest.raises(DatasetError, match="at least 2"):
        load_oxford_named(shared_data / "pets-mini" / "cat", "species")


def test_limit_per_class_is_seeded(shared_data):
    breeds = load_oxford_named(shared_data / "pets-mini", "breeds")
    small = limit_per_class(breeds, 7, seed=1)
    assert set(small.counts().values()) == {6, 7}  # dog breeds have 6
    assert [s.name for s in small.samples] == [s.name for s in limit_per_class(breeds, 7, seed=1).samples]
    assert [s.name for s in small.samples] != [s.name for s in limit_per_class(breeds, 7, seed=2).samples]
    assert limit_per_class(breeds, 0) is breeds


def test_stratified_split_exact_sizes_and_seed():
    labels = np.array([0] * 10 + [1] * 5)
    split = stratified_split(labels, 0.2, seed=3)
    assert len(split.val) == 3 and np.bincount(labels[split.val]).tolist() == [2, 1]
    assert sorted(np.concatenate([split.train, split.val]).tolist()) == list(range(15))
    assert split.val.tolist() == stratified_split(labels, 0.2, seed=3).val.tolist()
    with pytest.raises(ValueError):
        stratified_split(labels, 1.0)


def test_duplicate_groups_stay_on_one_side():
    labels = np.array([0] * 6 + [1] * 6)
    groups = [[0, 1, 2], [6, 7]]
    for seed in range(20):
        split = stratified_split(labels, 0.5, seed=seed, groups=groups)
        val = set(split.val.tolist())
        for group in groups:
            assert len({i in val for i in group}) == 1
    crossing = official_split(["train", "test", "train", "test"], [[0, 1], [2]])
    assert crossing.crossing_groups == 1 and crossing.val.tolist() == [1, 3]


def test_near_duplicate_found_across_names(shared_data):
    renamed = load_image_file(shared_data / "odd" / "Abyssinian_11.jpg")
    original = load_image_file(shared_data / "pets-mini" / "cat" / "Abyssinian_177.jpg")
    other = load_image_file(shared_data / "pets-mini" / "cat" / "Abyssinian_101.jpg")
    assert renamed.shape != original.shape
    assert hamming(dhash(renamed), dhash(original)) <= 2
    assert hamming(dhash(renamed), dhash(other)) > 8
    hashes = [dhash(other), dhash(original), dhash(renamed)]
    assert near_duplicate_groups(hashes) == [[1, 2]]
    assert near_duplicate_groups([0, 0b111, 0b11111111]) == [[0, 1]]


def test_reading_a_folder_leaves_macosx_litter_in_place(shared_data, tmp_path):
    for species in ("cat", "dog"):
        (tmp_path / species).mkdir()
        for photo in _pets(shared_data, f"{species}/*.jpg")[:2]:
            (tmp_path / species / photo.name).write_bytes(photo.read_bytes())
    litter = tmp_path / "__MACOSX" / "cat" / "._x.jpg"
    litter.parent.mkdir(parents=True)
    litter.write_bytes(b"resource fork")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    dataset = load_folder(tmp_path)
    assert tuple(dataset.classes) == ("cat", "dog")
    assert litter.read_bytes() == b"resource fork"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_bundled_pets_are_cats_and_dogs_by_species_or_by_breed(monkeypatch):
    monkeypatch.setattr("core.data.downloads.network_reachable", lambda url, timeout=3.0: pytest.fail("went online"))
    species = datasets.open_dataset("bundled", "species")
    assert species.name == "Bundled pets" and species.counts() == {"cat": 24, "dog": 24}
    assert not species.skipped
    breeds = datasets.open_dataset("bundled", "breeds")
    assert len(breeds.classes) == 8 and set(breeds.counts().values()) == {6}
    assert sum(name[0].isupper() for name in breeds.classes) == 4  # Oxford names: cat breeds are capitalised
    with pytest.raises(datasets.DatasetError, match="species"):
        datasets.bundled_pets("folders")


def test_bundled_samples_include_cats_and_dogs_and_stay_small():
    from core.data.images import load_image_file

    samples = datasets.bundled_samples()
    assert any(label.startswith(("Leonberger dog", "Samoyed dog")) for label in samples)
    assert any("cat" in label for label in samples)
    for path in samples.values():
        assert load_image_file(path).shape[2] == 3
    photos = [p for p in datasets.ASSETS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in photos) <= 12 * 2**20
    assert "CC BY-SA 4.0" in (datasets.ASSETS_DIR / "ATTRIBUTION.md").read_text()


def test_a_folder_without_permission_is_one_clear_message(tmp_path, monkeypatch):
    (tmp_path / "locked" / "cat").mkdir(parents=True)

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "iterdir", refuse)  # root may read anything, so the refusal is simulated
    with pytest.raises(datasets.DatasetError, match="may not read that folder"):
        datasets.load_folder(tmp_path / "locked", "folders")
