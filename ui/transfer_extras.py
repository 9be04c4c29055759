"""After training: try the model, fine-tune it, take it away, or bring one back (Transfer training, part 2)."""

from __future__ import annotations

import logging
import time

import keras
import numpy as np
import streamlit as st

from core.data.images import ImageInputError, center_crop_resize, load_image_file
from core.models.backbones import get_spec, load_backbone
from core.models.classify import top_k
from core.transfer.evaluation import evaluate_probs
from core.transfer.export import ExportError, bundle_files, bundle_zip, notebook_lines, run_report
from core.transfer.finetune import (
    FineTuneSettings,
    backbone_blocks,
    block_of,
    describe_hardware,
    estimate_seconds,
    fine_tune,
)
from core.transfer.loading import ModelCheckError, ModelLimits, load_upload
from core.transfer.model import assemble
from core.transfer.pipeline import guess_backbone, predict_probs
from core.transfer.surgery import flat_classifier
from ui.common import photo_input_ui, top_k_chart
from ui.settings import widget_max
from ui.transfer_training import MODEL_KEY, curves_figure

FT_KEY = "tt_fine_tune"
_LOG = logging.getLogger(__name__)


def try_it_ui() -> None:
    """Predicts the session model's classes for new photos (upload, camera or sample)."""
    trained = st.session_state.get(MODEL_KEY)
    if not trained:
        return
    st.header("Try it")
    st.caption(f"Photos the model has not seen; it answers with its own {len(trained['classes'])} classes.")
    photos = photo_input_ui("tt_try", multiple=True)
    if not photos:
        return
    try:
        probs = predict_probs(trained["model"], [p.image for p in photos])
    except (ValueError, TypeError) as exc:  # a loaded model whose layers do not fit these photos
        _LOG.exception("Try it failed")
        st.error(f"This model cannot classify these photos ({type(exc).__name__}); train or load another.",
                 icon="🚫")
        return
    k = min(5, len(trained["classes"]))
    explain = _gradcam(trained)
    for photo, row in zip(photos, probs):
        left, right = st.columns([1, 2])
        predicted = trained["classes"][int(np.argmax(row))]
        if explain is None:
            left.image(photo.image, caption=photo.name, width="stretch")
        else:
            left.image(explain(photo.image, int(np.argmax(row))), width="stretch",
                       caption=f"{photo.name}: where the model looked for {predicted} (Grad-CAM)")
        right.plotly_chart(top_k_chart(top_k(row, k, trained["classes"]), "Your model"), width="stretch",
                           key=f"try_{photo.digest}_{trained.get('run')}")


def _gradcam(trained: dict):
    """A function (photo, class) -> Grad-CAM overlay, when the feature-maps page's Grad-CAM exists; else None."""
    try:
        from core.explain.gradcam import GradCamExplainer, gradcam_overlay
    except ImportError:  # the Feature maps page (core.explain.gradcam) is not part of this build
        return None
    if "gradcam" not in trained:
        try:
            flat, layer = flat_classifier(trained["model"])
        except ValueError:  # a loaded model of another structure: classify without the heatmap
            trained["gradcam"] = None
        else:
            trained["gradcam"] = GradCamExplainer(flat, layer)
    if trained["gradcam"] is None:
        return None
    explainer, size = trained["gradcam"], int(trained["model"].input_shape[1])

    def overlay(image, class_index):
        pixels = center_crop_resize(image, size)
        return gradcam_overlay(pixels, explainer.explain(pixels.astype(np.float32), class_index).heatmap)

    return overlay


