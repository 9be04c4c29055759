"""The transfer-training run end to end: split the cached embeddings, train the head, build the saved model.

The page and the CLI both call these, step by step, so each can show its own progress.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from core.data.datasets import TASKS, Dataset
from core.data.embeddings import VIEW_COUNTS, Embeddings
from core.data.images import center_crop_resize
from core.data.splits import Split, near_duplicate_groups, official_split, stratified_split
from core.transfer.model import assemble

SOURCES = ("bundled", "folder", "zip", "oxford-pets", "cats-vs-dogs", "own")


@dataclass(frozen=True)
class DataSettings:
    """Which photos to train on and how to split them.

    ``location`` is the folder or extracted-zip path for ``folder``/``zip``
    sources and is ignored for the downloadable datasets and for ``own``
    (classes a learner fills with photos in the page).
    """

    source: str = "folder"
    location: str = ""
    task: str = "folders"
    per_class: int = 0
    val_fraction: float = 0.2
    seed: int = 0
    official_split: bool = False
    views: int = 1

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.source in ("folder", "zip") and not self.location.strip():
            raise ValueError("give the folder that holds the photos")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.source in ("oxford-pets", "bundled") and self.task == "folders":
            raise ValueError("Oxford-IIIT Pet photos are labelled by 'breeds' or 'species'")
        if self.source == "cats-vs-dogs" and self.task != "species":
            raise ValueError("Cats vs Dogs only has the 'species' task")
        if self.per_class < 0:
            raise ValueError(f"photos per class must be 0 (all) or more, got {self.per_class}")
        if not 0.05 <= self.val_fraction <= 0.5:
            raise ValueError(f"the validation share must be from 5% to 50%, got {self.val_fraction:.0%}")
        if self.views not in VIEW_COUNTS:
            raise ValueError(f"views must be one of {VIEW_COUNTS}, got {self.views}")

    @property
    def dataset_source(self) -> str:
        """What ``core.data.datasets.open_dataset`` takes."""
        return self.location if self.source in ("folder", "zip") else self.source


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Embeddings of the readable photos with their labels and the train/validation split."""

    dataset: Dataset
    embeddings: Embeddings
    labels: np.ndarray
    split: Split

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """Training features and labels: every view of each training photo (validation sees the deployed one)."""
        rows = self.split.train
        views = [self.embeddings.features[rows], *(extra[rows] for extra in self.embeddings.views)]
        return np.concatenate(views), np.tile(self.labels[rows], len(views))

    @property
    def val(self) -> tuple[np.ndarray, np.ndarray]:
        return self.embeddings.features[self.split.val], self.labels[self.split.val]

    def sample(self, row: int):
        """The dataset ``Sample`` behind an embeddings row."""
        return self.dataset.samples[int(self.embeddings.kept[row])]


def prepare_data(dataset: Dataset, embeddings: Embeddings, val_fraction: float = 0.2, seed: int = 0,
                 official: bool = False) -> PreparedData:
    """Finds near-duplicate photos and splits the embeddings into training and validation.

    Args:
        dataset: the dataset the embeddings were computed for.
        embeddings: from ``core.data.embeddings.extract_embeddings``.
        val_fraction: share of each class for validation (own split).
        seed: the split's seed.
        official: use the dataset's published split (Oxford-IIIT Pet) instead.

    Returns:
        ``PreparedData``; its split's indices are rows of ``embeddings.features``.
    """
    labels = dataset.labels[embeddings.kept]
    groups = near_duplicate_groups(embeddings.hashes)
    if official and dataset.has_official_split:
        split = official_split([dataset.samples[i].split for i in embeddings.kept], groups)
    else:
        split = stratified_split(labels, val_fraction, seed, groups)
    if not len(split.train):
        raise ValueError("no photos left for training; add photos or lower the validation share")
    return PreparedData(dataset, embeddings, labels, split)


def export_model(embedding_model: keras.Model, head: keras.Model, classes) -> keras.Model:
    """The deployable model: pixels in 0-255 to class probabilities, with the class names inside.

    Args:
        embedding_model: pixels-to-embedding model of a backbone built for this model alone
            (``load_backbone(name).embedding_model()``), never one shared between sessions.
        head: the trained head.
        classes: class names.

    Returns:
        The assembled model (``core.transfer.model.assemble``).
    """
    return assemble(embedding_model, head, list(classes))


def model_input_size(model: keras.Model) -> int:
    """Side in pixels of a saved model's square input."""
    return int(model.input_shape[1])


def predict_probs(model: keras.Model, images, batch_size: int = 32, crop_fraction: float = 0.875) -> np.ndarray:
    """Class probabilities of RGB photos from an assembled model (crop and resize included).

    Args:
        model: pixels-to-probabilities model.
        images: ``uint8`` RGB arrays of any size.
        batch_size: photos per call.
        crop_fraction: centre crop as the backbone was trained.

    Returns:
        ``(n, num_classes)`` probabilities.
    """
    size = model_input_size(model)
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = np.stack([center_crop_resize(im, size, crop_fraction) for im in images[start:start + batch_size]])
        outputs.append(np.asarray(model(batch.astype(np.float32), training=False)))
    return np.concatenate(outputs) if outputs else np.zeros((0, model.output_shape[-1]), np.float32)


def guess_backbone(model: keras.Model) -> str | None:
    """The registry name of the backbone inside a loaded classifier (by its nested model's name), or None."""
    from core.models.backbones import list_backbones

    names = " ".join(layer.name for layer in model.layers)
    size = int(model.input_shape[1])
    for spec in sorted(list_backbones(), key=lambda s: -len(s.name)):
        if spec.name in names and spec.input_size == size:
            return spec.name
    return None
