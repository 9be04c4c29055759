"""Fine-tuning, the optional second phase of the original lesson: unfreeze the top blocks and train on pixels.

The backbone runs on every photo every epoch here (no embedding cache can
help once its weights change), so this is the slow part: minutes on a CPU
for a few hundred photos, much quicker on a GPU. BatchNorm layers stay in
inference mode and frozen, as in the Keras transfer-learning guide, so a
small batch cannot wreck the statistics learnt on ImageNet.

On a GPU the layers compute in float16 (``mixed_float16``) and with several
GPUs training is mirrored across them. Both train a copy of the backbone and
head (made in the precision, inside the strategy's scope) and copy its weights
back, so the caller's models, and the model returned, stay plain float32.
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

from core.transfer.model import assemble
from core.transfer.training import EpochStream, HeadSettings, ValidationLogs, compile_head, one_hot

_LITE_BLOCK = re.compile(r"^(stem|block\d+[a-z]|top)_")
PRECISIONS = ("auto", "float32", "mixed_float16")


@dataclass(frozen=True)
class FineTuneSettings:
    """How many backbone blocks to unfreeze and how to train them.

    ``precision`` is ``"auto"`` (``mixed_float16`` when TensorFlow sees a GPU, else ``float32``),
    ``"float32"`` or ``"mixed_float16"``. ``devices`` names the devices to mirror training across
    (``("/gpu:0", "/gpu:1")``); empty means every GPU TensorFlow sees, mirrored when there are several.
    """

    blocks: int = 2
    epochs: int = 3
    learning_rate: float = 1e-5
    batch_size: int = 16
    augment: bool = True
    seed: int = 0
    precision: str = "auto"
    devices: tuple[str, ...] = ()

    def __post_init__(self):
        if not 0 <= self.blocks <= 50:
            raise ValueError(f"blocks to unfreeze must be from 0 to 50, got {self.blocks}")
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"fine-tuning epochs must be from 1 to 100, got {self.epochs}")
        if not 0 < self.learning_rate <= 1e-2:
            raise ValueError(f"the fine-tuning learning rate must be in (0, 0.01], got {self.learning_rate}")
        if not 1 <= self.batch_size <= 256:
            raise ValueError(f"batch size must be from 1 to 256, got {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        object.__setattr__(self, "devices", tuple(self.devices))  # a list would make the settings unhashable
        if len(self.devices) == 1 or not all(isinstance(d, str) and d for d in self.devices):
            raise ValueError(f"devices must be empty (every GPU) or two or more device names, got {self.devices}")

    def resolved_precision(self) -> str:
        """``float32`` or ``mixed_float16``: what ``precision`` means on this machine."""
        return resolve_precision(self.precision, _gpu_count(self.devices))


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


def resolve_precision(precision: str, gpus: int) -> str:
    """The precision a fine-tuning run uses.

    Args:
        precision: ``"auto"``, ``"float32"`` or ``"mixed_float16"``.
        gpus: how many GPUs the run trains on.

    Returns:
        ``"float32"`` or ``"mixed_float16"``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    # float16 pays off on a GPU (tensor cores, half the memory traffic); a CPU emulates it, slower than float32.
    return "mixed_float16" if gpus > 0 else "float32"


def distribution_strategy(devices: list[str] | tuple[str, ...] | None = None) -> tf.distribute.Strategy | None:
    """``MirroredStrategy`` over several devices; None (the default device) for one device or a CPU.

    Args:
        devices: device names to mirror across; None for every GPU TensorFlow sees.

    Returns:
        The strategy, or None when there are fewer than two devices.
    """
    names = list(devices) if devices else [d.name for d in tf.config.list_logical_devices("GPU")]
    return tf.distribute.MirroredStrategy(names) if len(names) > 1 else None


def _gpu_count(devices: tuple[str, ...]) -> int:
    """How many GPUs a run with these settings' devices trains on."""
    return sum("gpu" in d.lower() for d in devices) if devices else len(tf.config.list_logical_devices("GPU"))


def describe_hardware(precision: str = "auto", devices: tuple[str, ...] = ()) -> str:
    """Where and in which precision a fine-tuning run with these settings trains, in words.

    Args:
        precision: the settings' precision.
        devices: the settings' devices (empty: every GPU TensorFlow sees).

    Returns:
        For example ``"the CPU, float32"``, ``"1 GPU, mixed float16"`` or ``"2 GPUs (mirrored), mixed float16"``.
    """
    gpus = _gpu_count(devices)
    count = len(devices) if devices else gpus
    where = "the CPU" if not gpus and count < 2 else f"{count} {'GPU' if gpus else 'device'}{'s' * (count > 1)}"
    mirrored = " (mirrored)" if count > 1 else ""
    return f"{where}{mirrored}, {resolve_precision(precision, gpus).replace('_', ' ')}"


@dataclass(frozen=True, eq=False)
class FineTuned:
    """The fine-tuned deployable model and how training went."""

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    stopped_by: str
    seconds: float
    unfrozen: tuple[str, ...]
    precision: str