def export_ui(run: dict | None) -> None:
    """One download: the model, its labels, TensorFlow Lite, the run report and predict.py, in a zip."""
    trained = st.session_state.get(MODEL_KEY)
    if not trained:
        return
    st.header("Take it with you")
    st.markdown("One zip: `model.keras` (standard Keras layers, opens in any Python with Keras 3), "
                "`labels.txt` (class names, one a line), `model.tflite` (phones, same numbers), "
                "the run report and `predict.py` (`python predict.py photo.jpg` prints the top classes).")
    slot = st.empty()  # the prepare button, replaced by the download once the zip exists
    bundle = trained.get("bundle")
    if bundle is None and slot.button("Prepare the download", key="tt_make_bundle",
                                      help="Saves the model and converts it to TensorFlow Lite (a few seconds)."):
        bundle = _make_bundle(trained, run)
    if bundle:
        slot.download_button("Download the model (zip)", bundle, file_name="transfer_lab_model.zip",
                             mime="application/zip", key="tt_dl_bundle", on_click="ignore", type="primary")
    st.markdown("In the lesson's notebook, beside the unzipped files:")
    st.code(notebook_lines(), language="python")
    st.caption("Then `model.predict(pixels)` on photos centre-cropped (87.5% of the shorter side) and resized to "
               f"{int(trained['model'].input_shape[1])} px, pixels 0-255: the model does its own scaling. "
               "`predict.py` in the zip shows how.")


def _make_bundle(trained: dict, run: dict | None) -> bytes | None:
    """The zip's bytes, made once per model; a failed conversion is one message."""
    report = run_report(_report_fields(run)) if run is not None and trained.get("run") in (
        run["number"], f"{run['number']} fine-tuned") else None
    try:
        with st.spinner("Saving the model and converting it to TensorFlow Lite..."):
            trained["bundle"] = bundle_zip(bundle_files(trained["model"], trained["classes"], report))
    except ExportError as exc:
        st.error(str(exc), icon="🚫")
        return None
    return trained["bundle"]


def _report_fields(run: dict) -> dict:
    """What ``core.transfer.export.run_report`` needs from a page run."""
    hs = run["head_settings"]
    fine = run.get("fine_tune")
    return {"dataset": run["dataset"], "task": run["task"], "backbone": run["backbone"], "classes": run["classes"],
            "settings": {k: getattr(hs, k) for k in hs.__dataclass_fields__} | {
                "views": 1 + len(run["data"].embeddings.views)},
            "train_count": len(run["data"].split.train), "val_count": len(run["data"].split.val),
            "evaluation": run["evaluation"], "history": run["history"],
            "fine_tune": {"val_accuracy": fine["evaluation"].accuracy, "history": fine["history"],
                          "seconds": fine["seconds"], "unfrozen": list(fine["unfrozen"]),
                          "precision": fine["precision"]} if fine else None}


def model_limits() -> ModelLimits:
    """Bounds on an uploaded model; in classroom mode the teacher's upload limit caps its size."""
    from ui.settings import lab_settings

    cap = lab_settings().limits.max_upload_mb
    return ModelLimits(max_mb=min(cap, ModelLimits().max_mb)) if cap else ModelLimits()


def load_model_ui() -> None:
    """Loads the downloaded zip (or a .keras with its labels.txt) in Keras safe mode as the session model."""
    # Open after a load: the rerun that draws the new model's sections above re-creates this expander.
    with st.expander("Load a model you downloaded before", expanded="tt_loaded_id" in st.session_state):
        limits = model_limits()
        uploads = st.file_uploader("The zip from “Take it with you”, or a .keras file with its labels.txt",
                                   type=["zip", "keras", "txt"], accept_multiple_files=True, key="tt_model_upload",
                                   help=f"At most {limits.max_mb} MB, input at most {limits.max_side} px a side; "
                                        "loaded in Keras safe mode (no code inside).")
        if not uploads:
            return
        upload_id = tuple(u.file_id for u in uploads)
        if st.session_state.get("tt_loaded_id") == upload_id:
            st.success(st.session_state.get("tt_loaded_message", "Loaded."), icon="✅")
            return
        trained, message = load_uploaded_model({u.name: u.getvalue() for u in uploads}, limits)
        if trained is None:
            st.error(message, icon="🚫")
            return
        st.session_state[MODEL_KEY] = trained | {"run": f"upload {upload_id}"}
        st.session_state["tt_loaded_id"] = upload_id
        st.session_state["tt_loaded_message"] = message
        st.rerun()  # Try it and Take it with you sit above this expander: draw them for the new model


