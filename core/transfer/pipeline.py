"""The transfer-training run end to end: split the cached embeddings, train the head, build the saved model.

``train_steps`` is the one pipeline: the page (through the job runner) and ``python -m core train`` both
consume its step records, so the same settings give the same model by construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import keras
import numpy as np

from core.data.datasets import TASKS, Dataset, DatasetError
from core.data.embeddings import VIEW_COUNTS, Embeddings, ExtractionStep, embedder_for, extract_views
from core.data.images import ImageInputError, center_crop_resize, load_image_file
from core.data.splits import Split, near_duplicate_groups, official_split, stratified_split
from core.streams import callback_steps
from core.transfer.evaluation import Evaluation, Loss, evaluate_probs, top_losses
from core.transfer.finetune import FineTuneSettings, fine_tune
from core.transfer.model import assemble
from core.transfer.training import HeadSettings, train_head

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
        raise DatasetError("training_no_photos_left")
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


@dataclass(frozen=True)
class TrainingSettings:
    """One training run: the views, the split, the head and (optionally) fine-tuning, under one seed.

    The seed is the run's only seed: it is written into the head's and fine-tuning's settings, so the
    split, the head's first weights, the shuffling and the augmentation all follow it.
    """

    views: int = 1
    val_fraction: float = 0.2
    seed: int = 0
    official_split: bool = False
    head: HeadSettings = field(default_factory=HeadSettings)
    fine_tune: FineTuneSettings | None = None

    def __post_init__(self):
        if self.views not in VIEW_COUNTS:
            raise ValueError(f"views must be one of {VIEW_COUNTS}, got {self.views}")
        if not 0.05 <= self.val_fraction <= 0.5:
            raise ValueError(f"the validation share must be from 5% to 50%, got {self.val_fraction:.0%}")
        if not 0 <= self.seed < 2**31:
            raise ValueError(f"the seed must be from 0 to 2**31 - 1, got {self.seed}")
        if not isinstance(self.head, HeadSettings):
            raise ValueError(f"head must be HeadSettings, got {type(self.head).__name__}")
        if self.fine_tune is not None and not isinstance(self.fine_tune, FineTuneSettings):
            raise ValueError(f"fine_tune must be FineTuneSettings or None, got {type(self.fine_tune).__name__}")
        object.__setattr__(self, "head", replace(self.head, seed=self.seed))
        if self.fine_tune is not None:
            object.__setattr__(self, "fine_tune", replace(self.fine_tune, seed=self.seed))


@dataclass(frozen=True)
class Extracting:
    """Embedding extraction under way (one ``ExtractionStep`` of one view)."""

    step: ExtractionStep

    @property
    def fraction(self) -> float:
        return (self.step.view_index + self.step.fraction) / self.step.view_count


@dataclass(frozen=True, eq=False)
class Prepared:
    """Embeddings ready and split (leakage check done): what the head trains and is scored on."""

    data: PreparedData
    images_per_s: float


@dataclass(frozen=True)
class Epoch:
    """One finished epoch of the head (``phase="head"``) or of fine-tuning (``phase="fine-tune"``)."""

    epoch: int
    epochs: int
    logs: dict[str, float]
    best_epoch: int
    phase: str = "head"


@dataclass(frozen=True, eq=False)
class Evaluated:
    """The validation photos scored by the trained head (best epoch's weights)."""

    evaluation: Evaluation | None
    losses: list[Loss]


@dataclass(frozen=True, eq=False)
class FineTuneReport:
    """How fine-tuning went: its curves (after the head's), time, unfrozen blocks, precision and score."""

    history: dict[str, list[float]]
    start_epoch: int
    best_epoch: int
    stopped_by: str
    seconds: float
    unfrozen: tuple[str, ...]
    precision: str
    evaluation: Evaluation | None


@dataclass(frozen=True, eq=False)
class TrainingReport:
    """Everything a finished (or stopped) run produced besides the model."""

    data: PreparedData
    backbone: str
    settings: TrainingSettings
    head: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    stopped_by: str
    evaluation: Evaluation | None
    losses: list[Loss]
    seconds: float
    images_per_s: float
    fine_tune: FineTuneReport | None = None


@dataclass(frozen=True, eq=False)
class Assembled:
    """The deployable model (pixels to probabilities, class names inside) and its report; the last record."""

    model: keras.Model
    report: TrainingReport

    @property
    def fine_tuned(self) -> bool:
        return self.report.fine_tune is not None


def train_steps(dataset: Dataset, backbone, settings: TrainingSettings = TrainingSettings(), cache_for=None,
                should_stop: Callable[[], bool] | None = None,
                fine_tune_embedding: Callable[[], keras.Model] | None = None) -> Iterator:
    """The training pipeline: extraction, split, head, evaluation, assembly and optional fine-tuning.

    Args:
        dataset: the photos (``core.datasets``), already opened and limited.
        backbone: a loaded ``core.backbones.Backbone``; only read (its embedding model is shared).
        settings: the run's ``TrainingSettings``.
        cache_for: maps an ``Embedder`` to its ``EmbeddingCache`` (default: the shared disk cache).
        should_stop: polled after every extraction batch and epoch; True ends the phase with what it reached
            (the best epoch's weights); a stop during extraction ends the run with no result.
        fine_tune_embedding: builds the embedding model fine-tuning may change, for this run alone
            (default: a freshly loaded backbone of the same name).

    Yields:
        ``Extracting`` ..., ``Prepared``, ``Epoch`` ..., ``Evaluated``, ``Assembled``; with
        ``settings.fine_tune`` also fine-tuning's ``Epoch`` ... and a second ``Assembled``.
    """
    start, rate, stop = time.perf_counter(), 0.0, should_stop or (lambda: False)
    for step in extract_views(embedder_for(backbone), dataset.samples, settings.views, cache_for):
        if step.result is not None:
            break
        rate = max(rate, step.images_per_s)
        yield Extracting(step)
        if stop():
            return
    data = prepare_data(dataset, step.result, settings.val_fraction, settings.seed, settings.official_split)
    yield Prepared(data, rate)
    epochs = settings.head.epochs

    def work(emit, stopped):
        return train_head(*data.train, len(dataset.classes), *data.val, settings=settings.head, should_stop=stopped,
                          on_epoch=lambda r: emit(Epoch(r.epoch, epochs, r.logs, r.best_epoch)))

    trained = yield from callback_steps(work, stop)
    evaluation, losses = _evaluate(lambda x: trained.head.predict(x, verbose=0), *data.val, dataset.classes)
    yield Evaluated(evaluation, losses)
    report = TrainingReport(data, backbone.name, settings, trained.head, trained.history, trained.best_epoch,
                            trained.stopped_by, evaluation, losses, time.perf_counter() - start, rate)
    yield Assembled(export_model(backbone.embedding_model(), trained.head, dataset.classes), report)
    if settings.fine_tune is not None and settings.fine_tune.blocks and not trained.stopped_by == "stop button":
        embedding = (fine_tune_embedding or _fresh_embedding(backbone.name))()
        yield from fine_tune_steps(report, embedding, settings.fine_tune, should_stop)


def fine_tune_steps(report: TrainingReport, embedding_model: keras.Model, settings: FineTuneSettings,
                    should_stop: Callable[[], bool] | None = None) -> Iterator:
    """Fine-tuning after a run: the top blocks of ``embedding_model`` and a copy of the head, on the photos.

    Args:
        report: the head-only run (its photos, split, head and curves).
        embedding_model: built for this run alone: its weights change (never a backbone shared by sessions).
        settings: blocks, epochs, learning rate, augmentation, precision.
        should_stop: polled after every epoch; True keeps the best fine-tuned epoch.

    Yields:
        ``Epoch`` (``phase="fine-tune"``) ..., then ``Assembled`` whose report has ``fine_tune`` set.
    """
    data, classes = report.data, report.data.dataset.classes
    pixels = prepared_pixels(data, int(embedding_model.input_shape[1]))
    head = keras.models.clone_model(report.head)
    head.set_weights(report.head.get_weights())
    start_epoch, train, val = len(report.history.get("loss", [])), data.split.train, data.split.val

    def work(emit, stopped):
        return fine_tune(embedding_model, head, classes, pixels[train], data.labels[train], pixels[val],
                         data.labels[val], settings, should_stop=stopped,
                         on_epoch=lambda r: emit(Epoch(r.epoch, settings.epochs, r.logs, r.best_epoch, "fine-tune")))

    tuned = yield from callback_steps(work, should_stop)
    evaluation, _ = _evaluate(lambda x: tuned.model.predict(x, verbose=0), pixels[val], data.labels[val], classes)
    history = {k: list(report.history.get(k, [])) + list(v) for k, v in tuned.history.items()}
    fine = FineTuneReport(history, start_epoch, tuned.best_epoch, tuned.stopped_by, tuned.seconds, tuned.unfrozen,
                          tuned.precision, evaluation)
    yield Assembled(tuned.model, replace(report, fine_tune=fine))


def _evaluate(predict, x: np.ndarray, labels: np.ndarray, classes) -> tuple[Evaluation | None, list[Loss]]:
    """The evaluation and top losses of a model on validation inputs; (None, []) without validation photos."""
    if not len(labels):
        return None, []
    probs = predict(x)
    return evaluate_probs(probs, labels, classes), top_losses(probs, labels, k=12)


def _fresh_embedding(name: str) -> Callable[[], keras.Model]:
    def build():
        from core.models.backbones import load_backbone

        return load_backbone(name).embedding_model()

    return build


def prepared_pixels(data: PreparedData, size: int, crop_fraction: float = 0.875) -> np.ndarray:
    """Every photo of a run as the network sees it (``uint8``), in embeddings-row order."""
    photos = []
    for row in range(len(data.labels)):
        sample = data.sample(row)
        try:
            image = sample.image if sample.image is not None else load_image_file(sample.path)
        except ImageInputError:  # it was read for the embeddings, so it changed on disk since
            image = np.zeros((size, size, 3), np.uint8)
        photos.append(center_crop_resize(image, size, crop_fraction))
    return np.stack(photos)