def estimate_seconds(images_per_s: float, train_count: int, val_count: int, epochs: int,
                     setup_s: float = 5.0) -> float:
    """Rough fine-tuning time from the backbone's measured forward speed.

    Args:
        images_per_s: forward passes per second measured while extracting embeddings.
        train_count: training photos.
        val_count: validation photos.
        epochs: fine-tuning epochs.
        setup_s: tracing and compiling the training step once (a few seconds on a CPU).

    Returns:
        Seconds (a training step costs about 3 forwards), or NaN when no speed was measured.
    """
    if images_per_s <= 0:
        return float("nan")
    return setup_s + epochs * (3 * train_count + val_count) / images_per_s


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
        settings: blocks, epochs, learning rate, batch size, augmentation, seed, precision, devices.
        on_epoch: called with an ``EpochRecord`` after each epoch; ``embedding_model`` and ``head``
            hold that epoch's weights by then.
        should_stop: polled after each epoch; True stops cleanly, keeping the best epoch.

    Returns:
        ``FineTuned`` with the assembled float32 pixels-to-probabilities model (best epoch's weights)
        and the precision it was trained in.
    """
    unfrozen = unfreeze_top(embedding_model, settings.blocks)
    strategy = distribution_strategy(settings.devices)
    precision = settings.resolved_precision()
    with strategy.scope() if strategy else contextlib.nullcontext():  # the trained model's variables, mirrored
        embedding, trained_head = _training_copies(embedding_model, head, precision, strategy is not None)
        trainer = compile_head(_trainer(embedding, trained_head, settings), HeadSettings(
            learning_rate=settings.learning_rate, batch_size=settings.batch_size), precision == "mixed_float16")
    pairs = [(embedding, embedding_model), (trained_head, head)] if embedding is not embedding_model else []
    stream = EpochStream(on_epoch, should_stop, "val_loss" if _has(val_pixels) else "loss")
    callbacks = [ValidationLogs(val_pixels, one_hot(val_y, len(classes)))] if _has(val_pixels) else []
    start = time.perf_counter()
    trainer.fit(_pixel_batches(train_pixels, one_hot(train_y, len(classes)), settings), epochs=settings.epochs,
                verbose=0, callbacks=[*callbacks, _CopyWeights(pairs), stream], shuffle=False)
    for trained, original in pairs:  # the best epoch's weights, restored by the stream at the end of training
        _copy_weights(trained, original)
    return FineTuned(assemble(embedding_model, head, list(classes)), stream.history, stream.best_epoch,
                     stream.stopped_by, time.perf_counter() - start, tuple(unfrozen), precision)


def _has(pixels: np.ndarray | None) -> bool:
    """Whether there are validation photos."""
    return pixels is not None and len(pixels) > 0


def _trainer(embedding: keras.Model, head: keras.Model, settings: FineTuneSettings) -> keras.Model:
    """Pixels, augmented while training, through the backbone (BatchNorm in inference mode, always) and head."""
    inputs = keras.Input(embedding.input_shape[1:], name="pixels")
    x = augmentation(settings.seed)(inputs) if settings.augment else inputs
    return keras.Model(inputs, head(embedding(x, training=False)), name="fine_tune")


def _training_copies(embedding_model: keras.Model, head: keras.Model, precision: str,
                     distributed: bool) -> tuple[keras.Model, keras.Model]:
    """The models to train: the caller's own in plain float32 on one device, else copies made here."""
    if precision == "float32" and not distributed:
        return embedding_model, head
    # The head's softmax stays float32: float16 probabilities near 0 or 1 would make the loss inexact.
    return _clone(embedding_model, precision), _clone(head, precision, keep=tuple(head.output_names))


def _clone(model: keras.Model, dtype: str, keep: tuple[str, ...] = ()) -> keras.Model:
    """A copy of a model with its layers (but those named in ``keep``) in ``dtype``, its weights and trainable flags.

    Made layer by layer, not with the global dtype policy: that would also change the cached
    models other sessions share.
    """
    def rebuild(layer):
        config = layer.get_config()
        if layer.name not in keep:
            config["dtype"] = dtype
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=rebuild, recursive=True)
    _copy_trainable(model, copy)
    _copy_weights(model, copy)
    return copy


def _copy_trainable(source: keras.Model, target: keras.Model) -> None:
    """Gives each layer of ``target`` its twin's trainable flag (a model's own flag first: it resets its layers')."""
    target.trainable = source.trainable
    for original, twin in zip(source.layers, target.layers):
        if isinstance(original, keras.Model):
            _copy_trainable(original, twin)
        else:
            twin.trainable = original.trainable


def _copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copies every weight of ``source`` into the same weight of ``target``, a copy of the same architecture."""
    paths = [w.path for w in source.weights]
    if paths != [w.path for w in target.weights]:
        raise ValueError(f"cannot copy the weights of {source.name} into {target.name}: the layers differ")
    target.set_weights(source.get_weights())


class _CopyWeights(keras.callbacks.Callback):
    """After each epoch, copies trained copies' weights into the caller's models (``on_epoch`` may read them)."""

    def __init__(self, pairs: list[tuple[keras.Model, keras.Model]]):
        super().__init__()
        self.pairs = pairs

    def on_epoch_end(self, epoch, logs=None):
        for trained, original in self.pairs:
            _copy_weights(trained, original)


def _pixel_batches(pixels: np.ndarray, y: np.ndarray, settings: FineTuneSettings) -> tf.data.Dataset:
    """Shuffled batches of uint8 photos, made float32 one batch at a time (memory: the photos once, as bytes)."""
    data = tf.data.Dataset.from_tensor_slices((np.asarray(pixels, np.uint8), y))
    data = data.shuffle(len(pixels), seed=settings.seed, reshuffle_each_iteration=True).batch(settings.batch_size)
    return data.map(_as_float).prefetch(1)


def _as_float(pixels: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One batch's pixels as float32 (a named function: autograph cannot read a lambda's source in some calls)."""
    return tf.cast(pixels, tf.float32), targets
