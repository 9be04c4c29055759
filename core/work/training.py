"""Transfer training's runners: a ``TrainJob`` (download when needed, extraction, head, evaluation, assembly,
optional fine-tuning) and a ``FineTuneJob``, as ``core.transfer.pipeline``'s step records.

A Stop reaches the pipeline through ``should_stop``: it ends the phase with the best epoch's weights, evaluates
and assembles, so the last record is a usable model either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.data.datasets import Dataset, Sample, limit_per_class, local_datasets, open_dataset
from core.data.downloads import Downloading, DownloadStopped, download_steps
from core.data.embeddings import EmbeddingCache
from core.errors import LabError
from core.transfer.pipeline import Assembled, Epoch, Extracting, TrainingReport, fine_tune_steps, train_steps
from core.work import shared
from core.work.specs import FineTuneJob, TrainJob
from core.work.store import Store, get_array

DATA_ERRORS = (LabError, ValueError, OSError)  # a dataset that cannot make a run: DatasetError, ArchiveError...


@dataclass(frozen=True)
class Problem:
    """The job's last record when the photos cannot make a run (none readable, none left to train on...): the
    exception itself, so the page translates its code (``ui.errors.problem_text``)."""

    error: Exception
    fraction: float = 1.0


def training_fraction(record) -> float | None:
    """How far a training job is: download and extraction the first 80%, the head's epochs the rest, then
    fine-tuning's epochs on their own scale; None for a record of another kind."""
    if isinstance(record, (Downloading, Extracting)):
        return 0.8 * record.fraction
    if isinstance(record, Epoch):
        return record.epoch / record.epochs if record.phase == "fine-tune" else 0.8 + 0.2 * record.epoch / record.epochs
    if isinstance(record, Assembled):
        return 1.0
    return None


def folder_stamp(source: str) -> float:
    """Latest change time of a folder and its sub-folders (adding or removing a photo changes it)."""
    path = Path(source)
    if not path.is_dir():
        return 0.0
    return max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir() if p.is_dir()])


def listed_dataset(source: str, task: str) -> Dataset:
    """A dataset listed once per process and change of its folder (checking 25,000 Cats vs Dogs headers takes
    a while); shared, read-only: a limited copy is made per run."""
    return shared.datasets((source, task, folder_stamp(source)), lambda: open_dataset(source, task))


def job_dataset(job: TrainJob, store: Store) -> Dataset:
    """The run's photos: the learner's classes from the store, or the named dataset limited per class."""
    if job.own:
        samples = tuple(Sample(name, label, image=get_array(store, key), digest=key)
                        for label, cls in enumerate(job.own) for key, name in zip(cls.photos, cls.names))
        return Dataset(job.name or "own classes", "folders", tuple(c.name for c in job.own), samples)
    data = job.data
    dataset = limit_per_class(listed_dataset(data.dataset_source, data.task), data.per_class, data.seed)
    return Dataset(job.name, dataset.task, dataset.classes, dataset.samples, dataset.skipped) if job.name else dataset


def cache_for(job: TrainJob):
    """Each view's embeddings cache: the shared disk cache, or (uploaded photos) memory only, kept per photo set
    in ``core.work.shared`` so training the same photos again computes nothing and nothing reaches the disk."""
    if job.data.source not in ("zip", "own"):
        return lambda embedder: EmbeddingCache(embedder.key)
    photos = hashlib.sha256(repr(job.own or job.data.location).encode()).hexdigest()
    return lambda embedder: shared.private_embeddings(
        (embedder.key, photos), lambda: EmbeddingCache(embedder.key, persist=False))


def downloads() -> dict:
    """The datasets a job may download first, by source name."""
    from core.data.public_datasets import fetch_cats_vs_dogs, fetch_oxford_pets

    return {"oxford-pets": fetch_oxford_pets, "cats-vs-dogs": fetch_cats_vs_dogs}


def must_download(source: str) -> bool:
    """A downloadable dataset not on this computer yet (the download is the job's first part)."""
    return source in downloads() and source not in local_datasets()


