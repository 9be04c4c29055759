"""Class visualisation: the image a network finds most "cat", by gradient ascent on the input.

Two recipes, so a learner can compare them:

- **recognisable** (default): a colour-decorrelated Fourier image (``core.visualise.image_param``),
  random jitter, scale and rotation at every step (``core.visualise.transforms``), Adam at 0.03,
  maximising the mean pre-softmax logit of the target classes (Olah et al., "Feature
  Visualization", Distill 2017). Maximising the probability instead mostly teaches the
  image to make the *other* classes unlikely, which is not what a cat looks like.
- **naive**: the original lesson: optimise raw pixels from noise, no transforms, loss =
  cross-entropy of the target plus total variation. It fools the network with noise.

``Visualiser.run`` is a generator of ``StepRecord``s, so a page animates it, the CLI
prints progress and tests consume it headless. Each step is one pure compiled
function of (parameters, Adam moments, seed): no Python state changes inside it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from core.models.classifier import Classifier
from core.visualise import image_param
from core.visualise.regularisers import REGULARISERS, penalties
from core.visualise.scorers import logits_scorer, probabilities_scorer
from core.visualise.transforms import compose, jitter, rotate, scale

MODES = ("recognisable", "naive")
_ADAM_B1, _ADAM_B2, _ADAM_EPS = 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class IdealConfig:
    """Settings of one class-visualisation run (hashable: results are cached by it).

    Attributes:
        classes: target class indices; the objective is their mean score.
        mode: ``"recognisable"`` or ``"naive"``.
        steps: optimisation steps.
        size: side of the generated image in pixels (resized to the network's input).
        learning_rate: Adam step size.
        total_variation: weight of the total-variation penalty.
        blur: weight of the blur penalty.
        l2: weight of the L2 (distance from grey) penalty.
        seed: random seed of the start image and the transforms.
        jitter: largest random shift in pixels per step (recognisable mode).
        scale: largest random zoom either way, as a fraction (0.1: 0.9x to 1.1x).
        rotate: largest random rotation either way, in degrees.
        decay_power: exponent of the Fourier image's 1/f scaling; higher favours large shapes.
            Tuned on EfficientNet-Lite0 (bench/bench_ideal_cat.py): 1.25 with +-20% zoom and +-20
            degrees gives a few large cat faces that other networks also call cats; lucid's 1.0 with
            +-10% gives many small ones and weaker second opinions, 1.5 saturates the colours. Adam at
            0.03 rather than lucid's 0.05 made the second opinion steadier across seeds.
        record_every: a ``StepRecord`` every this many steps (and always at the last step).
        step_cap: if above 0, at most this many steps whatever ``steps`` says (for tests and demos).
    """

    classes: tuple[int, ...]
    mode: str = "recognisable"
    steps: int = 256
    size: int = 224
    learning_rate: float = 0.03
    total_variation: float = 0.0
    blur: float = 0.0
    l2: float = 0.0
    seed: int = 0
    jitter: int = 16
    scale: float = 0.2
    rotate: float = 20.0
    decay_power: float = 1.25
    record_every: int = 8
    step_cap: int = 0

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))
        if not self.classes:
            raise ValueError("pick at least one target class")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"target classes repeat: {self.classes}")
        if min(self.classes) < 0:
            raise ValueError(f"class indices must be 0 or more, got {self.classes}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 1 <= self.steps <= 10000:
            raise ValueError(f"steps must be from 1 to 10000, got {self.steps}")
        if not 8 <= self.size <= 1024:
            raise ValueError(f"image size must be from 8 to 1024 pixels, got {self.size}")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        for name in ("total_variation", "blur", "l2"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} weight must be 0 or more, got {getattr(self, name)}")
        if self.jitter < 0 or not 0 <= self.scale < 1 or self.rotate < 0 or self.decay_power < 0:
            raise ValueError("jitter, rotate and decay_power must be 0 or more, scale from 0 to below 1")
        if self.record_every < 1 or self.step_cap < 0:
            raise ValueError("record_every must be at least 1 and step_cap 0 or more")

    @property
    def total_steps(self) -> int:
        """Steps the run will actually take (``steps`` limited by ``step_cap``)."""
        return min(self.steps, self.step_cap) if self.step_cap else self.steps

    def recipe(self) -> tuple:
        """What the compiled step depends on: mode, size, transforms, 1/f power and active penalties."""
        active = tuple(r.name for r in REGULARISERS if getattr(self, r.name) > 0)
        if self.mode == "naive":
            return ("naive", self.size, 0, 0.0, 0.0, 0.0, active)
        return (self.mode, self.size, self.jitter, self.scale, self.rotate, self.decay_power, active)

    def regulariser_weights(self) -> tuple[float, ...]:
        """Weights in the order of ``core.visualise.regularisers.REGULARISERS``."""
        return tuple(float(getattr(self, r.name)) for r in REGULARISERS)


NAIVE_LEARNING_RATE, NAIVE_TOTAL_VARIATION = 0.01, 1.0


def mode_config(mode: str = "recognisable", **settings) -> IdealConfig:
    """A config with the mode's own defaults: the naive mode keeps the lesson's pixel step and some TV.

    Args:
        mode: ``"recognisable"`` or ``"naive"``.
        **settings: other ``IdealConfig`` fields.

    Returns:
        The config; in naive mode, learning rate 0.01 and total variation at least 1.
    """
    if mode == "naive":
        settings = {**settings, "learning_rate": NAIVE_LEARNING_RATE,
                    "total_variation": max(NAIVE_TOTAL_VARIATION, settings.get("total_variation", 0.0))}
    return IdealConfig(mode=mode, **settings)


@dataclass(frozen=True, eq=False)
class StepRecord:
    """The state of a run after ``step`` steps.

    Attributes:
        step: steps done so far.
        total_steps: steps the run will take.
        image: the current image, ``(size, size, 3)`` uint8 (untransformed).
        prob: summed probability of the target classes on this step's (transformed) view.
        logit: mean score of the target classes (pre-softmax logit, or log-probability).
        losses: each term minimised, weighted, by name (``objective``, ``total_variation``,
            ``blur``, ``l2``) and their sum as ``total``.
    """

    step: int
    total_steps: int
    image: np.ndarray
    prob: float
    logit: float
    losses: dict = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps


class Visualiser(Classifier):
    """Runs class visualisations on one classifier, compiling its step once per mode and size.

    Read-only towards the model (only the input is optimised), so one instance can
    serve several sessions.
    """

    def __init__(self, model: keras.Model, outputs: str = "logits", name: str = ""):
        """Wraps a classifier.

        Args:
            model: pixels (0-255, ``(size, size, 3)``) to class scores.
            outputs: ``"logits"`` (ImageNet backbones) or ``"probabilities"`` (a trained
                head: its pre-softmax input is used when reachable, else the log-probability).
            name: display name for records and tables.
        """
        super().__init__(model, outputs, None, name)
        self.score_fn, self.score_kind = (logits_scorer(model) if outputs == "logits"
                                          else probabilities_scorer(model))
        self._lock = threading.Lock()
        self._steps: dict[tuple[str, int], object] = {}

    def run(self, config: IdealConfig) -> Iterator[StepRecord]:
        """Optimises an image for the config's target classes, yielding progress.

        Args:
            config: the run's settings.

        Yields:
            A ``StepRecord`` every ``config.record_every`` steps and at the last step.
        """
        if max(config.classes) >= self.num_classes:
            raise ValueError(f"class {max(config.classes)} does not exist: {self.name} has {self.num_classes}")
        step_fn = self.step_function(config.recipe())
        params = tf.constant(_init_params(config))
        moments = (tf.zeros_like(params), tf.zeros_like(params))
        weights = tf.constant(class_weights(config.classes, self.num_classes))
        reg_weights = tf.constant(config.regulariser_weights(), tf.float32)
        lr = tf.constant(config.learning_rate, tf.float32)
        for step in range(1, config.total_steps + 1):
            seed = tf.constant([config.seed, step], tf.int32)
            params, moments, image, metrics = step_fn(params, moments, tf.constant(float(step)), seed,
                                                      weights, reg_weights, lr)
            if step % config.record_every == 0 or step == config.total_steps:
                yield _record(step, config.total_steps, image, metrics)

    def step_function(self, recipe: tuple):
        """The compiled pure step for one ``IdealConfig.recipe()`` (built once, thread-safe)."""
        with self._lock:
            if recipe not in self._steps:
                self._steps[recipe] = make_step(self.score_fn, recipe, self.input_size)
            return self._steps[recipe]


def make_step(score_fn, recipe: tuple, input_size: int):
    """Builds the pure optimisation step for one recipe.

    Args:
        score_fn: ``pixels (0-255) -> (scores, probabilities)``.
        recipe: ``IdealConfig.recipe()``: (mode, size, jitter, scale, rotate, decay power,
            names of the active regularisers).
        input_size: the network's input side; the image is resized to it.

    Returns:
        A ``tf.function`` ``(params, (m, v), t, seed, class_weights, reg_weights, lr)
        -> (params, (m, v), image, metrics)``.
    """
    mode, size, shift, zoom, degrees, decay_power, active = recipe
    recognisable = mode == "recognisable"
    transform = recipe_transforms(shift, zoom, degrees) if recognisable else compose([])
    regs = [r for r in REGULARISERS if r.name in active]

    def to_image(params):
        if recognisable:
            return image_param.fourier_image(params, size, decay_power)
        return image_param.pixel_image(params, size)

    @tf.function(reduce_retracing=True)
    def step(params, moments, t, seed, weights, reg_weights, lr):
        with tf.GradientTape() as tape:
            tape.watch(params)
            image = to_image(params)
            view = transform(image, seed)
            if size != input_size:
                view = tf.image.resize(view, (input_size, input_size), method="bilinear", antialias=True)
            scores, probs = score_fn(view * 255.0)
            objective = _objective(scores[0], weights, recognisable)
            # Inactive penalties are left out of the graph (they cost a third of a step) and report 0.
            terms = penalties(image, regs)
            weighted = {r.name: reg_weights[i] * terms[r.name] if r.name in terms else tf.constant(0.0)
                        for i, r in enumerate(REGULARISERS)}
            total = objective + tf.add_n(list(weighted.values()))
        grad = tape.gradient(total, params)
        params, moments = _adam(params, grad, moments, t, lr)
        metrics = {"objective": objective, **weighted, "total": total,
                   "logit": tf.reduce_sum(weights * scores[0]),
                   "prob": tf.reduce_sum(tf.cast(weights > 0, probs.dtype) * probs[0])}
        return params, moments, image, metrics

    return step


def recipe_transforms(shift: int = 16, zoom: float = 0.2, degrees: float = 20.0):
    """The recognisable recipe's transforms, lucid's standard set.

    Args:
        shift: largest jitter in pixels (a second, quarter-size jitter follows rotation).
        zoom: largest zoom either way, as a fraction.
        degrees: largest rotation either way.

    Returns:
        ``compose([jitter, scale, rotate, jitter])``.
    """
    return compose([jitter(shift), scale((1 - zoom, 1 + zoom)), rotate(degrees), jitter(shift // 4)])


def _objective(scores, weights, recognisable: bool):
    """Loss to minimise: minus the mean target score, or the cross-entropy of the targets."""
    if recognisable:
        return -tf.reduce_sum(weights * scores)
    return -tf.reduce_sum(weights * tf.nn.log_softmax(scores))


def _adam(params, grad, moments, t, lr):
    """One Adam update (Kingma and Ba), written out so the step stays a pure function."""
    # Kept over keras.optimizers.Adam: same speed on bench_ideal_cat (71.5 s against 70.2 s, 256 steps), but Keras
    # adds epsilon to sqrt(v) rather than sqrt(v_hat), and Lite2's seed-0 Siamese cat fell from 0.937 to 0.617.
    m = _ADAM_B1 * moments[0] + (1 - _ADAM_B1) * grad
    v = _ADAM_B2 * moments[1] + (1 - _ADAM_B2) * tf.square(grad)
    m_hat = m / (1 - _ADAM_B1 ** t)
    v_hat = v / (1 - _ADAM_B2 ** t)
    return params - lr * m_hat / (tf.sqrt(v_hat) + _ADAM_EPS), (m, v)


def _init_params(config: IdealConfig) -> np.ndarray:
    """The starting parameters of the config's mode."""
    if config.mode == "recognisable":
        return image_param.init_spectrum(config.size, config.seed)
    return image_param.init_pixels(config.size, config.seed)


def _record(step: int, total_steps: int, image, metrics) -> StepRecord:
    """Turns one step's tensors into a StepRecord of plain Python values."""
    values = {name: float(value) for name, value in metrics.items()}
    losses = {name: values[name] for name in ("objective", *(r.name for r in REGULARISERS), "total")}
    return StepRecord(step, total_steps, image_param.to_uint8(image.numpy()), values["prob"], values["logit"], losses)


def class_weights(classes, num_classes: int) -> np.ndarray:
    """Weights that average the target classes' scores.

    Args:
        classes: target indices.
        num_classes: number of outputs.

    Returns:
        ``(num_classes,)`` float32: ``1 / len(classes)`` at each target, 0 elsewhere.
    """
    weights = np.zeros(num_classes, np.float32)
    weights[list(classes)] = 1.0 / len(classes)
    return weights
