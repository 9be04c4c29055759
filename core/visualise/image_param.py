"""Image parameterisations for feature visualisation: what the optimiser actually changes.

The recognisable recipe does not optimise pixels. It optimises a spectrum in a
colour-decorrelated Fourier basis, scaled by 1/f so that every frequency starts
with the same energy a natural photo has, and squashes the result into the
pixel range with a sigmoid (Olah et al., "Feature Visualization", Distill 2017;
the ``lucid`` library). Gradient steps then change large smooth areas as easily
as fine detail, which is what keeps the result from becoming high-frequency noise.

Every parameterisation here maps a float32 tensor of parameters to an image of
shape ``(1, size, size, 3)`` with values in [0, 1].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Square root of the colour correlation of ImageNet photos, from lucid: a unit step in
# the decorrelated space moves along the principal colour axes of natural images.
COLOR_CORRELATION_SVD_SQRT = np.asarray(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
_MAX_NORM = np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))


def rfft2d_freqs(height: int, width: int) -> np.ndarray:
    """Spatial frequency magnitude of each coefficient of a real 2-D FFT.

    Args:
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        ``(height, width // 2 + 1)`` array of ``sqrt(fx**2 + fy**2)`` in cycles per pixel.
    """
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """The 1/f scaling of each Fourier coefficient (the DC term capped at 1/size).

    Args:
        height: image height.
        width: image width.
        decay_power: exponent of 1/f; 1 matches natural images.

    Returns:
        ``(height, width // 2 + 1)`` float32 scale factors.
    """
    freqs = np.maximum(rfft2d_freqs(height, width), 1.0 / max(height, width))
    return (np.sqrt(height * width) / freqs ** decay_power).astype(np.float32)


def init_spectrum(size: int, seed: int = 0, sd: float = 0.01) -> np.ndarray:
    """Random initial Fourier parameters: real and imaginary parts of each channel.

    Args:
        size: image side in pixels.
        seed: random seed.
        sd: standard deviation; small, so the first image is a faint grey cloud.

    Returns:
        ``(2, 3, size, size // 2 + 1)`` float32 array.
    """
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, sd, size=(2, 3, size, size // 2 + 1)).astype(np.float32)


def decorrelate_colors(image: tf.Tensor) -> tf.Tensor:
    """Maps decorrelated colour coordinates (last axis) to RGB directions."""
    normalized = tf.constant(COLOR_CORRELATION_SVD_SQRT / _MAX_NORM)
    return tf.tensordot(image, tf.transpose(normalized), axes=1)


def fourier_image(spectrum: tf.Tensor, size: int, decay_power: float = 1.0) -> tf.Tensor:
    """Turns Fourier parameters into an RGB image in [0, 1].

    Args:
        spectrum: ``(2, 3, size, size // 2 + 1)`` real and imaginary parts.
        size: image side in pixels.
        decay_power: exponent of the 1/f scaling.

    Returns:
        ``(1, size, size, 3)`` image; a zero spectrum gives flat mid grey (0.5).
    """
    scale = tf.constant(spectrum_scale(size, size, decay_power))
    coefficients = tf.complex(spectrum[0] * scale, spectrum[1] * scale)
    channels = tf.signal.irfft2d(coefficients, fft_length=[size, size])  # (3, size, size)
    image = tf.transpose(channels, (1, 2, 0))[None] / 4.0  # lucid's /4 keeps the start in sigmoid's linear part
    return tf.sigmoid(decorrelate_colors(image))


def init_pixels(size: int, seed: int = 0) -> np.ndarray:
    """Uniform noise around mid grey: the naive mode's starting image, as the original lesson.

    Args:
        size: image side in pixels.
        seed: random seed.

    Returns:
        ``(1, size, size, 3)`` float32 array in [0.4, 0.6].
    """
    rng = np.random.default_rng(seed)
    return rng.uniform(0.4, 0.6, size=(1, size, size, 3)).astype(np.float32)


def pixel_image(pixels: tf.Tensor, size: int) -> tf.Tensor:
    """The naive parameterisation: the parameters are the pixels, clipped to [0, 1]."""
    del size  # same signature as fourier_image
    return tf.clip_by_value(pixels, 0.0, 1.0)


def to_uint8(image) -> np.ndarray:
    """A ``(1, h, w, 3)`` or ``(h, w, 3)`` image in [0, 1] as ``(h, w, 3)`` uint8 pixels."""
    array = np.asarray(image, dtype=np.float32)
    array = array[0] if array.ndim == 4 else array
    return np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
