"""Transfer training's results: curves, scores, confusion matrix, top losses and the session's runs table.

Chart builders take the learner's language from ``t()`` and class names through ``learner_class``: breeds and
species in the learner's language, a class the learner named as they typed it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.data.images import ImageInputError, center_crop_resize, load_image_file
from core.models.backbones import get_spec
from core.transfer.pipeline import Epoch
from ui.errors import problem_text
from ui.i18n import current_language, learner_class, t
from ui.state import TransferRun, carry_widget_value, transfer_page
from ui.text import chart_text, plain


def language_key(key: str) -> str:
    """The key of a select box whose options are words: it follows the language, keeping the chosen value.

    A select box keeps showing its old option text when only the labels change, so each language draws its own
    widget; the value moves over from the other language's one.
    """
    lang = current_language()
    new = f"{key}_{lang}"
    for other in (f"{key}_{name}" for name in ("en", "zh") if name != lang):
        carry_widget_value(other, new)
    return new


def shown_dataset(name: str) -> str:
    """A dataset's name in the learner's language when the lab named it; a folder's name as it is."""
    return {"Bundled pets": t("own_classes.source_bundled"), "Cats vs Dogs": t("own_classes.source_cats_dogs"),
            "Oxford-IIIT Pet": t("own_classes.source_oxford")}.get(name, name)


def task_label(task: str) -> str:
    """How a dataset's classes are labelled, in words."""
    return {"folders": t("transfer.task_folders"), "breeds": t("transfer.task_breeds"),
            "species": t("transfer.task_species")}[task]


def history_of(records, phase: str = "head") -> tuple[dict[str, list[float]], int]:
    """The curves so far and the best epoch, from a job's ``Epoch`` records of one phase."""
    history, best = {}, 0
    for record in list(records):
        if isinstance(record, Epoch) and record.phase == phase:
            for key, value in record.logs.items():
                history.setdefault(key, []).append(value)
            best = record.best_epoch
    return history, best


def curves_figure(history: dict, best_epoch: int = 0) -> go.Figure:
    """Loss and accuracy per epoch, training and validation, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("transfer.chart_loss"), t("transfer.chart_accuracy")))
    styles = {"": (t("transfer.chart_train"), "#4c78a8"), "val_": (t("transfer.chart_validation"), "#f58518")}
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for prefix, (label, color) in styles.items():
            values = history.get(prefix + metric, [])
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=label,
                                     line=dict(color=color), showlegend=col == 1, legendgroup=label), 1, col)
    if best_epoch:
        fig.add_vline(x=best_epoch, line_dash="dot", line_color="gray")
    fig.update_xaxes(title_text=t("transfer.chart_epoch"))
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def phases_figure(history: dict, start_epoch: int) -> go.Figure:
    """The curves of both phases, with a line where fine-tuning starts."""
    fig = curves_figure(history)
    fig.add_vline(x=start_epoch + 0.5, line_dash="dash", line_color="#e45756")
    fig.add_annotation(x=start_epoch + 0.5, y=1.0, yref="paper", text=t("transfer.chart_fine_tuning"),
                       showarrow=False, xanchor="left", font=dict(color="#e45756"))
    return fig


def confusion_figure(matrix: np.ndarray, classes) -> go.Figure:
    """Confusion matrix heatmap (rows true, columns predicted) that stays readable at 37 classes."""
    n, names = len(classes), [chart_text(learner_class(c)) for c in classes]
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=matrix / totals, x=names, y=names, customdata=matrix, colorscale="Blues", zmin=0, zmax=1,
        text=matrix if n <= 15 else None, texttemplate="%{text}" if n <= 15 else None,
        hovertemplate=t("transfer.confusion_hover") + "<extra></extra>",
        colorbar=dict(title=t("transfer.confusion_share"), tickformat=".0%"),
    ))
    size, font = max(360, 20 * n + 200), dict(size=10 if n > 15 else 12)
    fig.update_layout(height=size, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title=t("transfer.confusion_predicted"), tickangle=-90 if n > 15 else 0, dtick=1,
                                 tickfont=font),
                      yaxis=dict(title=t("transfer.confusion_true"), autorange="reversed", dtick=1, tickfont=font))
    return fig


def per_class_figure(per_class: dict[str, float]) -> go.Figure:
    """Horizontal bars of per-class validation accuracy, worst at the top."""
    items = sorted(per_class.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[chart_text(learner_class(k)) for k, _ in items], orientation="h",
                           marker_color="#54a24b", hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
    fig.update_layout(height=max(220, 16 * len(items) + 60), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title=t("transfer.per_class_axis")),
                      yaxis=dict(tickfont=dict(size=10)))
    return fig


def show_run(run: TransferRun) -> None:
    """Curves, scores, confusion matrix and top losses of one run."""
    report = run.report
    st.subheader(t("transfer.run_title", number=run.number, dataset=shown_dataset(run.dataset),
                   task=task_label(run.task)))
    cols = st.columns(4)
    cols[0].metric(t("transfer.metric_accuracy"), f"{run.accuracy:.1%}")
    cols[1].metric(t("transfer.metric_val_photos"), len(report.data.split.val))
    cols[2].metric(t("transfer.metric_best_epoch"), report.best_epoch)
    cols[3].metric(t("transfer.metric_time"), t("transfer.seconds", seconds=report.seconds))
    _data_notes(report.data)
    if report.stopped_by:
        st.caption(t("transfer.ended_by_stop") if report.stopped_by == "stop button" else t("transfer.ended_early"))
    st.plotly_chart(curves_figure(report.history, report.best_epoch), width="stretch", key=f"curves_{run.number}")
    if report.evaluation is None:
        st.info(t("transfer.no_validation"), icon="👉")
        return
    st.markdown(t("transfer.confusion_heading"))
    st.plotly_chart(confusion_figure(report.evaluation.confusion, run.classes), width="stretch",
                    key=f"confusion_{run.number}")
    with st.expander(t("transfer.per_class_heading"), expanded=len(run.classes) <= 15):
        st.plotly_chart(per_class_figure(report.evaluation.per_class), width="stretch",
                        key=f"per_class_{run.number}")
    _top_losses_gallery(run)


def _data_notes(data) -> None:
    """What was trained on, what could not be read, and the leakage check's near-duplicates."""
    views, counts = 1 + len(data.embeddings.views), dict(train=len(data.split.train), val=len(data.split.val),
                                                         classes=len(data.dataset.classes))
    st.caption(t("transfer.data_views", views=views, **counts) if views > 1 else t("transfer.data_counts", **counts))
    if data.embeddings.failed:
        name, problem = data.embeddings.failed[0]
        st.warning(t("transfer.unreadable_skipped", count=len(data.embeddings.failed), name=plain(name),
                     problem=problem_text(problem)),
                   icon="⚠️")
    groups = data.split.duplicate_groups
    if groups:
        names = plain(", ".join(" = ".join(data.sample(i).name for i in g) for g in groups[:3]))
        text = t("transfer.leakage_crossing", groups=len(groups), names=names, crossing=data.split.crossing_groups) \
            if data.split.crossing_groups else t("transfer.leakage_kept", groups=len(groups), names=names)
        st.info(text, icon="🔎")


