"""Colour scales, colour maps, grids and overlays: exact pixels on small hand-made arrays."""

import numpy as np
import pytest

from core.explain.heatmaps import (
    channel_grid,
    channel_images,
    colorize,
    colormap_lut,
    overlay,
    scale_maps,
    tile_grid,
    upscale_factor,
    upscale_nearest,
)


def _two_channels() -> np.ndarray:
    """Channel 0 ramps 0, 1, 2, 4; channel 1 is constant 3."""
    maps = np.zeros((2, 2, 2), np.float32)
    maps[..., 0] = [[0, 1], [2, 4]]
    maps[..., 1] = 3
    return maps


def test_per_channel_scale_stretches_each_channel_and_zeroes_constant_ones():
    scaled = scale_maps(_two_channels(), "channel")
    np.testing.assert_array_equal(scaled[..., 0], [[0, 0.25], [0.5, 1]])
    np.testing.assert_array_equal(scaled[..., 1], np.zeros((2, 2)))


def test_shared_scale_keeps_channels_comparable():
    scaled = scale_maps(_two_channels(), "shared")
    np.testing.assert_array_equal(scaled[..., 0], [[0, 0.25], [0.5, 1]])
    np.testing.assert_array_equal(scaled[..., 1], np.full((2, 2), 0.75))


def test_shared_scale_of_a_constant_stack_is_zero_and_negative_values_work():
    np.testing.assert_array_equal(scale_maps(np.full((1, 2, 3), -5.0), "shared"), np.zeros((1, 2, 3)))
    maps = np.array([[[-2.0], [2.0]]])
    np.testing.assert_array_equal(scale_maps(maps, "channel")[..., 0], [[0, 1]])


def test_scale_rejects_unknown_names_and_wrong_shapes():
    with pytest.raises(ValueError, match="scale must be one of"):
        scale_maps(_two_channels(), "global")
    with pytest.raises(ValueError, match="height, width, channels"):
        scale_maps(np.zeros((2, 2)), "channel")


def test_gray_lut_is_the_identity_and_viridis_ends_are_its_published_colours():
    np.testing.assert_array_equal(colormap_lut("gray")[:, 0], np.arange(256))
    assert tuple(colormap_lut("viridis")[0]) == (68, 1, 84)
    assert tuple(colormap_lut("viridis")[255]) == (253, 231, 37)
    with pytest.raises(ValueError, match="unknown colour map"):
        colormap_lut("rainbow")


def test_colorize_rounds_to_the_nearest_level_and_clips():
    out = colorize(np.array([[-1.0, 0.0, 0.5, 1 / 255, 2.0]]), "gray")
    assert out.shape == (1, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 128, 1, 255])
    np.testing.assert_array_equal(colorize(np.array([0.5]), "jet")[0], colormap_lut("jet")[128])


def test_upscale_nearest_repeats_each_pixel_into_a_block():
    image = np.array([[1, 2], [3, 4]], np.uint8)
    np.testing.assert_array_equal(upscale_nearest(image, 2),
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert upscale_factor(7, 112) == 16 and upscale_factor(112, 112) == 1 and upscale_factor(100, 112) == 2
    with pytest.raises(ValueError):
        upscale_nearest(image, 0)


def test_tile_grid_places_tiles_row_by_row_with_padding():
    tiles = [np.full((1, 1, 3), v, np.uint8) for v in (10, 20, 30)]
    grid = tile_grid(tiles, columns=2, pad=1, background=255)
    assert grid.shape == (5, 5, 3)
    expected = np.array([[255, 255, 255, 255, 255],
                         [255, 10, 255, 20, 255],
                         [255, 255, 255, 255, 255],
                         [255, 30, 255, 255, 255],
                         [255, 255, 255, 255, 255]])
    np.testing.assert_array_equal(grid[..., 0], expected)
    np.testing.assert_array_equal(grid[..., 0], grid[..., 2])


def test_tile_grid_with_fewer_tiles_than_columns_is_one_row():
    grid = tile_grid([np.zeros((2, 3, 3), np.uint8)] * 2, columns=8, pad=0)
    assert grid.shape == (2, 6, 3)
    with pytest.raises(ValueError, match="no tiles"):
        tile_grid([])


def test_channel_grid_draws_the_chosen_channels_in_order_with_exact_grey_levels():
    grid = channel_grid(_two_channels(), [1, 0], scale="shared", cmap="gray", columns=2, pad=1)
    assert grid.shape == (4, 7, 3)
    # channel 1 first (constant 0.75 -> 191), then channel 0 (0, 64, 128, 255 after rounding 0.25*255=63.75)
    np.testing.assert_array_equal(grid[1:3, 1:3, 0], [[191, 191], [191, 191]])
    np.testing.assert_array_equal(grid[1:3, 4:6, 0], [[0, 64], [128, 255]])
    np.testing.assert_array_equal(grid[0, :, 0], np.full(7, 255))


def test_channel_images_enlarge_small_maps_to_the_minimum_size():
    images = channel_images(_two_channels(), [0], scale="channel", cmap="gray", min_size=5)
    assert len(images) == 1 and images[0].shape == (6, 6, 3)
    np.testing.assert_array_equal(images[0][:3, :3, 0], np.zeros((3, 3)))
    np.testing.assert_array_equal(images[0][3:, 3:, 0], np.full((3, 3), 255))


def test_overlay_leaves_cold_pixels_alone_and_blends_hot_ones():
    photo = np.full((1, 2, 3), 100, np.uint8)
    heat = np.array([[0.0, 1.0]])
    out = overlay(photo, heat, alpha=0.5, cmap="gray")
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])
    np.testing.assert_array_equal(out[0, 1], [178, 178, 178])  # 100 * 0.5 + 255 * 0.5 = 177.5


def test_overlay_resizes_the_heatmap_to_the_photo():
    photo = np.zeros((4, 4, 3), np.uint8)
    out = overlay(photo, np.ones((2, 2)), alpha=1.0, cmap="gray")
    np.testing.assert_array_equal(out, np.full((4, 4, 3), 255))
    with pytest.raises(ValueError, match="alpha"):
        overlay(photo, np.ones((2, 2)), alpha=1.5)
