"""The run report that travels with a downloaded model: JSON for programs, Markdown for people."""

from __future__ import annotations

import json


def run_report(run: dict) -> dict:
    """A JSON-able report of a training run: dataset, classes, settings, accuracy, confusion matrix.

    Args:
        run: keys ``dataset``, ``task``, ``backbone``, ``classes``, ``settings`` (dict), ``train_count``,
            ``val_count``, ``evaluation`` (``Evaluation``), ``history``, optionally ``fine_tune``.

    Returns:
        The report dictionary.
    """
    evaluation = run["evaluation"]
    report = {key: run[key] for key in ("dataset", "task", "backbone", "train_count", "val_count", "settings")}
    report.update(classes=list(run["classes"]), val_accuracy=evaluation.accuracy, per_class=evaluation.per_class,
                  confusion={"labels": list(evaluation.classes), "matrix": evaluation.confusion.tolist()},
                  history=run["history"])
    if run.get("fine_tune"):
        report["fine_tune"] = run["fine_tune"]
    return json.loads(json.dumps(report, default=float))


def report_markdown(report: dict) -> str:
    """The report as a short Markdown document."""
    lines = [f"# Transfer Lab run: {report['dataset']} by {report['task']}", "",
             f"- Backbone: {report['backbone']}",
             f"- Photos: {report['train_count']} training, {report['val_count']} validation",
             f"- Validation accuracy: {report['val_accuracy']:.1%}",
             "- Settings: " + ", ".join(f"{k} {v}" for k, v in report["settings"].items()), ""]
    if report.get("fine_tune"):
        lines.insert(5, f"- After fine-tuning: {report['fine_tune']['val_accuracy']:.1%}")
    lines += ["| class | accuracy |", "|---|---|"]
    lines += [f"| {name} | {acc:.1%} |" for name, acc in report["per_class"].items()]
    labels = report["confusion"]["labels"]
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", "",
              "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |"
              for name, row in zip(labels, report["confusion"]["matrix"])]
    return "\n".join(lines) + "\n"