def load_uploaded_model(files: dict[str, bytes], limits: ModelLimits) -> tuple[dict | None, str]:
    """The session-model entry for uploaded files, or None and the one line that says why not."""
    names = ", ".join(files)
    try:
        model, classes = load_upload(files, limits)
    except ModelCheckError as exc:
        return None, f"{names} was refused: {exc}"
    backbone = guess_backbone(model)
    if backbone is None:
        return None, f"{names}: its backbone is not one Transfer Lab knows, so it was not loaded"
    shown = ", ".join(classes[:6]) + (", ..." if len(classes) > 6 else "")
    return ({"model": model, "classes": classes, "backbone": backbone},
            f"Loaded {names}: {len(classes)} classes ({shown}).")


def fine_tune_ui(run: dict | None) -> None:
    """The optional second phase: unfreeze the top blocks and train on pixels, with an estimate first."""
    finish_interrupted_fine_tune()
    if run is None:
        return
    st.header("Fine-tune (optional, slow on a CPU)")
    data = run["data"]
    cols = st.columns(4)
    blocks = cols[0].number_input("Backbone blocks to unfreeze", 1, widget_max("max_fine_tune_blocks", 10),
                                  min(2, widget_max("max_fine_tune_blocks", 10)), key="tt_ft_blocks",
                                  help="Counted from the top (the head convolution is one block).")
    epochs = cols[1].number_input("Epochs", 1, widget_max("max_fine_tune_epochs", 50),
                                  min(3, widget_max("max_fine_tune_epochs", 50)), key="tt_ft_epochs")
    rate = cols[2].select_slider("Learning rate", [1e-6, 3e-6, 1e-5, 3e-5, 1e-4], 1e-5, key="tt_ft_lr",
                                 format_func=lambda v: f"{v:g}")
    augment = cols[3].checkbox("Augment (flip, rotate, zoom)", True, key="tt_ft_augment")
    settings = FineTuneSettings(int(blocks), int(epochs), float(rate), augment=bool(augment),
                                seed=run["head_settings"].seed)
    estimate = estimate_seconds(run["images_per_s"], len(data.split.train), len(data.split.val), settings.epochs)
    st.caption(f"This runs the whole backbone on every photo every epoch, on {describe_hardware()}. "
               f"Estimated time: {_duration(estimate)}.")
    left, right, _ = st.columns([1, 1, 4])
    go = left.button("Fine-tune", key="tt_ft_go")
    right.button("Stop", key="tt_ft_stop", help="Ends fine-tuning now and keeps its best epoch so far.")
    if go:
        _run_fine_tune(run, settings)
    if run.get("fine_tune"):
        _show_fine_tune(run)


def _duration(seconds: float) -> str:
    """An estimate in words: seconds under a minute and a half, else minutes."""
    if not np.isfinite(seconds):
        return "unknown (the embeddings came from the cache, so the backbone's speed was not measured)"
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.1f} min"


def _run_fine_tune(run: dict, settings: FineTuneSettings) -> None:
    """Fine-tunes a copy of the run's model on its own, freshly built backbone, with live curves.

    After each epoch that improves, the weights are kept in the session, so a Stop (a rerun that
    interrupts this one) still leaves the best fine-tuned model: see ``finish_interrupted_fine_tune``.
    """
    data, classes = run["data"], run["classes"]
    with st.spinner("Preparing photos and a backbone of your own..."):
        pixels = _prepared_pixels(run)
        backbone = load_backbone(run["backbone"])  # never the shared one: its weights are about to change
        head = keras.models.clone_model(run["head"])
        head.set_weights(run["head"].get_weights())
    embedding = backbone.embedding_model()
    history = {k: list(v) for k, v in run["history"].items()}
    active = {"run": run, "embedding": embedding, "head": head, "history": history, "pixels": pixels,
              "start_epoch": len(history.get("loss", [])), "started": time.perf_counter(), "best": None,
              "precision": settings.resolved_precision()}
    st.session_state[FT_KEY] = active
    chart = st.empty()

    def on_epoch(record):
        for key, value in record.logs.items():
            history.setdefault(key, []).append(value)
        if record.best_epoch == record.epoch:
            active["best"] = (embedding.get_weights(), head.get_weights())
        chart.plotly_chart(_phases_figure(history, active["start_epoch"]), width="stretch")

    try:
        tuned = fine_tune(embedding, head, classes, pixels[data.split.train], data.labels[data.split.train],
                          pixels[data.split.val], data.labels[data.split.val], settings, on_epoch=on_epoch)
    finally:
        chart.empty()
    _finish_fine_tune(active, tuned.model, tuned.unfrozen)