def run_train(job: TrainJob, store: Store, should_stop: Callable[[], bool]) -> Iterator:
    """``Downloading`` ... (when needed), then the pipeline's records; ``Problem`` when the photos cannot make a run."""
    if must_download(job.data.source):
        try:
            yield from download_steps(downloads()[job.data.source], should_stop)
        except DownloadStopped:
            return
    try:
        dataset = job_dataset(job, store)
        yield from train_steps(dataset, shared.backbones(job.backbone), job.training, cache_for(job), should_stop)
    except DATA_ERRORS as exc:
        yield Problem(exc)


def run_fine_tune(job: FineTuneJob, store: Store, should_stop: Callable[[], bool]) -> Iterator:
    """Fine-tuning's ``Epoch`` records, then ``Assembled``; on a backbone copy loaded for this job alone."""
    from core.models.backbones import load_backbone

    report = head_only_report(job, store)
    # A backbone of this job's own, never the shared one: its weights are about to change.
    embedding = load_backbone(job.train.backbone).embedding_model()
    yield from fine_tune_steps(report, embedding, job.settings, should_stop)


def head_only_report(job: FineTuneJob, store: Store) -> TrainingReport:
    """The run fine-tuning continues: this process's own (registered by ``remember_run``), or rebuilt from the
    spec (same photos and split; the stored head; no curves of the head's epochs)."""
    def rebuild() -> TrainingReport:
        from core.data.embeddings import embedder_for, extract_views
        from core.transfer.loading import load_model_bytes
        from core.transfer.pipeline import prepare_data

        train, dataset = job.train, job_dataset(job.train, store)
        settings = train.training
        steps = list(extract_views(embedder_for(shared.backbones(train.backbone)), dataset.samples, settings.views,
                                   cache_for(train)))
        data = prepare_data(dataset, steps[-1].result, settings.val_fraction, settings.seed, settings.official_split)
        head = load_model_bytes(store.get(job.head), list(dataset.classes))[0]
        return TrainingReport(data, train.backbone, settings, head, {}, 0, "", None, [], 0.0, 0.0)

    return shared.runs(job.head, rebuild)


def remember_run(head_key: str, report: TrainingReport) -> None:
    """Keeps a finished run under its head's store key, so fine-tuning it in this process starts at once."""
    shared.runs.put(head_key, report)


def run_job(job, store: Store, should_stop: Callable[[], bool]) -> Iterator:
    """The runner of the spec's kind (``core.work.runner`` dispatches here)."""
    return (run_train if isinstance(job, TrainJob) else run_fine_tune)(job, store, should_stop)


def record_json(record) -> dict:
    """A training record as one JSON line of ``python -m core run --json`` (numbers, no arrays or models)."""
    from core.transfer.pipeline import Evaluated, Prepared
    from core.work.report import curves, fine_tune_summary

    if isinstance(record, Downloading):
        return {"record": "download", "name": record.name, "done": record.done, "total": record.total}
    if isinstance(record, Extracting):
        step = record.step
        return {"record": "extracting", "view": step.view_index + 1, "views": step.view_count, "done": step.done,
                "total": step.total}
    if isinstance(record, Prepared):
        return {"record": "prepared", "train": len(record.data.split.train), "val": len(record.data.split.val)}
    if isinstance(record, Epoch):
        return {"record": "epoch", "phase": record.phase, "epoch": record.epoch, "epochs": record.epochs,
                "logs": {k: float(v) for k, v in record.logs.items()}}
    if isinstance(record, Evaluated):
        return {"record": "evaluated", "val_accuracy": record.evaluation.accuracy if record.evaluation else None}
    if isinstance(record, Assembled):
        report = record.report
        return {"record": "assembled", "classes": list(report.data.dataset.classes), "best_epoch": report.best_epoch,
                "val_accuracy": report.evaluation.accuracy if report.evaluation else None,
                "history": curves(report.history), "fine_tune": fine_tune_summary(report)}
    return {"record": "problem", "text": str(record.error)}


def result_files(record: Assembled, spec) -> dict[str, bytes]:
    """The page's download bundle of a finished run: model, labels, TFLite, report (with the spec), predict.py."""
    from core.transfer.export import bundle_files
    from core.work.report import training_report

    spec = spec.train if isinstance(spec, FineTuneJob) else spec
    return bundle_files(record.model, record.report.data.dataset.classes, training_report(record.report, spec))
