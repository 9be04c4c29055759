"""The one report of a training run, for the page's download and ``python -m core train`` alike.

It carries the run's spec (``"spec"``), so ``python -m core run report.json`` trains the same model again.
"""

from __future__ import annotations

from dataclasses import asdict

from core.transfer.export import run_report
from core.transfer.pipeline import TrainingReport

CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")


def curves(history: dict) -> dict:
    """The four curves of the report (and of the CLI's JSON)."""
    return {key: list(history.get(key, [])) for key in CURVES}


def fine_tune_summary(report: TrainingReport) -> dict | None:
    """Fine-tuning's part of the report: its accuracy, its own epochs' curves, time, blocks and precision."""
    fine = report.fine_tune
    if fine is None:
        return None
    return {"val_accuracy": fine.evaluation.accuracy if fine.evaluation else None,
            "history": curves({k: v[fine.start_epoch:] for k, v in fine.history.items()}),
            "seconds": round(fine.seconds, 3), "unfrozen": list(fine.unfrozen), "precision": fine.precision}


def training_report(report: TrainingReport, spec=None, dataset: str = "") -> dict | None:
    """``report.json`` of a run (``core.transfer.export.run_report`` plus the spec), None without validation
    photos. ``spec``: the ``TrainJob`` that made it (a fine-tuned run's with its fine-tuning settings)."""
    if report.evaluation is None:
        return None
    data, settings = report.data, asdict(report.settings.head) | {"views": report.settings.views}
    out = run_report({"dataset": dataset or data.dataset.name, "task": data.dataset.task, "backbone": report.backbone,
                      "classes": list(data.dataset.classes), "settings": settings,
                      "train_count": len(data.split.train), "val_count": len(data.split.val),
                      "evaluation": report.evaluation, "history": curves(report.history),
                      "fine_tune": fine_tune_summary(report)})
    if spec is not None:
        out["spec"] = spec.to_json()
    return out
