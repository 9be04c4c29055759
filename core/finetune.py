"""Fine-tuning, the optional second phase of the original lesson: unfreeze the top blocks and train on pixels.

The backbone runs on every photo every epoch here (no embedding cache can
help once its weights change), so this is the slow part: minutes on a CPU
for a few hundred photos, much quicker on a GPU. BatchNorm layers stay in
inference mode and frozen, as in the Keras transfer-learning guide, so a
small batch cannot wreck the statistics learnt on ImageNet.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from core.training import EpochStream, HeadSettings, ValidationLogs, compile_head, one_hot
from core.transfer_model import assemble

_LITE_BLOCK = re.compile(r"^(stem|block\d+[a-z]|top)_")


@dataclass(frozen=True)
class FineTuneSettings:
    """How many backbone blocks to unfreeze and how to train them."""

    blocks: int = 2
    epochs: int = 3
    learning_rate: float = 1e-5
    batch_size: int = 16
    augment: bool = True
    seed: int = 0

    def __post_init__(self):
        if not 0 <= self.blocks <= 50:
            raise ValueError(f"blocks to unfreeze must be from 0 to 50, got {self.blocks}")
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"fine-tuning epochs must be from 1 to 100, got {self.epochs}")
        if not 0 < self.learning_rate <= 1e-2:
            raise ValueError(f"the fine-tuning learning rate must be in (0, 0.01], got {self.learning_rate}")
        if not 1 <= self.batch_size <= 256:
            raise ValueError(f"batch size must be from 1 to 256, got {self.batch_size}")


def block_of(layer_name: str) -> str:
    """The block a backbone layer belongs to (``block6d``, ``top``, ...); its own name if it is not in one."""
    match = _LITE_BLOCK.match(layer_name)
    return match.group(1) if match else layer_name


def backbone_blocks(model: keras.Model) -> list[str]:
    """The blocks that hold weights, input to output (for EfficientNet-Lite: stem, block1a ... block7a, top)."""
    blocks = []
    for layer in model.layers:
        if layer.weights and block_of(layer.name) not in blocks:
            blocks.append(block_of(layer.name))
    return blocks


def unfreeze_top(model: keras.Model, blocks: int) -> list[str]:
    """Makes only the top ``blocks`` blocks trainable, BatchNorm layers excepted; returns their names."""
    names = backbone_blocks(model)
    chosen = set(names[-blocks:]) if blocks else set()
    model.trainable = True
    for layer in model.layers:
        layer.trainable = block_of(layer.name) in chosen and not isinstance(layer, layers.BatchNormalization)
    return [n for n in names if n in chosen]


def augmentation(seed: int = 0) -> keras.Sequential:
    """Random flip, small rotation and zoom: active only while training."""
    return keras.Sequential([layers.RandomFlip("horizontal", seed=seed), layers.RandomRotation(0.05, seed=seed),
                             layers.RandomZoom(0.1, seed=seed)], name="augmentation")


def distribution_scope():
    """``MirroredStrategy`` over several GPUs; nothing special on one GPU or a CPU."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


@dataclass(frozen=True, eq=False)
class FineTuned:
    """The fine-tuned deployable model and how training went."""

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    stopped_by: str
    seconds: float
    unfrozen: tuple[str, ...]


def estimate_seconds(images_per_s: float, train_count: int, val_count: int, epochs: int) -> float:
    """Rough fine-tuning time from the backbone's measured forward speed (a training step costs about 3 forwards)."""
    if images_per_s <= 0:
        return float("nan")
    return epochs * (3 * train_count + val_count) / images_per_s


def fine_tune(embedding_model: keras.Model, head: keras.Model, classes, train_pixels: np.ndarray, train_y,
              val_pixels: np.ndarray | None = None, val_y=None, settings: FineTuneSettings = FineTuneSettings(),
              on_epoch=None, should_stop=None) -> FineTuned:
    """Fine-tunes the top blocks of a backbone together with its trained head.

    Args:
        embedding_model: pixels to embedding, built for this run alone (never a backbone shared between
            sessions): its weights change.
        head: the head trained on cached embeddings (phase one); it keeps training.
        classes: class names.
        train_pixels: ``(n, size, size, 3)`` prepared ``uint8`` training photos.
        train_y: class indices.
        val_pixels: validation photos, or None.
        val_y: their class indices.
        settings: blocks, epochs, learning rate, batch size, augmentation, seed.
        on_epoch: called with an ``EpochRecord`` after each epoch.
        should_stop: polled after each epoch; True stops cleanly, keeping the best epoch.

    Returns:
        ``FineTuned`` with the assembled pixels-to-probabilities model (best epoch's weights).
    """
    keras.utils.set_random_seed(settings.seed)
    with distribution_scope():
        unfrozen = unfreeze_top(embedding_model, settings.blocks)
        inputs = keras.Input(embedding_model.input_shape[1:], name="pixels")
        x = augmentation(settings.seed)(inputs) if settings.augment else inputs
        outputs = head(embedding_model(x, training=False))  # BatchNorm in inference mode, always
        trainer = compile_head(keras.Model(inputs, outputs, name="fine_tune"),
                               HeadSettings(learning_rate=settings.learning_rate, batch_size=settings.batch_size))
    has_val = val_pixels is not None and len(val_pixels) > 0
    stream = EpochStream(on_epoch, should_stop, "val_loss" if has_val else "loss")
    callbacks = [ValidationLogs(val_pixels, one_hot(val_y, len(classes))), stream] if has_val else [stream]
    start = time.perf_counter()
    trainer.fit(_pixel_batches(train_pixels, one_hot(train_y, len(classes)), settings), epochs=settings.epochs,
                verbose=0, callbacks=callbacks, shuffle=False)
    return FineTuned(assemble(embedding_model, head, list(classes)), stream.history, stream.best_epoch,
                     stream.stopped_by, time.perf_counter() - start, tuple(unfrozen))


def _pixel_batches(pixels: np.ndarray, y: np.ndarray, settings: FineTuneSettings) -> tf.data.Dataset:
    """Shuffled batches of uint8 photos, made float32 one batch at a time (memory: the photos once, as bytes)."""
    data = tf.data.Dataset.from_tensor_slices((np.asarray(pixels, np.uint8), y))
    data = data.shuffle(len(pixels), seed=settings.seed, reshuffle_each_iteration=True).batch(settings.batch_size)
    return data.map(lambda x, t: (tf.cast(x, tf.float32), t)).prefetch(1)
