"""Adversarial examples: bounded, targeted or untargeted sign-gradient attacks in 8-bit pixel space.

The attack works on the photo as the network sees it (``Backbone.prepare``),
before preprocessing, so the budget ``eps`` is in pixel levels (0-255, L-inf).
Every iterate is kept on the 8-bit lattice: the clean photo is whole levels,
the step size is a whole number of levels and the projection clips to whole
levels, so the image that is classified at each step is exactly the PNG a
learner downloads. No rounding happens afterwards that could break the budget
or the success.

A targeted attack aims at a class or a group of classes (all cats): it climbs
the log of the group's summed probability and succeeds when the top-1 class is
in the group. An untargeted attack pushes down the photo's own top-1 class and
succeeds when the top-1 class changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import tensorflow as tf  # Keras 3 runs on TensorFlow here; input gradients need its tape.

from core.models.classifier import LOG_FLOOR, Classifier
from core.models.predictions import Prediction, top_k

METHODS = ("pgd", "fgsm")


@dataclass(frozen=True)
class AttackConfig:
    """Settings of one attack.

    Attributes:
        method: ``"pgd"`` (iterative, projected sign-gradient steps) or ``"fgsm"`` (one step of size eps).
        eps: L-inf budget in whole pixel levels, 0 to 255.
        steps: PGD iterations (FGSM always takes one).
        step_size: PGD step in whole levels; 0 picks ``ceil(2.5 * eps / steps)``, at least 1.
        target: class indices to aim at (any of them wins); empty for an untargeted attack.
        random_start: PGD starts from a random point inside the budget.
        seed: seed of the random start.
    """

    method: str = "pgd"
    eps: int = 2
    steps: int = 10
    step_size: int = 0
    target: tuple[int, ...] = (284,)
    random_start: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if int(self.eps) != self.eps or not 0 <= self.eps <= 255:
            raise ValueError(f"eps must be a whole number of pixel levels from 0 to 255, got {self.eps}")
        if int(self.steps) != self.steps or not 1 <= self.steps <= 1000:
            raise ValueError(f"steps must be a whole number from 1 to 1000, got {self.steps}")
        if int(self.step_size) != self.step_size or not 0 <= self.step_size <= 255:
            raise ValueError(f"step_size must be a whole number of levels from 0 (auto) to 255, got {self.step_size}")
        if len(set(self.target)) != len(self.target) or any(int(t) < 0 for t in self.target):
            raise ValueError(f"target must be distinct class indices, got {self.target}")
        object.__setattr__(self, "target", tuple(int(t) for t in self.target))

    @property
    def targeted(self) -> bool:
        return bool(self.target)

    @property
    def num_steps(self) -> int:
        """Sign-gradient steps actually taken."""
        return 1 if self.method == "fgsm" else self.steps

    @property
    def alpha(self) -> int:
        """Step size in whole levels."""
        if self.method == "fgsm":
            return int(self.eps)
        if self.step_size:
            return int(self.step_size)
        return max(1, -(-5 * int(self.eps) // (2 * self.steps)))


class Attacker(Classifier):
    """A classifier ready to be attacked: its model and a compiled input-gradient function.

    Build one per model and keep it (the compiled function traces once, in about a
    second). It never changes the model, so several sessions can share it.
    """

    def __init__(self, model, outputs: str = "logits", labels=None, name: str = ""):
        """Wraps a pixels-in model; the arguments are ``Classifier``'s."""
        super().__init__(model, outputs, labels, name)
        pixels = tf.TensorSpec((None, self.input_size, self.input_size, 3), tf.float32)
        scores = tf.TensorSpec((None, self.num_classes), tf.float32)
        signs = tf.TensorSpec((None,), tf.float32)
        self._gradient = tf.function(self._objective_gradient, input_signature=(pixels, scores, signs))

    def warm_up(self) -> Attacker:
        """Traces the compiled functions now (about a second), so the first attack is as quick as the rest."""
        pixels = np.zeros((1, self.input_size, self.input_size, 3), np.float32)
        self.gradient(pixels, np.ones((1, self.num_classes), np.float32), np.ones(1, np.float32))
        self.probabilities(pixels)
        return self

    def _objective_gradient(self, pixels, mask, direction):
        """Gradient of direction * log(summed probability of the masked classes), and the log-probs."""
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            log_probs = self._log_probs(pixels)
            group = tf.reduce_logsumexp(log_probs + tf.math.log(tf.maximum(mask, LOG_FLOOR)), axis=-1)
            objective = tf.reduce_sum(direction * group)
        return tape.gradient(objective, pixels), log_probs

    def gradient(self, pixels: np.ndarray, mask: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel gradient of the attack objective, and the probabilities at these pixels.

        Args:
            pixels: ``(n, size, size, 3)`` float pixels.
            mask: ``(n, classes)`` 1 for the classes whose summed probability counts.
            direction: ``(n,)`` +1 to raise that probability, -1 to lower it.

        Returns:
            ``(gradient, probabilities)``.
        """
        grad, log_probs = self._gradient(tf.constant(pixels, tf.float32), tf.constant(mask, tf.float32),
                                         tf.constant(direction, tf.float32))
        probs = np.exp(log_probs.numpy().astype(np.float64))
        return grad.numpy(), probs / probs.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class AttackStep:
    """One step of an attack, measured on the 8-bit image itself.

    Attributes:
        step: 0 for the start, then one per sign-gradient step.
        image: the adversarial ``uint8`` image at this step.
        perturbation: ``image - clean`` as ``int16`` levels.
        top: the top classes of ``image``.
        target_prob: summed probability of the target classes (untargeted: of the original class).
        linf: largest change of any pixel channel, in levels.
        l2: Euclidean norm of the perturbation, in levels.
        success: top-1 is a target class (untargeted: top-1 is no longer the original class).
        final: the last record, repeating the best step (successful with the highest target
            probability; untargeted: the lowest original-class probability).
    """

    step: int
    image: np.ndarray
    perturbation: np.ndarray
    top: list[Prediction]
    target_prob: float
    linf: int
    l2: float
    success: bool
    final: bool = False
    seconds: float = 0.0
    probs: np.ndarray = field(default=None, repr=False)


def _target_mask(config: AttackConfig, num_classes: int, clean_top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class mask and direction per image: the target group (+1) or the own top-1 class (-1)."""
    mask = np.zeros((len(clean_top), num_classes), np.float32)
    if config.targeted:
        if max(config.target) >= num_classes:
            raise ValueError(f"target class {max(config.target)} does not exist; the model has {num_classes} classes")
        mask[:, list(config.target)] = 1.0
        return mask, np.ones(len(clean_top), np.float32)
    mask[np.arange(len(clean_top)), clean_top] = 1.0
    return mask, -np.ones(len(clean_top), np.float32)


def _project(pixels: np.ndarray, clean: np.ndarray, eps: int) -> np.ndarray:
    """Clips into the L-inf ball around the clean image and into 0-255 (stays on whole levels)."""
    return np.clip(np.clip(pixels, clean - eps, clean + eps), 0.0, 255.0)


def _iterates(attacker: Attacker, clean: np.ndarray, config: AttackConfig, mask, direction):
    """Yields ``(step, pixels, probs)`` for a batch; pixels are whole levels inside the budget."""
    x = clean.copy()
    if config.random_start and config.method == "pgd" and config.eps:
        rng = np.random.default_rng(config.seed)
        x = _project(x + rng.integers(-config.eps, config.eps + 1, size=x.shape), clean, config.eps)
    for step in range(config.num_steps):
        grad, probs = attacker.gradient(x, mask, direction)
        yield step, x, probs
        x = _project(x + config.alpha * np.sign(grad), clean, config.eps)
    yield config.num_steps, x, attacker.probabilities(x)


def _scores(probs: np.ndarray, mask: np.ndarray, config: AttackConfig, clean_top: np.ndarray):
    """Per image: success, target probability and a score where higher is a better attack."""
    target_prob = (probs * mask).sum(axis=-1)
    top1 = probs.argmax(axis=-1)
    success = mask[np.arange(len(top1)), top1] > 0 if config.targeted else top1 != clean_top
    return success, target_prob, (target_prob if config.targeted else -target_prob)


def attack(attacker: Attacker, image: np.ndarray, config: AttackConfig, k: int = 5):
    """Attacks one prepared photo, yielding a record per step and a final record with the best step.

    Args:
        attacker: the classifier to fool.
        image: ``(size, size, 3)`` ``uint8`` photo as the network sees it (``Backbone.prepare``).
        config: the attack settings.
        k: how many top classes each record carries.

    Yields:
        ``AttackStep`` records: step 0 (the clean photo, or the random start), one per step,
        then the best one again with ``final=True``.
    """
    clean = _check_image(image, attacker.input_size)[None]
    started = time.perf_counter()
    # only an untargeted attack needs the clean top-1 before the first step
    clean_top = attacker.probabilities(clean).argmax(axis=-1) if not config.targeted else np.zeros(1, int)
    mask, direction = _target_mask(config, attacker.num_classes, clean_top)
    best, best_key = None, None
    for step, x, probs in _iterates(attacker, clean, config, mask, direction):
        success, target_prob, score = _scores(probs, mask, config, clean_top)
        record = _record(attacker, step, x[0], clean[0], probs[0], float(target_prob[0]), bool(success[0]), k)
        if best_key is None or (bool(success[0]), float(score[0])) > best_key:
            best, best_key = record, (bool(success[0]), float(score[0]))
        yield record
    yield replace(best, final=True, seconds=time.perf_counter() - started)


def run_attack(attacker: Attacker, image: np.ndarray, config: AttackConfig, k: int = 5) -> AttackStep:
    """Runs ``attack`` to the end and returns its final (best) record."""
    record = None
    for record in attack(attacker, image, config, k):  # noqa: B007 (the last record is the result)
        pass
    return record


def attack_batch(attacker: Attacker, images: np.ndarray, config: AttackConfig) -> dict:
    """Attacks several prepared photos at once, keeping each one's best step.

    Args:
        attacker: the classifier to fool.
        images: ``(n, size, size, 3)`` ``uint8`` photos as the network sees them.
        config: the attack settings.

    Returns:
        ``{"images": uint8 adversarial images, "success": bool (n,), "target_prob": (n,),
        "clean_top": (n,) original top-1, "top": (n,) adversarial top-1}``.
    """
    clean = np.stack([_check_image(i, attacker.input_size) for i in images])
    clean_top = attacker.probabilities(clean).argmax(axis=-1)
    mask, direction = _target_mask(config, attacker.num_classes, clean_top)
    n = len(clean)
    best = {"images": clean.copy(), "success": np.zeros(n, bool), "target_prob": np.zeros(n),
            "top": clean_top.copy(), "score": np.full(n, -np.inf)}
    for _, x, probs in _iterates(attacker, clean, config, mask, direction):
        success, target_prob, score = _scores(probs, mask, config, clean_top)
        better = (success > best["success"]) | ((success == best["success"]) & (score > best["score"]))
        for key, value in (("images", x), ("success", success), ("target_prob", target_prob),
                           ("top", probs.argmax(axis=-1)), ("score", score)):
            best[key][better] = value[better]
    best.pop("score")
    best["images"] = best["images"].astype(np.uint8)
    best["clean_top"] = clean_top
    return best


def _check_image(image: np.ndarray, size: int) -> np.ndarray:
    """Checks one prepared uint8 photo and returns it as float32 whole levels."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"the photo must be 8-bit (uint8) pixels, got {image.dtype}")
    if image.shape != (size, size, 3):
        raise ValueError(f"the photo must be prepared to {size}x{size}x3 for this network, got {image.shape}")
    return image.astype(np.float32)


def _record(attacker, step, x, clean, probs, target_prob, success, k) -> AttackStep:
    """Builds a step record from float whole-level pixels."""
    image = x.astype(np.uint8)
    delta = image.astype(np.int16) - clean.astype(np.int16)
    linf, l2 = norms(delta)
    return AttackStep(step=step, image=image, perturbation=delta, top=top_k(probs, min(k, len(probs)), attacker.labels),
                      target_prob=target_prob, linf=linf, l2=l2, success=success, probs=probs)


def norms(perturbation: np.ndarray) -> tuple[int, float]:
    """L-inf (whole levels) and L2 norm (levels) of a perturbation."""
    delta = np.asarray(perturbation, np.float64)
    return int(np.abs(delta).max(initial=0)), float(np.sqrt((delta ** 2).sum()))


def amplify(perturbation: np.ndarray, factor: int) -> np.ndarray:
    """Makes a perturbation visible: mid-grey plus ``factor`` times the change, as ``uint8``.

    Args:
        perturbation: signed change in levels.
        factor: amplification; ``amplification_factor(eps)`` maps the budget to the full range.

    Returns:
        ``uint8`` image (128 is "no change").
    """
    return np.clip(128.0 + factor * np.asarray(perturbation, np.float64), 0, 255).astype(np.uint8)


def amplification_factor(eps: int) -> int:
    """The factor that stretches a change of ``eps`` levels to about half the range (127 levels)."""
    return max(1, 127 // max(1, int(eps)))


def measure(attacker: Attacker, clean: np.ndarray, adversarial: np.ndarray, target: tuple[int, ...],
            k: int = 5) -> dict:
    """Classifies a clean and an adversarial 8-bit image and measures the change between them.

    Args:
        attacker: the classifier.
        clean: ``uint8`` photo as the network sees it.
        adversarial: ``uint8`` attacked photo of the same shape.
        target: target classes; empty for untargeted.
        k: top classes reported.

    Returns:
        ``{"before": [Prediction], "after": [Prediction], "target_prob", "linf", "l2", "success"}``;
        untargeted, ``target_prob`` is the probability left on the original top-1 class.
    """
    probs = attacker.probabilities(np.stack([clean, adversarial]).astype(np.float32))
    group = list(target) if target else [int(probs[0].argmax())]
    top1 = int(probs[1].argmax())
    linf, l2 = norms(adversarial.astype(np.int16) - clean.astype(np.int16))
    return {
        "before": top_k(probs[0], min(k, attacker.num_classes), attacker.labels),
        "after": top_k(probs[1], min(k, attacker.num_classes), attacker.labels),
        "target_prob": float(probs[1][group].sum()),
        "linf": linf,
        "l2": l2,
        "success": (top1 in group) if target else top1 != group[0],
    }