def _finish_fine_tune(active: dict, model: keras.Model, unfrozen) -> None:
    """Scores the fine-tuned model, records it on the run and makes it the session's model."""
    run, data, classes = active["run"], active["run"]["data"], active["run"]["classes"]
    val = data.split.val
    probs = model.predict(active["pixels"][val], verbose=0) if len(val) else np.zeros((0, len(classes)))
    run["fine_tune"] = {"history": active["history"], "start_epoch": active["start_epoch"],
                        "seconds": time.perf_counter() - active["started"], "unfrozen": tuple(unfrozen),
                        "precision": active["precision"],
                        "evaluation": evaluate_probs(probs, data.labels[val], classes)}
    st.session_state[MODEL_KEY] = {"model": model, "classes": list(classes), "backbone": run["backbone"],
                                   "run": f"{run['number']} fine-tuned"}
    st.session_state.pop(FT_KEY, None)


def finish_interrupted_fine_tune() -> None:
    """After a Stop during fine-tuning: keeps the best fine-tuned epoch, or the head-only model if none ended."""
    active = st.session_state.get(FT_KEY)
    if not active:
        return
    if active["best"] is None:
        st.session_state.pop(FT_KEY, None)
        st.info("Fine-tuning stopped before its first epoch ended; the head-only model is kept.", icon="⏹️")
        return
    embedding_weights, head_weights = active["best"]
    active["embedding"].set_weights(embedding_weights)
    active["head"].set_weights(head_weights)
    model = assemble(active["embedding"], active["head"], list(active["run"]["classes"]))
    unfrozen = [n for n in backbone_blocks(active["embedding"])
                if any(layer.trainable and layer.weights for layer in active["embedding"].layers
                       if block_of(layer.name) == n)]
    _finish_fine_tune(active, model, unfrozen)
    st.info("Fine-tuning stopped; kept the best fine-tuned epoch.", icon="⏹️")


def _prepared_pixels(run: dict) -> np.ndarray:
    """Every photo of the run, as the network sees it (``uint8``), in embeddings-row order."""
    data = run["data"]
    size = get_spec(run["backbone"]).input_size
    photos = []
    for row in range(len(data.labels)):
        sample = data.sample(row)
        try:
            image = sample.image if sample.image is not None else load_image_file(sample.path)
        except ImageInputError:
            image = np.zeros((size, size, 3), np.uint8)  # read before, so this only happens if it changed on disk
        photos.append(center_crop_resize(image, size))
    return np.stack(photos)


def _phases_figure(history: dict, start_epoch: int):
    """The curves of both phases, with a line where fine-tuning starts."""
    fig = curves_figure(history)
    fig.add_vline(x=start_epoch + 0.5, line_dash="dash", line_color="#e45756")
    fig.add_annotation(x=start_epoch + 0.5, y=1.0, yref="paper", text="fine-tuning", showarrow=False,
                       xanchor="left", font=dict(color="#e45756"))
    return fig


def _show_fine_tune(run: dict) -> None:
    """Before/after accuracy and the curves of both phases."""
    fine = run["fine_tune"]
    cols = st.columns(3)
    cols[0].metric("Head only", f"{run['evaluation'].accuracy:.1%}")
    change = 100 * (fine["evaluation"].accuracy - run["evaluation"].accuracy)
    moved = bool(round(change, 1))
    cols[1].metric("After fine-tuning", f"{fine['evaluation'].accuracy:.1%}",
                   delta=f"{change:+.1f} points" if moved else "no change",
                   delta_color="normal" if moved else "off", delta_arrow="auto" if moved else "off")
    cols[2].metric("Fine-tuning time", f"{fine['seconds']:.0f} s", help=f"Trained in {fine['precision']}.")
    st.plotly_chart(_phases_figure(fine["history"], fine["start_epoch"]), width="stretch",
                    key=f"ft_curves_{run['number']}")
