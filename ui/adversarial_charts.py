"""Adversarial dog's charts and tables, in the learner's language (class names through class_label)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ui.adversarial import class_label
from ui.i18n import t
from ui.text import chart_text


def top5_chart(predictions, labels: tuple[str, ...] | None, title: str) -> go.Figure:
    """Horizontal bars of the top classes, most probable on top, named in the learner's language."""
    preds = list(reversed(predictions))
    names = [chart_text(class_label(p.index, labels)) for p in preds]
    fig = go.Figure(go.Bar(
        x=[p.prob for p in preds], y=names, orientation="h", text=[f"{p.prob:.1%}" for p in preds],
        textposition="auto", marker_color="#4c78a8", hovertemplate=t("adversarial.chart_bar_hover"),
    ))
    fig.update_layout(title=title, height=260, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title=t("adversarial.chart_probability")),
                      yaxis=dict(automargin=True))
    return fig


def _verdict(row: dict, targeted: bool) -> str:
    if not row["survives"]:
        return t("adversarial.verdict_undone")
    return t("adversarial.verdict_still_fooled") if targeted else t("adversarial.verdict_still_changed")


def survival_table(rows: list[dict], labels: tuple[str, ...] | None, targeted: bool) -> pd.DataFrame:
    """The survival checks: change, its setting, the prediction, the target's probability, the verdict."""
    prob_column = t("adversarial.col_target_prob") if targeted else t("adversarial.col_original_prob")
    return pd.DataFrame([{
        t("adversarial.col_check"): check_name(row["check_id"]),
        t("adversarial.col_setting"): survival_setting(row),
        t("adversarial.col_prediction"): f"{class_label(row['top_index'], labels)} {row['top_prob']:.0%}",
        prob_column: f"{row['target_prob']:.1%}",
        t("adversarial.col_attack"): _verdict(row, targeted),
    } for row in rows])


def check_name(check: str) -> str:
    """One survival check's name."""
    return {"none": t("adversarial.check_none"), "jpeg": t("adversarial.check_jpeg"),
            "resize": t("adversarial.check_resize"), "blur": t("adversarial.check_blur")}[check]


def survival_setting(row: dict) -> str:
    """The strength of one survival check in words."""
    value = row.get("value")
    return {"none": lambda: t("adversarial.setting_png"),
            "jpeg": lambda: t("adversarial.setting_jpeg", quality=value),
            "resize": lambda: t("adversarial.setting_resize", scale=value),
            "blur": lambda: t("adversarial.setting_blur", radius=value)}[row["check_id"]]()


def transfer_table(rows: list[dict], targeted: bool) -> pd.DataFrame:
    """What each other network sees in the clean photo and in the adversarial image."""
    prob_column = t("adversarial.col_target_prob") if targeted else t("adversarial.col_original_prob")
    return pd.DataFrame([{
        t("adversarial.col_network"): row["network"],
        t("adversarial.col_clean"): f"{class_label(row['clean_index'], None)} {row['clean_prob']:.0%}",
        t("adversarial.col_prediction"): f"{class_label(row['top_index'], None)} {row['top_prob']:.0%}",
        prob_column: f"{row['target_prob']:.1%}",
        t("adversarial.col_attack"): _verdict(row, targeted),
    } for row in rows])


def sweep_figure(curve: dict[int, tuple[int, int]], method: str, target: str, photos: int) -> go.Figure:
    """Success rate against epsilon, one point per budget (successes, photos)."""
    eps = sorted(curve)
    rates = [curve[e][0] / curve[e][1] if curve[e][1] else 0 for e in eps]
    fig = go.Figure(go.Scatter(
        x=eps, y=rates, mode="lines+markers+text", text=[f"{r:.0%}" for r in rates], textposition="top center",
        customdata=[t("adversarial.sweep_point", fooled=curve[e][0], done=curve[e][1]) for e in eps],
        hovertemplate=t("adversarial.sweep_hover"), marker_color="#e45756",
    ))
    fig.update_layout(title=t("adversarial.sweep_title", method=method.upper(), target=target, photos=photos),
                      height=360, xaxis_title=t("adversarial.sweep_x"), yaxis_title=t("adversarial.sweep_y"),
                      yaxis=dict(range=[0, 1.1], tickformat=".0%"), margin=dict(l=10, r=10, t=40, b=10))
    return fig