def _top_losses_gallery(run: TransferRun) -> None:
    """The most confidently wrong validation photos, with true and predicted class."""
    report, classes = run.report, run.classes
    st.markdown(t("transfer.top_losses_heading"))
    if not report.losses:
        st.success(t("transfer.no_mistakes"), icon="🎯")
        return
    cols = st.columns(6)
    for k, loss in enumerate(report.losses):
        sample = report.data.sample(int(report.data.split.val[loss.index]))
        try:
            image = sample.image if sample.image is not None else load_image_file(sample.path)
        except ImageInputError:
            continue
        cols[k % 6].image(center_crop_resize(image, 200, 1.0), width="stretch", caption=t(
            "transfer.top_loss_caption", name=plain(sample.name), true=plain(learner_class(classes[loss.true_label])),
            predicted=plain(learner_class(classes[loss.predicted])), prob=loss.prob_predicted))


def backbone_name(name: str) -> str:
    """A backbone as the sidebar names it ("EfficientNet-Lite0"), not its registry key."""
    try:
        return get_spec(name).display_name
    except ValueError:  # a model loaded from a file may name a backbone this lab does not have
        return name


def runs_table() -> None:
    """The runs made in this session, to compare backbones and settings."""
    runs = transfer_page().runs
    if not runs:
        return
    st.subheader(t("transfer.runs_heading"))
    columns = {"run": t("transfer.col_run"), "backbone": t("transfer.col_backbone"),
               "dataset": t("transfer.col_dataset"), "images": t("transfer.col_images"),
               "views": t("transfer.col_views"), "classes": t("transfer.col_classes"),
               "accuracy": t("transfer.col_accuracy"), "seconds": t("transfer.col_seconds")}
    rows = [{"run": r.number, "backbone": backbone_name(r.report.backbone), "dataset": shown_dataset(r.dataset),
             "images": len(r.report.data.labels), "views": r.report.settings.views, "classes": len(r.classes),
             "accuracy": r.accuracy, "seconds": round(r.report.seconds, 1)} for r in runs]
    st.dataframe(pd.DataFrame(rows).rename(columns=columns), hide_index=True, width="stretch",
                 column_config={columns["accuracy"]: st.column_config.NumberColumn(format="percent")})
