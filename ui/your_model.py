"""The learner's model after training: try it on new photos, take it away (the download bundle), or bring one back
(a .keras file or the bundle). Transfer training, part 2."""

from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from core.data.images import center_crop_resize
from core.models.predictions import top_k
from core.transfer.export import ExportError, bundle_files, bundle_zip, notebook_lines
from core.transfer.loading import ModelCheckError, ModelLimits, load_upload
from core.transfer.model import guess_backbone
from core.transfer.pipeline import predict_probs
from core.transfer.surgery import flat_classifier
from core.work.report import training_report
from ui.charts import top_k_chart
from ui.errors import problem_text
from ui.i18n import learner_class, t
from ui.jobs import light_work
from ui.photos import photo_input_ui
from ui.state import (
    TrainedModel,
    TransferRun,
    mark_downloaded,
    replacing_loses_work,
    set_trained,
    trained,
    transfer_page,
)
from ui.text import plain
from ui.transfer_training import confirm_ui
from ui.uploads import limits_help, uploader_key, within_limits

_LOG = logging.getLogger(__name__)


@st.fragment
def try_it_ui() -> None:
    """Predicts the session model's classes for new photos; a new photo reruns only this section."""
    model = trained()
    if model is None:
        return
    st.header(t("transfer.try_heading"))
    st.caption(t("transfer.try_caption", count=len(model.classes)))
    photos = photo_input_ui("tt_try", multiple=True)
    if not photos:
        return
    try:
        with light_work():  # a photo or two: never queued behind other learners' training
            probs = predict_probs(model.model, [p.image for p in photos])
    except (ValueError, TypeError) as exc:  # a loaded model whose layers do not fit these photos
        _LOG.exception("Try it failed")
        st.error(t("transfer.try_failed", problem=type(exc).__name__), icon="🚫")
        return
    names = [learner_class(c) for c in model.classes]
    explain = _gradcam(model)
    for index, (photo, row) in enumerate(zip(photos, probs)):
        left, right = st.columns([1, 2])
        best = int(np.argmax(row))
        if explain is None:
            left.image(photo.image, caption=plain(photo.name), width="stretch")
        else:
            with light_work():
                overlay = explain(photo.image, best)
            left.image(overlay, width="stretch",
                       caption=t("transfer.gradcam_caption", name=plain(photo.name), predicted=plain(names[best])))
        right.plotly_chart(top_k_chart(top_k(row, min(5, len(names)), names), t("transfer.your_model")),
                           width="stretch", key=f"try_{index}_{photo.name}_{model.run}")


def _gradcam(model: TrainedModel):
    """A function (photo, class) -> Grad-CAM overlay; None for a loaded model of another structure."""
    from core.explain.gradcam import GradCamExplainer, gradcam_overlay

    def make():
        try:
            flat, layer = flat_classifier(model.model)
        except ValueError:
            return None
        return GradCamExplainer(flat, layer)

    explainer = model.cached("gradcam", make)
    if explainer is None:
        return None
    size = int(model.model.input_shape[1])

    def overlay(image, class_index):
        pixels = center_crop_resize(image, size)
        return gradcam_overlay(pixels, explainer.explain(pixels.astype(np.float32), class_index).heatmap)

    return overlay


def export_ui(run: TransferRun | None) -> None:
    """One download: the model, its labels, TensorFlow Lite, the run report and predict.py, in a zip."""
    model = trained()
    if model is None:
        return
    st.header(t("transfer.export_heading"))
    st.markdown(t("transfer.export_text"))
    slot = st.empty()  # the prepare button, replaced by the download once the zip exists
    bundle = model.caches.get("bundle")
    if bundle is None and slot.button(t("transfer.prepare_download"), key="tt_make_bundle",
                                      help=t("transfer.prepare_help")):
        bundle = _make_bundle(model, run)
    if bundle:
        slot.download_button(t("transfer.download_zip"), bundle, file_name="transfer_lab_model.zip",
                             mime="application/zip", key="tt_dl_bundle", on_click=mark_downloaded, type="primary")
    st.markdown(t("transfer.notebook_intro"))
    st.code(notebook_lines(), language="python")
    st.caption(t("transfer.notebook_caption", size=int(model.model.input_shape[1])))


def _make_bundle(model: TrainedModel, run: TransferRun | None) -> bytes | None:
    """The zip's bytes, made once per model; a failed conversion is one message."""
    report = training_report(run.report, run.spec, run.dataset) if run is not None and model.run in (
        str(run.number), f"{run.number} fine-tuned") else None
    try:
        with st.spinner(t("transfer.saving")):
            model.caches["bundle"] = bundle_zip(bundle_files(model.model, model.classes, report))
    except ExportError as exc:
        st.error(t("transfer.export_failed", problem=problem_text(exc)), icon="🚫")
        return None
    return model.caches["bundle"]


def model_limits() -> ModelLimits:
    """Bounds on an uploaded model; in classroom mode the teacher's upload limit caps its size."""
    from ui.settings import lab_settings

    cap = lab_settings().limits.max_upload_mb
    return ModelLimits(max_mb=min(cap, ModelLimits().max_mb)) if cap else ModelLimits()


def load_model_ui() -> None:
    """Loads the downloaded zip (or a .keras with its labels.txt) in Keras safe mode as the session model."""
    page = transfer_page()
    # Open after a load: the rerun that draws the new model's sections above re-creates this expander.
    with st.expander(t("transfer.load_heading"), expanded=bool(page.loaded_id)):
        limits = model_limits()
        uploads = st.file_uploader(t("transfer.load_upload"), type=["zip", "keras", "txt"],
                                   accept_multiple_files=True, key=uploader_key("tt_model_upload"),
                                   help=limits_help(t("transfer.load_help", mb=limits.max_mb, side=limits.max_side)))
        uploads = within_limits(uploads or [], photos=False, key="tt_model_upload")  # models count too
        if not uploads:
            return
        upload_id = tuple(u.file_id for u in uploads)
        if page.loaded_id == upload_id:
            st.success(page.loaded_message, icon="✅")
            return
        answer = confirm_ui("tt_confirm_load") if replacing_loses_work() else "yes"
        if answer == "no":  # keeps the fine-tuned model; this upload is set aside
            page.loaded_id, page.loaded_message = upload_id, t("transfer.load_kept")
            st.rerun()
        if answer != "yes":
            return
        model, message = load_uploaded_model({u.name: u.getvalue() for u in uploads}, limits)
        if model is None:
            st.error(message, icon="🚫")
            return
        set_trained(model)
        page.loaded_id, page.loaded_message = upload_id, message
        st.rerun()  # Try it and Take it with you sit above this expander: draw them for the new model


def load_uploaded_model(files: dict[str, bytes], limits: ModelLimits) -> tuple[TrainedModel | None, str]:
    """The session model for uploaded files, or None and the one line that says why not."""
    names = plain(", ".join(files))
    try:
        model, classes = load_upload(files, limits)
    except ModelCheckError as exc:
        return None, t("transfer.load_refused", names=names, problem=problem_text(exc))
    backbone = guess_backbone(model)
    if backbone is None:
        return None, t("transfer.load_unknown_backbone", names=names)
    shown = plain(", ".join(classes[:6])) + (", ..." if len(classes) > 6 else "")
    # A loaded model is on the learner's disk already: replacing it loses nothing.
    return (TrainedModel(model, tuple(classes), backbone, run=f"upload {names}", downloaded=True),
            t("transfer.loaded", names=names, count=len(classes), classes=shown))
