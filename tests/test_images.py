"""Safe photo input: every odd file a learner might upload, and exact crop/resize values."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.data.images import ImageInputError, center_crop_resize, load_image, load_image_file


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_odd_files_load_by_their_content_and_bad_ones_are_named(shared_data):
    odd = shared_data / "odd"
    assert load_image_file(odd / "Abyssinian_34.jpg").shape == (202, 250, 3)  # a GIF named .jpg
    assert load_image_file(odd / "Abyssinian_5.jpg").shape == (150, 200, 3)  # an RGBA PNG named .jpg
    assert load_image_file(odd / "Abyssinian_11.jpg").dtype == np.uint8
    with pytest.raises(ImageInputError, match="Abyssinian_101.mat is not an image"):
        load_image_file(odd / "Abyssinian_101.mat")
    with pytest.raises(ImageInputError, match="truncated.jpg is damaged or cut short"):
        load_image_file(odd / "truncated.jpg")


def test_exif_orientation_is_applied():
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)  # red in the top-left corner as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    data = _encode(Image.fromarray(pixels), "PNG", exif=exif.tobytes())
    upright = load_image(data)
    assert upright.shape == (3, 2, 3)
    assert tuple(upright[0, 1]) == (255, 0, 0)  # top-left moves to top-right


def test_palette_grayscale_and_cmyk_become_rgb():
    palette = Image.new("P", (4, 4))
    palette.putpalette([10, 20, 30] * 256)
    assert tuple(load_image(_encode(palette, "PNG"))[0, 0]) == (10, 20, 30)
    gray = Image.new("L", (4, 4), 77)
    assert tuple(load_image(_encode(gray, "PNG"))[1, 1]) == (77, 77, 77)
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    red = load_image(_encode(cmyk, "JPEG", quality=100))[4, 4]
    assert red[0] > 240 and red[1] < 20 and red[2] < 20


def test_sixteen_bit_is_scaled_to_eight_bit():
    deep = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert deep.mode.startswith("I;16")
    assert tuple(load_image(_encode(deep, "PNG"))[0, 0]) == (255, 255, 255)
    half = Image.fromarray(np.full((4, 4), 32768, np.uint16))
    assert tuple(load_image(_encode(half, "PNG"))[0, 0]) == (128, 128, 128)


def test_alpha_is_flattened_on_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)  # fully transparent
    rgba[1, 1] = (0, 0, 255, 255)  # opaque blue
    result = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(result[0, 0]) == (255, 255, 255)
    assert tuple(result[1, 1]) == (0, 0, 255)


def test_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    first = load_image(data)[0, 0]
    assert first[0] > 200 and first[2] < 50


def test_byte_limit_is_checked_before_decoding():
    with pytest.raises(ImageInputError, match="limit is"):
        load_image(b"\x89PNG" + b"\0" * 2000, "big.png", max_bytes=1000)


def _png_with_size(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def test_decompression_bomb_is_refused_from_its_header():
    with pytest.raises(ImageInputError, match="pixels"):
        load_image(_png_with_size(20000, 20000), "bomb.png")


def test_empty_and_non_image_bytes_are_named_errors():
    with pytest.raises(ImageInputError, match="empty"):
        load_image(b"", "nothing.jpg")
    with pytest.raises(ImageInputError, match="notes.jpg is not an image"):
        load_image(b"hello, I am text", "notes.jpg")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ImageInputError, match="cannot be opened"):
        load_image_file(tmp_path / "gone.jpg")


def test_center_crop_takes_the_middle():
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    np.testing.assert_array_equal(center_crop_resize(image, 2, crop_fraction=0.5), image[1:3, 2:4])


def test_center_crop_resize_output_shape_and_flat_colour():
    flat = np.full((300, 500, 3), 90, np.uint8)
    out = center_crop_resize(flat, 224)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert np.all(out == 90)
    with pytest.raises(ValueError, match="crop_fraction"):
        center_crop_resize(flat, 224, crop_fraction=0)


POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\nshowpage\n"


def test_postscript_named_jpg_is_refused_without_running_ghostscript(tmp_path, monkeypatch):
    marker = tmp_path / "gs-ran"
    fake_gs = tmp_path / "bin" / "gs"
    fake_gs.parent.mkdir()
    fake_gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake_gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_gs.parent}:{os.environ['PATH']}")
    with pytest.raises(ImageInputError, match="cat.jpg is not an image Transfer Lab can read"):
        load_image(POSTSCRIPT, "cat.jpg")
    (tmp_path / "cat.jpg").write_bytes(POSTSCRIPT)
    with pytest.raises(ImageInputError, match="cat.jpg"):
        load_image_file(tmp_path / "cat.jpg")
    assert not marker.exists()


def test_any_decoder_failure_is_one_clear_error(monkeypatch):
    def broken_load(self):
        raise IndexError("decoder bug")

    data = _encode(Image.new("RGB", (4, 4)), "PNG")
    monkeypatch.setattr(ImageFile.ImageFile, "load", broken_load)
    with pytest.raises(ImageInputError, match="photo.png is damaged or cut short"):
        load_image(data, "photo.png")
