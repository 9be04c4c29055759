"""Training a classifier head on cached embeddings, streaming each epoch as it ends.

With the backbone's features computed once, an epoch is one small matrix
product per batch: milliseconds on a CPU, where the original lesson ran the
whole frozen backbone on every image every epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from core.transfer.model import build_head


@dataclass(frozen=True)
class HeadSettings:
    """How the head is built and trained."""

    learning_rate: float = 1e-3
    epochs: int = 20
    batch_size: int = 32
    label_smoothing: float = 0.0
    hidden_units: int = 0
    dropout: float = 0.0
    early_stopping: int = 0
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        if not 1 <= self.epochs <= 1000:
            raise ValueError(f"epochs must be from 1 to 1000, got {self.epochs}")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"batch size must be from 1 to 4096, got {self.batch_size}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.hidden_units < 0 or self.early_stopping < 0:
            raise ValueError("hidden units and early-stopping patience must be 0 or more")


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: its number (from 1), its logs, the best epoch so far and that epoch's weights."""

    epoch: int
    logs: dict[str, float]
    best_epoch: int
    best_weights: list | None = field(default=None, compare=False, repr=False)


class ValidationLogs(keras.callbacks.Callback):
    """Adds ``val_loss`` and ``val_accuracy`` to each epoch's logs with one direct call of the head.

    Cheaper than ``fit(validation_data=...)``, which builds a new evaluation loop every epoch:
    on a small head that loop, not the arithmetic, is most of the epoch's time.
    """

    def __init__(self, x: np.ndarray, y_one_hot: np.ndarray):
        super().__init__()
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y_one_hot, np.float32)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        probs = np.concatenate([np.asarray(self.model(self.x[i:i + 64], training=False))
                                for i in range(0, len(self.x), 64)])
        logs["val_loss"] = float(self.model.loss(self.y, probs))
        logs["val_accuracy"] = float(np.mean(np.argmax(probs, axis=1) == np.argmax(self.y, axis=1)))


class EpochStream(keras.callbacks.Callback):
    """Streams epoch logs, stops when asked, and keeps the weights of the best epoch.

    Not ``keras.callbacks.EarlyStopping(restore_best_weights=True)``, which does the patience and the restoring
    but keeps its best weights to itself until training ends: here every streamed ``EpochRecord`` carries the
    best weights so far, so a job closed between epochs (the Stop button closes the step generator) still
    assembles the best epoch; and patience 0 means "never stop early", where EarlyStopping's 0 stops at the first
    epoch that does not improve.

    Args:
        on_epoch: called with an ``EpochRecord`` after every epoch.
        should_stop: polled after every epoch; True ends training cleanly.
        monitor: the log value whose lowest value marks the best epoch.
        patience: stop after this many epochs without improvement (0: never).
    """

    def __init__(self, on_epoch: Callable[[EpochRecord], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, monitor: str = "val_loss", patience: int = 0):
        super().__init__()
        self.on_epoch, self.should_stop = on_epoch, should_stop
        self.monitor, self.patience = monitor, patience
        self.history: dict[str, list[float]] = {}
        self.best, self.best_epoch, self.best_weights = np.inf, 0, None
        self.stopped_by = ""

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        value = logs.get(self.monitor, logs.get("loss", np.inf))
        if value < self.best:
            self.best, self.best_epoch, self.best_weights = value, epoch + 1, self.model.get_weights()
        if self.on_epoch:
            self.on_epoch(EpochRecord(epoch + 1, logs, self.best_epoch, self.best_weights))
        if self.should_stop and self.should_stop():
            self.stopped_by, self.model.stop_training = "stop button", True
        elif self.patience and epoch + 1 - self.best_epoch >= self.patience:
            self.stopped_by, self.model.stop_training = "early stopping", True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


@dataclass(frozen=True, eq=False)
class TrainedHead:
    """A trained head (best epoch's weights) and how it got there."""

    head: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    stopped_by: str
    seconds: float
    settings: HeadSettings = field(default_factory=HeadSettings)


def one_hot(labels, num_classes: int) -> np.ndarray:
    """Integer labels as float one-hot rows."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def compile_head(head: keras.Model, settings: HeadSettings, loss_scale: bool = False) -> keras.Model:
    """Compiles a head with Adam, categorical cross-entropy (with label smoothing) and accuracy.

    Args:
        head: the model to compile (a head, or a backbone and head to fine-tune).
        settings: learning rate and label smoothing.
        loss_scale: wrap Adam in a ``LossScaleOptimizer``, for a model whose layers compute in
            float16: small float16 gradients would otherwise round to zero.

    Returns:
        The same model, compiled.
    """
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    head.compile(optimizer=keras.optimizers.LossScaleOptimizer(optimizer) if loss_scale else optimizer,
                 loss=keras.losses.CategoricalCrossentropy(label_smoothing=settings.label_smoothing),
                 metrics=["accuracy"])
    return head


def train_head(train_x: np.ndarray, train_y, num_classes: int, val_x: np.ndarray | None = None, val_y=None,
               settings: HeadSettings = HeadSettings(), on_epoch=None, should_stop=None) -> TrainedHead:
    """Trains a softmax head on embeddings, streaming each epoch.

    Runs on the GPU when TensorFlow sees one, otherwise on the CPU; the code is
    the same. With a validation set the best epoch is the lowest
    ``val_loss``, otherwise the lowest training loss; its weights are the ones
    kept, also when training is stopped early.

    Args:
        train_x: ``(n, d)`` training embeddings.
        train_y: ``(n,)`` class indices.
        num_classes: number of classes.
        val_x: validation embeddings, or None.
        val_y: validation class indices.
        settings: the head and training settings.
        on_epoch: called with an ``EpochRecord`` after each epoch.
        should_stop: polled after each epoch; True stops cleanly.

    Returns:
        A ``TrainedHead``.
    """
    head = compile_head(build_head(train_x.shape[1], num_classes, settings.hidden_units, settings.dropout,
                                   settings.seed), settings)
    has_val = val_x is not None and len(val_x) > 0
    stream = EpochStream(on_epoch, should_stop, "val_loss" if has_val else "loss", settings.early_stopping)
    callbacks = [ValidationLogs(val_x, one_hot(val_y, num_classes)), stream] if has_val else [stream]
    start = time.perf_counter()
    head.fit(_batches(train_x, one_hot(train_y, num_classes), settings), epochs=settings.epochs, verbose=0,
             callbacks=callbacks, shuffle=False)  # the dataset reshuffles itself, with the seed
    return TrainedHead(head, stream.history, stream.best_epoch, stream.stopped_by,
                       time.perf_counter() - start, settings)


def _batches(x: np.ndarray, y: np.ndarray, settings: HeadSettings) -> tf.data.Dataset:
    """Shuffled batches, reshuffled every epoch with the run's seed; built once for all epochs."""
    data = tf.data.Dataset.from_tensor_slices((np.asarray(x, np.float32), y)).cache()
    return data.shuffle(len(x), seed=settings.seed, reshuffle_each_iteration=True).batch(settings.batch_size)
