"""Image datasets for transfer training: Oxford-IIIT Pet, Microsoft Cats vs Dogs, folders and zips.

A ``Dataset`` is a list of ``Sample`` (a file or an in-memory photo with its
class index) and the class names. Nothing is decoded here: photos are read
when their embeddings are computed (``core.data.embeddings``), where unreadable
ones are skipped and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.data.archives import dataset_root, extract_zip
from core.data.images import IMAGE_SUFFIXES, PIL_FORMATS
from core.data.public_datasets import (
    _cats_vs_dogs_ready,
    _oxford_pets_ready,
    cats_vs_dogs_dir,
    fetch_cats_vs_dogs,
    fetch_oxford_pets,
    oxford_pets_dir,
)
from core.data.safe_paths import files_inside, stays_inside
from core.errors import LabError

TASKS = ("species", "breeds", "folders")
# (file, md5): the checksums torchvision and TFDS pin for the official archives.
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
BUNDLED = "bundled"
# Label shown to the learner -> file in assets/samples (licences in assets/ATTRIBUTION.md).
BUNDLED_SAMPLES = {
    "Chelsea the cat (scikit-image, CC0)": "cat_closeup_tabby.jpg",
    "Bengal cat (Oxford-IIIT Pet, CC BY-SA)": "cat_bengal_fullbody.jpg",
    "Leonberger dog (Oxford-IIIT Pet, CC BY-SA)": "dog_closeup_leonberger.jpg",
    "Samoyed dog (Oxford-IIIT Pet, CC BY-SA)": "dog_samoyed_fullbody.jpg",
    "Coffee cup (scikit-image, CC0)": "nonpet_coffee_cup.jpg",
}
_OXFORD_NAME = re.compile(r"^(?P<breed>[A-Za-z][A-Za-z_]*?)_(?P<number>\d+)\.[A-Za-z]+$")


class DatasetError(LabError, ValueError):
    """A dataset could not be used; the message says what to do."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One photo: a file (``path``) or in-memory pixels (``image``), and its class index."""

    name: str
    label: int
    path: str = ""
    image: np.ndarray | None = None
    digest: str = ""
    split: str = ""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Photos with labels, the class names, and what was left out and why."""

    name: str
    task: str
    classes: tuple[str, ...]
    samples: tuple[Sample, ...]
    skipped: tuple[LabError, ...] = ()  # each says which file and why (codes skipped_*)

    def __post_init__(self):
        if len(self.classes) < 2:
            raise DatasetError("dataset_too_few_classes", dataset=self.name, count=len(self.classes), task=self.task)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Photos per class name, in class order."""
        counts = Counter(s.label for s in self.samples)
        return {name: counts.get(i, 0) for i, name in enumerate(self.classes)}

    @property
    def has_official_split(self) -> bool:
        return bool(self.samples) and all(s.split for s in self.samples)


def oxford_label(file_name: str, task: str) -> str | None:
    """The class of an Oxford-named file (``<breed>_<n>.jpg``), or None if the name does not fit.

    Args:
        file_name: e.g. ``"Abyssinian_11.jpg"`` (a cat: upper-case first letter).
        task: ``"breeds"`` or ``"species"``.

    Returns:
        The breed name, ``"cat"``/``"dog"``, or None.
    """
    match = _OXFORD_NAME.match(file_name)
    if not match:
        return None
    breed = match["breed"]
    if task == "breeds":
        return breed
    return "cat" if breed[0].isupper() else "dog"


