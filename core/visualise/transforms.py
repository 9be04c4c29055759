"""Small random image transforms applied at every optimisation step, lucid-style.

A feature visualisation that must survive being shifted, scaled and rotated a
little cannot rely on the exact pixel grid, so it cannot be adversarial noise;
this is the single most important ingredient of a recognisable result.

Each factory returns a transform ``f(image, seed) -> image`` on ``(1, h, w, 3)``
float tensors; ``seed`` is a stateless-random seed (int32 tensor of shape
``[2]``), so a run is reproducible and the step function stays pure. Output keeps
the input's size: shifts wrap around (the Fourier image is periodic anyway) and
scale and rotation reflect at the borders.
"""

from __future__ import annotations

import math

import tensorflow as tf


def translate(image: tf.Tensor, dy, dx) -> tf.Tensor:
    """Moves every pixel by ``(dy, dx)``, wrapping around the borders.

    Args:
        image: ``(1, h, w, c)`` tensor.
        dy: rows down (negative: up).
        dx: columns right (negative: left).

    Returns:
        The shifted image: ``out[y + dy, x + dx] == image[y, x]``.
    """
    return tf.roll(image, shift=tf.stack([dy, dx]), axis=[1, 2])


def jitter(pixels: int):
    """Random shift by up to ``pixels`` in each direction.

    Args:
        pixels: largest shift, 0 or more.

    Returns:
        A transform.
    """
    if pixels < 0:
        raise ValueError(f"jitter must be 0 or more pixels, got {pixels}")

    def apply(image, seed):
        shift = tf.random.stateless_uniform([2], seed, minval=-pixels, maxval=pixels + 1, dtype=tf.int32)
        return translate(image, shift[0], shift[1])

    return apply


def affine(image: tf.Tensor, zoom, angle) -> tf.Tensor:
    """Zooms by ``zoom`` and rotates by ``angle`` radians about the image centre.

    Args:
        image: ``(1, h, w, c)`` tensor.
        zoom: scale factor (> 1 enlarges).
        angle: counter-clockwise rotation in radians.

    Returns:
        The transformed image, same size, bilinear, reflected at the borders.
    """
    height, width = image.shape[1], image.shape[2]
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    # The op maps each output pixel (x, y) to the input point (a0 x + a1 y + a2, b0 x + b1 y + b2).
    matrix = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image, transforms=tf.cast(matrix[None], tf.float32), output_shape=tf.constant([height, width]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def scale(factors=(0.9, 1.1)):
    """Random zoom by a factor drawn uniformly from ``factors = (low, high)``.

    Args:
        factors: smallest and largest zoom.

    Returns:
        A transform.
    """
    low, high = float(factors[0]), float(factors[1])
    if not 0 < low <= high:
        raise ValueError(f"scale factors must satisfy 0 < low <= high, got {factors}")

    def apply(image, seed):
        zoom = tf.random.stateless_uniform([], seed, minval=low, maxval=high)
        return affine(image, zoom, 0.0)

    return apply


def rotate(degrees: float = 10.0):
    """Random rotation by up to ``degrees`` either way.

    Args:
        degrees: largest rotation, 0 or more.

    Returns:
        A transform.
    """
    if degrees < 0:
        raise ValueError(f"rotation must be 0 or more degrees, got {degrees}")
    limit = math.radians(degrees)

    def apply(image, seed):
        angle = tf.random.stateless_uniform([], seed, minval=-limit, maxval=limit)
        return affine(image, 1.0, angle)

    return apply


def compose(transforms):
    """Chains transforms, giving each its own random stream split from one seed.

    Args:
        transforms: list of transforms, applied in order.

    Returns:
        A transform; ``compose([])`` is the identity.
    """
    transforms = list(transforms)

    def apply(image, seed):
        if not transforms:
            return image
        seeds = tf.random.experimental.stateless_split(seed, num=len(transforms))
        for i, transform in enumerate(transforms):
            image = transform(image, seeds[i])
        return image

    return apply

