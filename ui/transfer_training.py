"""Transfer training's settings and its job: the learner's choices become one ``TrainingSettings``, the job
runner runs core's pipeline (download, extraction, head, evaluation, assembly) and the final record becomes a run.

The page never trains in its own script run: a waiting learner sees their place, a running one live curves, and
Stop lets the pipeline end the phase with its best epoch (``core.work.training``: the job is a ``TrainJob`` spec).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.data.archives import ArchiveError
from core.data.datasets import Dataset, DatasetError, limit_per_class
from core.data.downloads import ChecksumError, Downloading, NoNetworkError
from core.jobs import STOPPED
from core.transfer.pipeline import Assembled, DataSettings, Extracting
from core.transfer.training import HeadSettings
from core.work.specs import OwnClass, TrainJob
from core.work.store import default_store, put_array
from core.work.training import Problem, listed_dataset, must_download
from ui.backbones import get_backbone, selected_backbone
from ui.errors import problem_text
from ui.folders import folder_ui
from ui.i18n import t
from ui.jobs import job_ui, start_spec, take_finished
from ui.settings import lab_settings, widget_max
from ui.state import TrainedModel, TransferRun, replacing_loses_work, set_trained, transfer_page
from ui.text import plain
from ui.transfer_results import curves_figure, history_of, language_key, shown_dataset, task_label
from ui.uploads import forget_upload_dir, limits_help, new_upload_dir, unpack_zip, uploader_key, within_limits

SLOT = "transfer"
TASKS = {"bundled": ["species", "breeds"], "folder": ["folders", "breeds", "species"],
         "zip": ["folders", "breeds", "species"], "oxford-pets": ["breeds", "species"], "cats-vs-dogs": ["species"]}
DATA_ERRORS = (DatasetError, ArchiveError, NoNetworkError, ChecksumError, ValueError, OSError)


def source_label(source: str) -> str:
    return {"bundled": t("transfer.source_bundled"), "folder": t("transfer.source_folder"),
            "zip": t("transfer.source_zip"), "oxford-pets": t("transfer.source_oxford"),
            "cats-vs-dogs": t("transfer.source_cats_dogs")}[source]


def data_settings_ui() -> DataSettings | None:
    """Dataset widgets; returns the settings, or None (with a message) when they are not usable yet."""
    # Labels made in this run: a format function must not look the language up later (AppTest calls it outside).
    sources = {source: source_label(source) for source in TASKS}
    source = st.radio(t("transfer.photos"), list(TASKS), format_func=sources.get, key="tt_source", horizontal=True)
    location = ""
    if source == "folder":
        folder = folder_ui(t("transfer.folder"), "tt_folder", help=t("transfer.folder_help"))
        location = str(folder) if folder else ""
    elif source == "zip":
        location = _zip_location()
    left, middle, right, last = st.columns(4)
    tasks = {task: task_label(task) for task in TASKS[source]}
    task = left.selectbox(t("transfer.task"), list(tasks), format_func=tasks.get, key=language_key(f"tt_task_{source}"),
                          help=t("transfer.task_help"))
    most, bounded = widget_max("max_photos_per_class", 10_000), lab_settings().limits.max_photos_per_class
    per_class = middle.number_input(t("transfer.per_class") if bounded else t("transfer.per_class_all"),
                                    1 if bounded else 0, most, most if bounded else 0, step=10,
                                    key="tt_per_class", help=t("transfer.per_class_help"))
    val_fraction = right.slider(t("transfer.val_share"), 0.05, 0.5, 0.2, 0.05, key="tt_val")
    seed = seed_ui(last)
    official = source == "oxford-pets" and st.checkbox(t("transfer.official_split"), key="tt_official")
    if source in ("folder", "zip") and not location:
        st.info(t("transfer.need_folder") if source == "folder" else t("transfer.need_zip"), icon="👉")
        return None
    try:
        return DataSettings(source, location, task, int(per_class), float(val_fraction), int(seed), bool(official))
    except ValueError as exc:
        st.info(t("transfer.bad_settings", problem=problem_text(exc)), icon="👉")
        return None


def seed_ui(container) -> int:
    """The split's seed. It is kept in the page's state, not only in the widget, whose value Streamlit drops on
    a run that does not draw it (another page, or the other training mode): the seed the learner set stays."""
    page = transfer_page()
    page.seed = int(container.number_input(t("transfer.seed"), 0, 2**31 - 1, page.seed, key="tt_seed",
                                           help=t("transfer.seed_help")))
    return page.seed


def _zip_location() -> str:
    """Extracts an uploaded zip once (safely, into a folder private to this session); returns that folder."""
    page = transfer_page()
    upload = st.file_uploader(t("transfer.zip_upload"), type=["zip"], key=uploader_key("tt_zip"),
                              help=limits_help(t("transfer.zip_help")))
    saved = page.zip_dir
    if upload is None or not within_limits([upload], photos=False, key="tt_zip"):
        if saved:  # the zip was removed: its folder goes with it
            forget_upload_dir(saved[2])
            page.zip_dir = None
        return ""
    if saved and saved[0] == upload.file_id:
        return saved[1]
    folder = new_upload_dir(previous=saved[2] if saved else None)  # a replaced zip's folder goes now
    page.zip_dir = None
    root = unpack_zip(upload, folder, "tt_zip")  # any failure removes the folder and says so in one line
    if root is None:
        return ""
    page.zip_dir = (upload.file_id, str(root), str(folder), Path(upload.name).stem)
    return str(root)


def head_settings_ui() -> HeadSettings:
    """Head and training widgets in an expander; returns the settings (every widget's range is valid)."""
    with st.expander(t("transfer.head_settings")):
        cols = st.columns(4)
        learning_rate = cols[0].select_slider(t("transfer.learning_rate"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], 1e-3,
                                              key="tt_lr", format_func=lambda v: f"{v:g}")
        most = widget_max("max_epochs", 500)
        epochs = cols[1].number_input(t("transfer.epochs"), 1, most, min(20, most), key="tt_epochs")
        batch_size = cols[2].select_slider(t("transfer.batch_size"), [8, 16, 32, 64, 128], 32, key="tt_batch")
        smoothing = cols[3].slider(t("transfer.label_smoothing"), 0.0, 0.3, 0.0, 0.05, key="tt_smooth")
        cols = st.columns(4)
        hidden = cols[0].select_slider(t("transfer.hidden_units"), [0, 64, 128, 256, 512], 0, key="tt_hidden")
        dropout = cols[1].slider(t("transfer.dropout"), 0.0, 0.7, 0.0, 0.1, key="tt_dropout")
        patience = cols[2].number_input(t("transfer.patience"), 0, 100, 0, key="tt_patience")
    return HeadSettings(float(learning_rate), int(epochs), int(batch_size), float(smoothing), int(hidden),
                        float(dropout), int(patience))


def views_ui() -> int:
    """The augmented-views switch; returns how many views of each photo the head learns from."""
    on = st.toggle(t("transfer.views"), value=True, key="tt_views", help=t("transfer.views_help"))
    return 4 if on else 1


def _local_dataset(settings: DataSettings) -> Dataset | None:
    """The dataset when it is on this computer (errors become one line); None otherwise."""
    try:
        dataset = listed_dataset(settings.dataset_source, settings.task)
        zip_dir = transfer_page().zip_dir
        if settings.source == "zip" and zip_dir:  # named after the learner's zip, not the folder it was unpacked in
            dataset = replace(dataset, name=zip_dir[3])
        return limit_per_class(dataset, settings.per_class, settings.seed)
    except DATA_ERRORS as exc:
        st.error(t("transfer.data_error", problem=problem_text(exc)), icon="🚫")
        return None


def _download_allowed(source: str) -> bool:
    """In classroom mode learners use datasets the teacher downloaded; they never start an 800 MB download."""
    if not must_download(source) or not lab_settings().classroom:
        return True
    st.info(t("transfer.ask_teacher", dataset=source_label(source), source=source), icon="👉")
    return False


def train_job(data: DataSettings, head: HeadSettings, own: Dataset | None, name: str = "") -> TrainJob:
    """The job spec of these settings (``name``: the dataset's, when the page names it, e.g. after the learner's
    zip); the learner's own photos go to the store, named by their keys."""
    if own is None:
        return TrainJob(selected_backbone(), data, head, name=name)
    store = default_store()
    classes = tuple(OwnClass(name, tuple(put_array(store, s.image) for s in own.samples if s.label == label),
                             tuple(s.name for s in own.samples if s.label == label))
                    for label, name in enumerate(own.classes))
    return TrainJob(selected_backbone(), data, head, own=classes, name=own.name)


def start_training(data: DataSettings, head: HeadSettings, own: Dataset | None = None) -> None:
    """Queues the training job (the learner's own classes, a local dataset, or a download first)."""
    if not _download_allowed(data.source):
        return
    dataset = own if own is not None else None if must_download(data.source) else _local_dataset(data)
    if dataset is None and not must_download(data.source):
        return
    for note in (dataset.skipped[:5] if dataset else ()):
        st.caption(t("transfer.skipped", note=problem_text(note)))
    get_backbone(selected_backbone())  # spinner on the first load; the job shares it (core.work.shared)
    name = shown_dataset(dataset.name) if dataset else source_label(data.source)
    named = dataset.name if dataset is not None and data.source == "zip" else ""
    if start_spec(SLOT, train_job(data, head, own, named), t("transfer.job_label", dataset=plain(name))):
        finish_training()  # at once if it already ended (a test's inline scheduler); else on a later run


def train_ui(data: DataSettings | None, head: HeadSettings, own: Dataset | None) -> None:
    """Train (asking first when it would replace a fine-tuned model not downloaded) and the job's place or curves."""
    page = transfer_page()
    if st.button(t("transfer.train"), type="primary", disabled=data is None, key="tt_train"):
        if replacing_loses_work():
            page.confirm = "train"
        else:
            start_training(data, head, own)
    answer = confirm_ui("tt_confirm_train") if page.confirm == "train" and data is not None else ""
    if answer == "yes":
        start_training(data, head, own)
    elif answer == "no":
        st.rerun()  # the question goes
    job_ui(SLOT, live_ui)


def confirm_ui(key: str) -> str:
    """Asks before the session's fine-tuned model (not downloaded) is replaced: "yes", "no", or "" until answered."""
    page = transfer_page()
    st.warning(t("transfer.confirm_replace"), icon="⚠️")
    left, right, _ = st.columns([1, 1, 3])
    answer = "yes" if left.button(t("transfer.confirm_yes"), key=f"{key}_yes") else \
        "no" if right.button(t("transfer.confirm_no"), key=f"{key}_no") else ""
    if answer:
        page.confirm = ""
    return answer


def live_ui(job) -> None:
    """The running job's stage in words and, once epochs end, its curves (redrawn by the job's fragment)."""
    last = job.last
    if isinstance(last, Downloading):
        st.caption(t("transfer.downloading", name=last.name, mb=last.done / 1e6))
    elif isinstance(last, Extracting):
        st.caption(extraction_text(last.step))
    history, best = history_of(job.records)
    if history:
        st.plotly_chart(curves_figure(history, best), width="stretch", key="tt_live_curves")


def extraction_text(step) -> str:
    """One line on the extraction: view, photos done, how many came from the cache, speed and time left."""
    args = dict(done=step.done, total=step.total, cached=step.done - step.computed, rate=step.images_per_s,
                left=step.seconds_left or 0, view=step.view_index + 1, views=step.view_count)
    if not step.images_per_s:  # nothing computed yet: no speed or time left to tell
        return t("transfer.extracting_views_lookup", **args) if step.view_count > 1 else t("transfer.extracting_lookup",
                                                                                           **args)
    if step.view_count > 1:
        return t("transfer.extracting_views", **args)
    return t("transfer.extracting", **args)


def finish_training() -> None:
    """A finished (or stopped) training job becomes the session's run and model; a Stop says what was kept."""
    job = take_finished(SLOT)
    if job is None:
        return
    page, final = transfer_page(), job.last
    if isinstance(final, Problem):
        st.error(t("transfer.cannot_train", problem=problem_text(final.error)), icon="🚫")
    if not isinstance(final, Assembled):
        if job.state == STOPPED:
            st.info(t("transfer.stopped_early"), icon="⏸️")
        return
    report, dataset = final.report, final.report.data.dataset
    run = TransferRun(len(page.runs) + 1, report, dataset.name, dataset.task, spec=job.spec)
    page.runs.append(run)
    set_trained(TrainedModel(final.model, tuple(dataset.classes), report.backbone, run=str(run.number)))
    if report.stopped_by == "stop button":
        st.info(t("transfer.stopped_kept", epoch=report.best_epoch), icon="⏹️")
