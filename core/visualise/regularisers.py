"""Penalties on the generated image, each a function ``image -> scalar`` with a name.

All are means over pixels of an image in [0, 1], so a weight means the same
thing at every image size. The optimiser minimises ``weight * penalty``.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


def total_variation(image: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels: penalises speckle and noise.

    Args:
        image: ``(1, h, w, c)`` tensor.

    Returns:
        Scalar: mean over the vertical and horizontal neighbour pairs.
    """
    dy = tf.abs(image[:, 1:, :, :] - image[:, :-1, :, :])
    dx = tf.abs(image[:, :, 1:, :] - image[:, :, :-1, :])
    return (tf.reduce_mean(dy) + tf.reduce_mean(dx)) / 2.0


def box_blur(image: tf.Tensor) -> tf.Tensor:
    """3x3 box blur per channel, reflecting at the borders."""
    padded = tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.avg_pool2d(padded, ksize=3, strides=1, padding="VALID")


def blur(image: tf.Tensor) -> tf.Tensor:
    """Half the mean squared distance to a blurred copy of itself (held fixed): pulls towards smoothness.

    Args:
        image: ``(1, h, w, c)`` tensor.

    Returns:
        Scalar; its gradient moves each pixel towards its neighbourhood average, as lucid's
        ``blur_input_each_step``.
    """
    return 0.5 * tf.reduce_mean(tf.square(image - tf.stop_gradient(box_blur(image))))


def l2(image: tf.Tensor, centre: float = 0.5) -> tf.Tensor:
    """Mean squared distance from mid grey: keeps colours from saturating.

    Args:
        image: tensor in [0, 1].
        centre: the neutral value.

    Returns:
        Scalar.
    """
    return tf.reduce_mean(tf.square(image - centre))


@dataclass(frozen=True)
class Regulariser:
    """A named penalty and the function computing it."""

    name: str
    fn: object


REGULARISERS = (Regulariser("total_variation", total_variation), Regulariser("blur", blur), Regulariser("l2", l2))


def penalties(image: tf.Tensor, regularisers=REGULARISERS) -> dict[str, tf.Tensor]:
    """Every regulariser's value on one image, by name.

    Args:
        image: ``(1, h, w, c)`` tensor in [0, 1].
        regularisers: which ones.

    Returns:
        ``{name: scalar}``.
    """
    return {r.name: r.fn(image) for r in regularisers}
