"""Turning activations into pictures: colour scales, colour maps, channel grids and overlays.

Pure NumPy and Pillow, so the page, the CLI and the tests draw exactly the same
pixels. Every function takes and returns plain arrays.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

SCALES = ("channel", "shared")
# Anchor colours, evenly spaced from 0 to 1 (the viridis and inferno ones are the
# published perceptually uniform maps sampled at 10 points); in between we interpolate linearly.
COLORMAPS = {
    "gray": ((0, 0, 0), (255, 255, 255)),
    "viridis": ((68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
                (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37)),
    "inferno": ((0, 0, 4), (27, 12, 65), (74, 12, 107), (120, 28, 109), (165, 44, 96),
                (207, 68, 70), (237, 105, 37), (251, 155, 6), (247, 209, 61), (252, 255, 164)),
    "jet": ((0, 0, 128), (0, 0, 255), (0, 255, 255), (255, 255, 0), (255, 0, 0), (128, 0, 0)),
}


def scale_maps(maps: np.ndarray, scale: str = "channel") -> np.ndarray:
    """Maps activations to [0, 1] for display.

    Args:
        maps: ``(h, w, n)`` activations of n channels.
        scale: ``"channel"`` stretches each channel from its own minimum to its
            own maximum (shows the pattern of a weak channel); ``"shared"`` uses
            one minimum and maximum for all n (shows which channels are strong).

    Returns:
        ``float32`` array of the same shape in [0, 1]; a constant channel (or a
        constant stack with a shared scale) becomes all zeros.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (height, width, channels), got shape {maps.shape}")
    axes = (0, 1) if scale == "channel" else (0, 1, 2)
    low = maps.min(axis=axes, keepdims=True)
    span = maps.max(axis=axes, keepdims=True) - low
    scaled = np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0)
    return scaled.astype(np.float32)


def colormap_lut(name: str = "viridis") -> np.ndarray:
    """A 256-entry lookup table of ``uint8`` RGB colours for a named colour map."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; choose from {', '.join(COLORMAPS)}")
    anchors = np.asarray(COLORMAPS[name], dtype=np.float64)
    stops = np.linspace(0.0, 1.0, len(anchors))
    levels = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(levels, stops, anchors[:, c]) for c in range(3)], axis=-1)
    return np.round(lut).astype(np.uint8)


def colorize(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Colours values in [0, 1] (clipped) with a colour map.

    Args:
        values: array of any shape.
        cmap: a name from ``COLORMAPS``.

    Returns:
        ``uint8`` array with one more axis of size 3 (RGB); value v takes
        entry ``round(v * 255)`` of the map's 256-colour table.
    """
    index = np.round(np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0) * 255).astype(np.intp)
    return colormap_lut(cmap)[index]


def upscale_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Enlarges an image by an integer factor, each pixel becoming a factor x factor block."""
    if factor < 1:
        raise ValueError(f"factor must be at least 1, got {factor}")
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def tile_grid(tiles: list[np.ndarray], columns: int = 4, pad: int = 2, background: int = 255) -> np.ndarray:
    """Lays equal-sized RGB tiles out in rows, left to right, with padding between and around them.

    Args:
        tiles: ``(h, w, 3)`` ``uint8`` images, all the same shape.
        columns: tiles per row (fewer when there are fewer tiles).
        pad: pixels of background between tiles and around the edge.
        background: grey level of the padding.

    Returns:
        One ``uint8`` RGB image; empty cells of the last row stay background.
    """
    if not tiles:
        raise ValueError("no tiles to lay out")
    if columns < 1 or pad < 0:
        raise ValueError(f"columns must be >= 1 and pad >= 0, got {columns} and {pad}")
    height, width = tiles[0].shape[:2]
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    grid = np.full((rows * (height + pad) + pad, columns * (width + pad) + pad, 3), background, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // columns) * (height + pad), pad + (i % columns) * (width + pad)
        grid[top:top + height, left:left + width] = tile
    return grid


def upscale_factor(size: int, min_size: int = 96) -> int:
    """Smallest integer factor that makes a map of side ``size`` at least ``min_size`` pixels."""
    return max(1, math.ceil(min_size / max(1, size)))


def channel_images(maps: np.ndarray, channels, scale: str = "channel", cmap: str = "viridis",
                   min_size: int = 0) -> list[np.ndarray]:
    """One coloured picture per chosen channel.

    Args:
        maps: ``(h, w, c)`` activations of one stage.
        channels: channel indices to draw, in order.
        scale: ``"channel"`` or ``"shared"`` (shared over the chosen channels only).
        cmap: colour map name.
        min_size: enlarge (nearest neighbour, integer factor) until the side is at least this.

    Returns:
        ``(h * f, w * f, 3)`` ``uint8`` images, one per channel.
    """
    chosen = np.asarray(maps)[..., list(channels)]
    coloured = colorize(scale_maps(chosen, scale), cmap)
    factor = upscale_factor(chosen.shape[0], min_size) if min_size else 1
    return [upscale_nearest(coloured[:, :, i], factor) for i in range(coloured.shape[2])]


def channel_grid(maps: np.ndarray, channels, scale: str = "channel", cmap: str = "viridis", columns: int = 4,
                 pad: int = 2, min_size: int = 0) -> np.ndarray:
    """A grid picture of chosen channels (see ``channel_images`` and ``tile_grid``)."""
    return tile_grid(channel_images(maps, channels, scale, cmap, min_size), columns=columns, pad=pad)


def resize_map(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a 2-D float map (values stay within the input's range)."""
    image = Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6, cmap: str = "jet") -> np.ndarray:
    """Paints a [0, 1] heatmap over a photo; where the heat is 0 the photo shows unchanged.

    Each pixel becomes ``photo * (1 - a) + colour * a`` with ``a = alpha * heat``,
    so the colour shows only where the map is high.

    Args:
        image: ``(h, w, 3)`` ``uint8`` RGB.
        heat: 2-D map in [0, 1], resized (bilinear) to the photo if needed.
        alpha: opacity of the colour at heat 1.
        cmap: colour map name.

    Returns:
        ``(h, w, 3)`` ``uint8`` RGB.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    height, width = image.shape[:2]
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)
    if heat.shape != (height, width):
        heat = np.clip(resize_map(heat, height, width), 0, 1)
    weight = (alpha * heat)[..., None].astype(np.float64)
    blended = image.astype(np.float64) * (1 - weight) + colorize(heat, cmap).astype(np.float64) * weight
    return np.round(blended).astype(np.uint8)
