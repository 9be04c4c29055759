"""Widgets, charts and session state of the Transfer training page.

Layers: ``*_ui`` functions draw widgets and return frozen settings;
``run_training`` drives ``core`` step by step, drawing progress live and
saving what it has done in ``st.session_state`` after every batch and epoch,
so a Stop (which makes Streamlit rerun the page) or leaving the page loses
nothing; ``finish_interrupted`` turns such a partial run into a result.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.data.archives import ArchiveError
from core.data.datasets import Dataset, DatasetError, limit_per_class, local_datasets, open_dataset
from core.data.downloads import ChecksumError, NoNetworkError
from core.data.embeddings import EmbeddingCache, embedder_for, extract_views
from core.data.images import ImageInputError, center_crop_resize, load_image_file
from core.transfer.evaluation import evaluate_probs, top_losses
from core.transfer.model import build_head
from core.transfer.pipeline import DataSettings, PreparedData, export_model, prepare_data
from core.transfer.training import HeadSettings, train_head
from ui.common import get_backbone
from ui.folders import folder_ui
from ui.settings import lab_settings, widget_max
from ui.uploads import forget_upload_dir, limits_help, new_upload_dir, within_limits

ACTIVE_KEY, RUNS_KEY, MODEL_KEY = "tt_active", "tt_runs", "trained_model"
SOURCE_LABELS = {
    "bundled": "Bundled pets (offline: 4 cat and 4 dog breeds, 48 photos)",
    "folder": "A folder of photos",
    "zip": "Upload a .zip",
    "oxford-pets": "Oxford-IIIT Pet (download, about 800 MB)",
    "cats-vs-dogs": "Microsoft Cats vs Dogs (download, about 800 MB)",
}
TASK_HELP = ("folders: one sub-folder per class. breeds / species: labels from Oxford file names "
             "(<breed>_<n>.jpg; cat breeds start with an upper-case letter).")
DATA_ERRORS = (DatasetError, ArchiveError, NoNetworkError, ChecksumError, ValueError, OSError)


def data_settings_ui() -> DataSettings | None:
    """Dataset widgets; returns the settings, or None (with a message) when they are not usable yet."""
    source = st.radio("Photos", list(SOURCE_LABELS), format_func=SOURCE_LABELS.get, key="tt_source",
                      horizontal=True)
    location = ""
    if source == "folder":
        folder = folder_ui("Folder", "tt_folder",
                           help="A folder with one sub-folder per class, or Oxford-named photos.")
        location = str(folder) if folder else ""
    elif source == "zip":
        location = _zip_location()
    tasks = {"bundled": ["species", "breeds"], "folder": ["folders", "breeds", "species"],
             "zip": ["folders", "breeds", "species"], "oxford-pets": ["breeds", "species"],
             "cats-vs-dogs": ["species"]}[source]
    left, middle, right, last = st.columns(4)
    task = left.selectbox("Task (labels)", tasks, key=f"tt_task_{source}", help=TASK_HELP)
    most, bounded = widget_max("max_photos_per_class", 10_000), lab_settings().limits.max_photos_per_class
    per_class = middle.number_input("Photos per class" if bounded else "Photos per class (0 = all)",
                                    1 if bounded else 0, most, most if bounded else 0, step=10,
                                    key="tt_per_class", help="A limit for quick runs.")
    val_fraction = right.slider("Validation share", 0.05, 0.5, 0.2, 0.05, key="tt_val")
    seed = last.number_input("Seed", 0, 2**31 - 1, 0, key="tt_seed", help="Same seed, same split and same run.")
    official = source == "oxford-pets" and st.checkbox("Use the official trainval/test split", key="tt_official")
    try:
        return DataSettings(source, location, task, int(per_class), float(val_fraction), int(seed), bool(official))
    except ValueError as exc:
        st.info(str(exc).capitalize() + " to start.", icon="👉")
        return None


def _zip_location() -> str:
    """Extracts an uploaded zip once (safely, into a folder private to this session); returns that folder."""
    upload = st.file_uploader("A .zip of class folders", type=["zip"], key="tt_zip",
                              help=limits_help("Entries pointing outside the zip and archives that unpack too big "
                                               "are refused."))
    saved = st.session_state.get("tt_zip_dir")
    if upload is None or not within_limits([upload], photos=False):
        if saved:  # the zip was removed: its folder goes with it
            forget_upload_dir(saved[2])
            st.session_state.pop("tt_zip_dir", None)
        return ""
    if saved and saved[0] == upload.file_id:
        return saved[1]
    from core.data.archives import dataset_root, extract_zip

    folder = new_upload_dir(previous=saved[2] if saved else None)  # a replaced zip's folder goes now
    st.session_state.pop("tt_zip_dir", None)
    try:
        root = str(dataset_root(extract_zip(upload, folder)))
    except ArchiveError as exc:
        forget_upload_dir(folder)
        st.error(f"{upload.name}: {exc}", icon="🚫")
        return ""
    st.session_state["tt_zip_dir"] = (upload.file_id, root, str(folder))
    return root


def head_settings_ui() -> HeadSettings | None:
    """Head and training widgets in an expander; returns the settings."""
    with st.expander("Head and training settings"):
        cols = st.columns(4)
        learning_rate = cols[0].select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], 1e-3, key="tt_lr",
                                              format_func=lambda v: f"{v:g}")
        most = widget_max("max_epochs", 500)
        epochs = cols[1].number_input("Epochs", 1, most, min(20, most), key="tt_epochs")
        batch_size = cols[2].select_slider("Batch size", [8, 16, 32, 64, 128], 32, key="tt_batch")
        smoothing = cols[3].slider("Label smoothing", 0.0, 0.3, 0.0, 0.05, key="tt_smooth")
        cols = st.columns(4)
        hidden = cols[0].select_slider("Hidden layer units (0 = none)", [0, 64, 128, 256, 512], 0, key="tt_hidden")
        dropout = cols[1].slider("Dropout", 0.0, 0.7, 0.0, 0.1, key="tt_dropout")
        patience = cols[2].number_input("Early stopping patience (0 = off)", 0, 100, 0, key="tt_patience")
    try:
        return HeadSettings(float(learning_rate), int(epochs), int(batch_size), float(smoothing), int(hidden),
                            float(dropout), int(patience), int(st.session_state.get("tt_seed", 0)))
    except ValueError as exc:
        st.error(str(exc), icon="🚫")
        return None


@st.cache_data(show_spinner=False, ttl=600, max_entries=8)
def open_dataset_cached(source: str, task: str, stamp: float) -> Dataset:
    """Lists a dataset once (checking 25,000 Cats vs Dogs headers takes a while); ``stamp`` renews it."""
    return open_dataset(source, task)


def folder_stamp(source: str) -> float:
    """Latest change time of a folder and its sub-folders (adding or removing a photo changes it)."""
    path = Path(source)
    if not path.is_dir():
        return 0.0
    return max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir() if p.is_dir()])


def load_dataset_ui(settings: DataSettings) -> Dataset | None:
    """Opens (downloading if needed) the dataset with a progress bar; errors become messages."""
    if not _download_allowed(settings.source):
        return None
    bar = st.empty()
    try:
        if settings.source in ("oxford-pets", "cats-vs-dogs"):
            open_dataset(settings.source, settings.task, progress=lambda name, done, total: bar.progress(
                done / total if total else 0.0, text=f"Downloading {name}: {done / 1e6:,.0f} MB"))
        dataset = open_dataset_cached(settings.dataset_source, settings.task, folder_stamp(settings.dataset_source))
        return limit_per_class(dataset, settings.per_class, settings.seed)
    except DATA_ERRORS as exc:
        st.error(str(exc), icon="🚫")
        return None
    finally:
        bar.empty()


def _download_allowed(source: str) -> bool:
    """In classroom mode learners use datasets the teacher downloaded; they never start an 800 MB download."""
    if source not in ("oxford-pets", "cats-vs-dogs") or not lab_settings().classroom or source in local_datasets():
        return True
    st.info(f"{SOURCE_LABELS[source].split(' (')[0]} is not on this server. Ask your teacher to run "
            f"`python -m core download-dataset {source}` before class, or use a folder or a .zip.", icon="👉")
    return False


def run_training(settings: DataSettings, head_settings: HeadSettings, backbone_name: str,
                 dataset: Dataset | None = None) -> None:
    """Extracts (cached) embeddings, then trains live; the finished run goes to the runs list.

    ``dataset`` is given for the learner's own classes; otherwise it is opened from ``settings``.
    """
    dataset = dataset or load_dataset_ui(settings)
    if dataset is None:
        return
    for note in dataset.skipped[:5]:
        st.caption(f"Skipped {note}")
    backbone = get_backbone(backbone_name)
    started = time.perf_counter()
    active = {"stage": "embeddings", "settings": settings, "head_settings": head_settings,
              "backbone": backbone_name, "dataset": dataset, "started": started}
    st.session_state[ACTIVE_KEY] = active
    # Uploaded photos stay in this session: their embeddings are kept in memory only.
    embeddings, images_per_s = _extract_ui(dataset, backbone, settings.views,
                                           private=settings.source in ("zip", "own"))
    try:
        data = prepare_data(dataset, embeddings, settings.val_fraction, settings.seed, settings.official_split)
    except ValueError as exc:  # e.g. every photo unreadable, or too few left to train on
        st.session_state.pop(ACTIVE_KEY, None)
        st.error(f"Cannot train: {exc}", icon="🚫")
        return
    active.update(stage="training", data=data, history={}, best_weights=None, best_epoch=0,
                  images_per_s=images_per_s)
    _report_data(data)
    chart = st.empty()

    def on_epoch(record):
        for key, value in record.logs.items():
            active["history"].setdefault(key, []).append(value)
        active.update(best_weights=record.best_weights, best_epoch=record.best_epoch)
        chart.plotly_chart(curves_figure(active["history"], record.best_epoch), width="stretch")

    try:
        trained = train_head(*data.train, len(dataset.classes), *data.val, settings=head_settings,
                             on_epoch=on_epoch)
    finally:
        chart.empty()  # the finished run draws its own curves below
    finish_run(active, trained.head, trained.stopped_by)


def _extract_ui(dataset: Dataset, backbone, views: int, private: bool):
    """Runs the embedding extraction with a live progress bar; returns the embeddings and the images/s seen."""
    bar = st.progress(0.0, text="Looking up cached embeddings...")
    rate = 0.0
    try:
        for step in extract_views(embedder_for(backbone), dataset.samples, views, _cache_for(private)):
            if step.result is not None:
                return step.result, rate
            rate = max(rate, step.images_per_s)
            left = f", {step.seconds_left:.0f} s left" if step.seconds_left else ""
            speed = f", {step.images_per_s:.1f} images/s" if step.computed else ""
            view = f"view {step.view_index + 1} of {step.view_count} ({step.view}): " if step.view_count > 1 else ""
            bar.progress(step.fraction, text=f"Embeddings, {view}{step.done} of {step.total} photos "
                                             f"({step.done - step.computed} from the cache{speed}{left})")
    finally:
        bar.empty()


def _cache_for(private: bool):
    """Each view's cache: the shared disk cache, or (uploaded photos) this session's memory."""
    if not private:
        return lambda embedder: EmbeddingCache(embedder.key)
    caches = st.session_state.setdefault("tt_private_caches", {})
    # Kept in this session's memory, so re-training the same photos computes nothing.
    return lambda embedder: caches.setdefault(embedder.key, EmbeddingCache(embedder.key, persist=False))


def views_ui() -> int:
    """The augmented-views switch; returns how many views of each photo the head learns from."""
    on = st.toggle("Augmented views", value=True, key="tt_views",
                   help="The head also learns from each photo mirrored, uncropped, and uncropped mirrored: "
                        "four times the embeddings to compute (once, then cached), a few points more accuracy "
                        "on small datasets. Validation always uses the photo as the saved model sees it.")
    return 4 if on else 1


def _report_data(data: PreparedData) -> None:
    """Says what will be trained on, what was skipped and which duplicates were found."""
    views = 1 + len(data.embeddings.views)
    times = f" (× {views} views)" if views > 1 else ""
    st.caption(f"{len(data.split.train)} training{times} and {len(data.split.val)} validation photos, "
               f"{len(data.dataset.classes)} classes.")
    if data.embeddings.failed:
        st.warning(f"Skipped {len(data.embeddings.failed)} photo(s) that could not be read, e.g. "
                   f"{data.embeddings.failed[0][0]}: {data.embeddings.failed[0][1]}", icon="⚠️")
    groups = data.split.duplicate_groups
    if groups:
        names = ", ".join(" = ".join(data.sample(i).name for i in g) for g in groups[:3])
        where = (f"{data.split.crossing_groups} of them cross the official split" if data.split.crossing_groups
                 else "each group is kept on one side of the split")
        st.info(f"Leakage check: {len(groups)} group(s) of near-duplicate photos ({names}); {where}.", icon="🔎")


def finish_run(active: dict, head, stopped_by: str = "") -> dict:
    """Evaluates a (finished or stopped) run, stores it in the runs list and as the session's model."""
    data: PreparedData = active["data"]
    classes = data.dataset.classes
    val_x, val_y = data.val
    probs = head.predict(val_x, verbose=0) if len(val_y) else np.zeros((0, len(classes)))
    run = {"number": len(st.session_state.get(RUNS_KEY, [])) + 1, "backbone": active["backbone"],
           "dataset": data.dataset.name, "task": data.dataset.task, "classes": classes,
           "images": len(data.labels), "history": dict(active["history"]), "best_epoch": active["best_epoch"],
           "evaluation": evaluate_probs(probs, val_y, classes), "losses": top_losses(probs, val_y, k=12),
           "data": data, "stopped_by": stopped_by, "seconds": time.perf_counter() - active["started"],
           "head": head, "head_settings": active["head_settings"], "images_per_s": active.get("images_per_s", 0.0)}
    st.session_state.setdefault(RUNS_KEY, []).append(run)
    backbone = get_backbone(active["backbone"])
    # The assembled model shares the process-wide frozen backbone read-only; never train it (fine-tuning
    # builds its own backbone).
    st.session_state[MODEL_KEY] = {"model": export_model(backbone.embedding_model(), head, classes),
                                   "classes": list(classes), "backbone": active["backbone"], "run": run["number"]}
    st.session_state.pop(ACTIVE_KEY, None)
    return run