def _is_image_name(path: Path) -> bool:
    """A visible file with a photo suffix."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def _build(name: str, task: str, labelled: list[tuple[Path, str, str]], skipped: list[LabError]) -> Dataset:
    """Makes a Dataset from (path, class name, split) triples, classes sorted by name."""
    classes = tuple(sorted({label for _, label, _ in labelled}, key=lambda c: (c.lower(), c)))
    index = {c: i for i, c in enumerate(classes)}
    samples = tuple(Sample(p.name, index[label], str(p), split=split) for p, label, split in labelled)
    if len(classes) < 2:
        raise DatasetError("dataset_too_few_classes", dataset=name, count=len(classes), task=task)
    return Dataset(name, task, classes, samples, tuple(skipped))


def load_image_folder(folder: str | Path, name: str = "") -> Dataset:
    """Reads an ImageFolder layout: one sub-folder per class, photos inside.

    Args:
        folder: the folder holding the class folders (a single wrapping folder is skipped).
        name: what to call the dataset; the folder name by default.

    Returns:
        The dataset (task ``"folders"``); files that are not photos are listed in ``skipped``.
    """
    top = _existing_folder(folder).resolve()
    root = dataset_root(top)
    root = root if stays_inside(root, top) else top
    labelled, skipped = [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))
                            and stays_inside(p, top)):  # a class folder linked from elsewhere is not a class
        for path in files_inside(class_dir, top):
            if _is_image_name(path):
                labelled.append((path, class_dir.name, ""))
            elif path.is_file() and not path.name.startswith("."):
                skipped.append(LabError("skipped_not_photo", file=path.name))
    if not labelled:
        raise DatasetError("dataset_no_class_folders", path=str(root))
    return _build(name or Path(folder).name, "folders", labelled, skipped)


def load_oxford_named(folder: str | Path, task: str = "breeds", name: str = "") -> Dataset:
    """Labels any folder of Oxford-named photos (``<breed>_<n>.jpg``, searched recursively) by breed or species.

    Args:
        folder: where the photos are (e.g. ``../shared/data/pets-mini``).
        task: ``"breeds"`` or ``"species"``.
        name: what to call the dataset.

    Returns:
        The dataset; photos whose names do not fit are listed in ``skipped``.
    """
    if task not in ("breeds", "species"):
        raise DatasetError("dataset_task", tasks="breeds, species", task=task)
    root = _existing_folder(folder).resolve()
    labelled, skipped = [], []
    for path in files_inside(root, root):
        if not _is_image_name(path):
            continue
        label = oxford_label(path.name, task)
        if label is None:
            skipped.append(LabError("skipped_not_oxford", file=path.name))
        else:
            labelled.append((path, label, ""))
    if not labelled:
        raise DatasetError("dataset_no_oxford_names", path=str(root), task=task)
    return _build(name or root.name, task, labelled, skipped)


def load_folder(folder: str | Path, task: str = "folders", name: str = "") -> Dataset:
    """A folder labelled by sub-folder (``folders``) or by Oxford file names (``breeds``/``species``)."""
    try:
        if task == "folders":
            return load_image_folder(folder, name)
        return load_oxford_named(folder, task, name)
    except PermissionError:
        raise DatasetError("dataset_no_permission", dataset=name or Path(folder).name) from None


def _existing_folder(folder: str | Path) -> Path:
    """The folder as a Path, or a clear error."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise DatasetError("dataset_not_a_folder", path=str(path))
    return path


def load_zip(source, dest: str | Path, task: str = "folders", name: str = "uploaded.zip", **limits) -> Dataset:
    """Safely extracts a zip of an ImageFolder (or Oxford-named photos) and reads it.

    Args:
        source: path or binary file object of the zip.
        dest: an empty folder private to the caller (e.g. a temporary one).
        task: as ``load_folder``.
        name: what to call the dataset.
        **limits: ``max_files``/``max_bytes`` for ``extract_zip``.

    Returns:
        The dataset.

    Raises:
        ArchiveError: an unsafe or oversized archive, refused before anything is written.
    """
    return load_folder(dataset_root(extract_zip(source, dest, **limits)), task, name)


def load_oxford_pets(root: str | Path, task: str = "breeds") -> Dataset:
    """Reads an extracted Oxford-IIIT Pet folder with its official trainval/test split.

    Args:
        root: the folder holding ``images/`` and ``annotations/``.
        task: ``"breeds"`` (37) or ``"species"`` (cat, dog).

    Returns:
        The dataset; every sample has ``split`` ``"train"`` (trainval) or ``"test"``.
        Listed photos that are missing are reported in ``skipped``; files that are
        not in the lists (the ``.mat`` files) are ignored.
    """
    if task not in ("breeds", "species"):
        raise DatasetError("dataset_task", tasks="breeds, species", task=task)
    root = Path(root)
    labelled, skipped = [], []
    for split, list_name in (("train", "trainval.txt"), ("test", "test.txt")):
        for image_id in _annotation_ids(root / "annotations" / list_name):
            path = root / "images" / f"{image_id}.jpg"
            if path.is_file():
                labelled.append((path, oxford_label(path.name, task), split))
            else:
                skipped.append(LabError("skipped_missing", file=path.name, list=list_name))
    return _build("Oxford-IIIT Pet", task, labelled, skipped)


