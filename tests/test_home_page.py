"""The app shell and Home page, headless (AppTest) and in a real browser."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import top5_boxes


@pytest.mark.real_backbone
def test_home_classifies_the_sample_photo():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "🐾 Transfer Lab"
    assert at.sidebar.selectbox[0].value == "efficientnet_lite0"
    assert at.radio[0].value == "Sample photo"
    [bars] = top5_boxes(at)
    assert len(bars) == 5 and bars[0].startswith("1. ") and bars[0].endswith("%")


@pytest.mark.real_backbone
def test_home_upload_without_a_photo_asks_for_one(monkeypatch):
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.radio[0].set_value("Upload").run()
    assert not at.exception
    assert at.info[0].value.startswith("Add a photo")


@pytest.mark.browser
def test_uploading_a_dog_shows_a_dog_class_on_top(app_url, page, shared_data):
    from playwright.sync_api import expect

    page.goto(app_url)
    page.get_by_text("Upload", exact=True).click()
    page.locator('input[type="file"]').set_input_files(str(shared_data / "singles" / "dog_closeup_leonberger.jpg"))
    top = page.locator('[data-testid="stProgress"]').first
    expect(top).to_be_visible(timeout=120_000)
    expect(top).to_contain_text("1. Leonberg", timeout=30_000)  # the most probable class is drawn first


@pytest.mark.browser
def test_uploading_a_non_image_shows_a_clear_error(app_url, page, shared_data):
    from playwright.sync_api import expect

    page.goto(app_url)
    page.get_by_text("Upload", exact=True).click()
    page.locator('input[type="file"]').set_input_files(str(shared_data / "odd" / "Abyssinian_101.mat"))
    expect(page.get_by_text("Abyssinian_101.mat is not an image")).to_be_visible(timeout=60_000)


def test_a_photo_is_kept_at_the_size_the_networks_use():
    import numpy as np

    from ui.photos import PHOTO_SHORT_SIDE, photo_from_bytes

    photo = photo_from_bytes(_png(np.full((3000, 4000, 3), 200, np.uint8)), "big.png")
    assert photo.image.shape == (PHOTO_SHORT_SIDE, 512, 3)  # 4:3 kept, short side 384
    assert photo.original_size == (4000, 3000)
    small = photo_from_bytes(_png(np.zeros((100, 50, 3), np.uint8)), "small.png")
    assert small.image.shape == (100, 50, 3)  # smaller photos are kept as they are


def _png(pixels) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