def finish_interrupted() -> None:
    """Turns a run that a Stop (or leaving the page) interrupted into a result, keeping the best epoch."""
    active = st.session_state.get(ACTIVE_KEY)
    if not active:
        return
    if active["stage"] != "training" or active.get("best_weights") is None:
        st.session_state.pop(ACTIVE_KEY, None)
        st.info("Stopped while computing embeddings. Every finished batch is cached: press **Train** to resume.",
                icon="⏸️")
        return
    data, hs = active["data"], active["head_settings"]
    head = build_head(data.embeddings.features.shape[1], len(data.dataset.classes), hs.hidden_units, hs.dropout,
                      hs.seed)
    head.set_weights(active["best_weights"])
    finish_run(active, head, f"stopped after epoch {len(active['history'].get('loss', []))}")
    st.info(f"Training stopped; kept the weights of the best epoch ({active['best_epoch']}).", icon="⏹️")


def curves_figure(history: dict, best_epoch: int = 0) -> go.Figure:
    """Loss and accuracy per epoch, training and validation, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    styles = {"": ("train", "#4c78a8"), "val_": ("validation", "#f58518")}
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for prefix, (label, color) in styles.items():
            values = history.get(prefix + metric, [])
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=label,
                                     line=dict(color=color), showlegend=col == 1, legendgroup=label), 1, col)
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dot", line_color="gray")
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def confusion_figure(matrix: np.ndarray, classes) -> go.Figure:
    """Confusion matrix heatmap (rows true, columns predicted) that stays readable at 37 classes."""
    n = len(classes)
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=matrix / totals, x=list(classes), y=list(classes), customdata=matrix, colorscale="Blues", zmin=0, zmax=1,
        text=matrix if n <= 15 else None, texttemplate="%{text}" if n <= 15 else None,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} photo(s)<extra></extra>",
        colorbar=dict(title="share of row", tickformat=".0%"),
    ))
    size, font = max(360, 20 * n + 200), dict(size=10 if n > 15 else 12)
    fig.update_layout(height=size, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title="predicted", tickangle=-90 if n > 15 else 0, dtick=1, tickfont=font),
                      yaxis=dict(title="true", autorange="reversed", dtick=1, tickfont=font))
    return fig


def per_class_figure(per_class: dict[str, float]) -> go.Figure:
    """Horizontal bars of per-class validation accuracy, worst at the top."""
    items = sorted(per_class.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker_color="#54a24b", hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
    fig.update_layout(height=max(220, 16 * len(items) + 60), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(tickfont=dict(size=10)))
    return fig


def show_run(run: dict) -> None:
    """Curves, scores, confusion matrix and top losses of one run."""
    evaluation = run["evaluation"]
    st.subheader(f"Run {run['number']}: {run['dataset']} by {run['task']}")
    cols = st.columns(4)
    cols[0].metric("Validation accuracy", f"{evaluation.accuracy:.1%}")
    cols[1].metric("Validation photos", evaluation.count)
    cols[2].metric("Best epoch", run["best_epoch"])
    cols[3].metric("Time", f"{run['seconds']:.1f} s")
    if run["stopped_by"]:
        st.caption(f"Training ended early ({run['stopped_by']}); the best epoch's weights were kept.")
    st.plotly_chart(curves_figure(run["history"], run["best_epoch"]), width="stretch", key=f"curves_{run['number']}")
    st.markdown("**Confusion matrix** (validation; colour = share of the true class, hover for counts)")
    st.plotly_chart(confusion_figure(evaluation.confusion, run["classes"]), width="stretch",
                    key=f"confusion_{run['number']}")
    with st.expander("Accuracy per class", expanded=len(run["classes"]) <= 15):
        st.plotly_chart(per_class_figure(evaluation.per_class), width="stretch", key=f"per_class_{run['number']}")
    _top_losses_gallery(run)


def _top_losses_gallery(run: dict) -> None:
    """The most confidently wrong validation photos, with true and predicted class."""
    losses, data, classes = run["losses"], run["data"], run["classes"]
    st.markdown("**Top losses**: the validation photos the model got most confidently wrong")
    if not losses:
        st.success("No mistakes on the validation photos.", icon="🎯")
        return
    cols = st.columns(6)
    for k, loss in enumerate(losses):
        sample = data.sample(int(data.split.val[loss.index]))
        try:
            image = sample.image if sample.image is not None else load_image_file(sample.path)
        except ImageInputError:
            continue
        cols[k % 6].image(_thumbnail(image), width="stretch",
                          caption=f"{sample.name} · true {classes[loss.true_label]} · predicted "
                                  f"{classes[loss.predicted]} ({loss.prob_predicted:.0%})")


def _thumbnail(image: np.ndarray, side: int = 200) -> np.ndarray:
    """A small square copy for the gallery (centre crop, like the network sees it)."""
    return center_crop_resize(image, side, 1.0)


def runs_table() -> None:
    """The runs made in this session, to compare backbones and settings."""
    runs = st.session_state.get(RUNS_KEY, [])
    if not runs:
        return
    st.subheader("Runs in this session")
    st.dataframe(pd.DataFrame([{
        "run": r["number"], "backbone": r["backbone"], "dataset": r["dataset"], "task": r["task"],
        "images": r["images"], "views": 1 + len(r["data"].embeddings.views), "classes": len(r["classes"]),
        "accuracy": r["evaluation"].accuracy, "time (s)": round(r["seconds"], 1), "note": r["stopped_by"]}
        for r in runs]), hide_index=True, width="stretch",
        column_config={"accuracy": st.column_config.NumberColumn(format="percent")})
