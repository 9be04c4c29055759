"""Evaluating a classifier: accuracy, per-class accuracy, confusion matrix and top losses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Evaluation:
    """How a classifier did on labelled photos."""

    classes: tuple[str, ...]
    count: int
    accuracy: float
    per_class: dict[str, float]
    confusion: np.ndarray

    def as_dict(self) -> dict:
        """The CLI's ``evaluate`` JSON."""
        return {"count": self.count, "accuracy": self.accuracy, "per_class": self.per_class,
                "confusion": {"labels": list(self.classes), "matrix": self.confusion.tolist()}}


@dataclass(frozen=True)
class Loss:
    """One photo the model got wrong: where it is, true and predicted classes, and how sure it was."""

    index: int
    true_label: int
    predicted: int
    prob_predicted: float
    prob_true: float
    loss: float


def confusion_matrix(labels, predicted, num_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def evaluate_probs(probs: np.ndarray, labels, classes) -> Evaluation:
    """Scores predicted probabilities against true labels.

    Args:
        probs: ``(n, num_classes)`` probabilities.
        labels: ``(n,)`` true class indices.
        classes: class names.

    Returns:
        An ``Evaluation``; a class with no photos has per-class accuracy NaN
        in the array sense but is left out of ``per_class``.
    """
    labels = np.asarray(labels, np.int64)
    predicted = np.argmax(probs, axis=1) if len(labels) else np.zeros(0, np.int64)
    matrix = confusion_matrix(labels, predicted, len(classes))
    totals = matrix.sum(axis=1)
    per_class = {name: float(matrix[i, i] / totals[i]) for i, name in enumerate(classes) if totals[i]}
    accuracy = float(np.mean(predicted == labels)) if len(labels) else 0.0
    return Evaluation(tuple(classes), int(len(labels)), accuracy, per_class, matrix)


def top_losses(probs: np.ndarray, labels, k: int = 12) -> list[Loss]:
    """The most confidently wrong predictions, worst first.

    Args:
        probs: ``(n, num_classes)`` probabilities.
        labels: ``(n,)`` true class indices.
        k: how many at most.

    Returns:
        Up to k ``Loss`` records of misclassified photos, by decreasing cross-entropy.
    """
    labels = np.asarray(labels, np.int64)
    if not len(labels):
        return []
    predicted = np.argmax(probs, axis=1)
    p_true = probs[np.arange(len(labels)), labels]
    losses = -np.log(np.clip(p_true, 1e-12, 1.0))
    wrong = np.nonzero(predicted != labels)[0]
    worst = wrong[np.argsort(-losses[wrong], kind="stable")][:k]
    return [Loss(int(i), int(labels[i]), int(predicted[i]), float(probs[i, predicted[i]]), float(p_true[i]),
                 float(losses[i])) for i in worst]