def _annotation_ids(path: Path) -> list[str]:
    """Image ids from an Oxford annotation list (``Abyssinian_100 1 1 1`` lines, ``#`` comments)."""
    if not path.is_file():
        raise DatasetError("dataset_list_missing", path=str(path))
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def load_cats_vs_dogs(root: str | Path) -> Dataset:
    """Reads Microsoft's Cats vs Dogs (``PetImages/Cat``, ``PetImages/Dog``), skipping broken files.

    Zero-byte files and files whose header is not an image are skipped here;
    photos that are cut short are found and skipped when they are decoded.

    Args:
        root: the folder holding ``PetImages`` (or ``PetImages`` itself).

    Returns:
        The dataset (task ``"species"``, classes ``cat``, ``dog``), with one
        ``skipped`` entry per file left out.
    """
    root = Path(root)
    pet_images = root / "PetImages" if (root / "PetImages").is_dir() else root
    labelled, skipped = [], []
    for folder, label in (("Cat", "cat"), ("Dog", "dog")):
        if not (pet_images / folder).is_dir():
            raise DatasetError("dataset_petimages_missing", path=str(pet_images / folder))
        for path in sorted((pet_images / folder).iterdir()):
            problem = _file_problem(path)
            if problem:
                skipped.append(LabError(problem, file=path.name))
            else:
                labelled.append((path, label, ""))
    return _build("Cats vs Dogs", "species", labelled, skipped)


def _file_problem(path: Path) -> str:
    """The code of why a file cannot be a photo ('' when its header looks fine)."""
    if not path.is_file():
        return "skipped_not_file"
    if path.stat().st_size == 0:
        return "skipped_empty"
    try:
        with Image.open(path, formats=PIL_FORMATS) as image:
            image.size  # noqa: B018  (reads the header only)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "skipped_damaged"
    return ""


def limit_per_class(dataset: Dataset, per_class: int, seed: int = 0) -> Dataset:
    """Keeps at most ``per_class`` photos of each class, a seeded random choice.

    Args:
        dataset: the full dataset.
        per_class: the limit (0 keeps everything).
        seed: which photos are chosen.

    Returns:
        A dataset with the same classes.
    """
    if per_class < 0:
        raise ValueError(f"per_class must be 0 or more, got {per_class}")
    if not per_class:
        return dataset
    order = np.random.default_rng(seed).permutation(len(dataset.samples))
    taken, kept = Counter(), []
    for i in order:
        sample = dataset.samples[i]
        if taken[sample.label] < per_class:
            taken[sample.label] += 1
            kept.append(i)
    return replace(dataset, samples=tuple(dataset.samples[i] for i in sorted(kept)))


def bundled_pets(task: str = "species") -> Dataset:
    """The photos shipped in ``assets/pets``: 4 cat and 4 dog breeds, 6 photos each, always offline.

    Args:
        task: ``"species"`` (cat, dog) or ``"breeds"`` (8 breeds).

    Returns:
        The dataset, named "Bundled pets".
    """
    if task not in ("species", "breeds"):
        raise DatasetError("dataset_task", tasks="species, breeds", task=task)
    return load_oxford_named(ASSETS_DIR / "pets", task, name="Bundled pets")


def bundled_samples() -> dict[str, Path]:
    """The single sample photos (cats, dogs, a coffee cup) by the label pages show, in that order."""
    return {label: ASSETS_DIR / "samples" / file for label, file in BUNDLED_SAMPLES.items()}


def local_datasets() -> tuple[str, ...]:
    """The datasets on this machine: the bundled pets, then the downloaded ones whose files are in place.

    Nothing is fetched.

    Returns:
        ``bundled`` first, then ``oxford-pets`` and ``cats-vs-dogs`` where ready, in that order.
    """
    ready = ((BUNDLED, (ASSETS_DIR / "pets").is_dir()),
             ("oxford-pets", _oxford_pets_ready(oxford_pets_dir())),
             ("cats-vs-dogs", _cats_vs_dogs_ready(cats_vs_dogs_dir())))
    return tuple(name for name, is_ready in ready if is_ready)


def open_dataset(source: str, task: str, progress=None, work_dir: str | Path | None = None) -> Dataset:
    """Opens a dataset by name (``bundled``, ``oxford-pets``, ``cats-vs-dogs``), folder or ``.zip`` path.

    Args:
        source: a dataset name or a path.
        task: ``species``, ``breeds`` or ``folders``.
        progress: download progress, as ``fetch_oxford_pets``.
        work_dir: where a ``.zip`` is extracted (a fresh temporary folder if None).

    Returns:
        The dataset.
    """
    if task not in TASKS:
        raise DatasetError("dataset_task", tasks=", ".join(TASKS), task=task)
    if source == BUNDLED:
        return bundled_pets("breeds" if task == "breeds" else "species")
    if source == "oxford-pets":
        return load_oxford_pets(fetch_oxford_pets(progress), "species" if task == "species" else "breeds")
    if source == "cats-vs-dogs":
        if task != "species":
            raise DatasetError("dataset_species_only")
        return load_cats_vs_dogs(fetch_cats_vs_dogs(progress))
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".zip":
        import tempfile

        return load_zip(path, work_dir or tempfile.mkdtemp(prefix="transfer-lab-zip-"), task, path.name)
    if not path.exists():
        raise DatasetError("dataset_unknown_source", path=str(source))
    return load_folder(path, task)
