"""One photo's light results (top-5, feature maps, Grad-CAM) are computed once for the whole server: a class opens
the same sample photo, and a page's rerun (a widget touched, a poll) computes nothing again."""

import io
import threading

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import ui.light
from tests.conftest import ROOT, open_page, top5_boxes


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _counted(monkeypatch, name: str) -> list:
    """Calls of ``ui.light.<name>``, each with its arguments."""
    calls, original = [], getattr(ui.light, name)
    monkeypatch.setattr(ui.light, name, lambda *a, **k: calls.append(a) or original(*a, **k))
    return calls


def test_feature_maps_and_gradcam_of_the_sample_are_computed_once_for_every_session(fake_backbones, monkeypatch):
    features, gradcams = _counted(monkeypatch, "extract_features"), _counted(monkeypatch, "grad_cam")
    first = open_page("app_pages/feature_maps.py")
    first.slider(key="fm_top_k").set_value(4).run()
    second = open_page("app_pages/feature_maps.py")  # another learner, the same sample photo
    assert not first.exception and not second.exception
    assert len(features) == 1 and len(gradcams) == 1
    assert second.subheader[0].value == first.subheader[0].value  # the second learner sees the same stage


def test_home_classifies_a_photo_once_for_every_session_and_new_photos_in_one_batch(fake_backbones, monkeypatch):
    calls = _counted(monkeypatch, "classify_images")
    first = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    first.run()
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert [len(images) for _, images in calls] == [1]  # the sample, once for two sessions and a rerun

    first.radio(key="home_source").set_value("Upload").run()
    uploads = [("a.png", _png(1), "image/png"), ("b.png", _png(2), "image/png"), ("a again.png", _png(1), "image/png")]
    first.file_uploader(key="home_upload").set_value(uploads).run()
    assert not first.exception and not first.error
    assert len(top5_boxes(first)) == 3 and top5_boxes(first)[0] == top5_boxes(first)[2]
    assert [len(images) for _, images in calls] == [1, 2]  # two new contents, one forward pass


def test_a_shared_result_cannot_be_changed_in_place(fake_backbones):
    from core.work import shared

    backbone = shared.backbones("efficientnet_lite0")
    pixels = backbone.prepare(np.full((64, 64, 3), 128, np.uint8))
    features = ui.light.photo_features(backbone.name, "digest", backbone, pixels)
    assert ui.light.photo_features(backbone.name, "digest", backbone, pixels) is features
    with pytest.raises(ValueError, match="read-only"):
        features.stages[0].activations[0, 0, 0] = 1.0
    gradcam = ui.light.photo_gradcam(backbone.name, "digest", 3, backbone, pixels)
    with pytest.raises(ValueError, match="read-only"):
        gradcam.heatmap[0, 0] = 1.0


def _warm_ups() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "warm-feature-maps"]


def test_home_warms_the_feature_maps_of_its_photo_in_the_background_once(fake_backbones, monkeypatch):
    from core.work import shared

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    for thread in _warm_ups():
        thread.join(timeout=60)
    assert len(shared.photo_features.values()) == 1 and len(shared.photo_gradcams.values()) == 1
    at.run()
    assert _warm_ups() == []  # the next run of Home starts no second warm-up

    calls = _counted(monkeypatch, "extract_features")
    assert not open_page("app_pages/feature_maps.py").exception
    assert calls == []  # the Feature maps page opens on the sample's maps, already there
