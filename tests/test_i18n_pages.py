"""Home, Feature maps and Ideal cat read wholly in the learner's language, results included (issue 14).

The pages run on tiny mock backbones (tests/mock_backbones.py), so the check covers what a learner reads
after the main action too: the top-5 chart, the stage grid and Grad-CAM, the ideal image and its second opinion.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.models.class_names import class_name
from tests.conftest import ROOT, top5_boxes
from tests.i18n_text import CJK, chinese_left, english_left, rendered_texts

PAGES = ("app_pages/home.py", "app_pages/feature_maps.py", "app_pages/ideal_cat.py")


@pytest.fixture
def mocked(monkeypatch, fake_backbones):
    """Mock backbones, steps capped so an ideal image takes a moment."""
    monkeypatch.setenv("TRANSFER_LAB_STEP_CAP", "4")


def _open(page: str, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = lang
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _ideal_run(at: AppTest) -> AppTest:
    at.radio(key="ideal_mode").set_value("both").run()
    at.button(key="ideal_go").click().run()
    assert not at.exception, at.exception
    assert len(at.table) == 2  # both images have their second-opinion table
    return at


def _fm_actions(at: AppTest) -> AppTest:
    at.toggle(key="fm_compare_on").set_value(True).run()
    at.toggle(key="fm_overlay").set_value(True).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_the_page_in_chinese_has_no_english_sentence_after_its_main_action(mocked, page):
    at = _open(page, "zh")
    if page.endswith("ideal_cat.py"):
        _ideal_run(at)
    elif page.endswith("feature_maps.py"):
        _fm_actions(at)
    texts = rendered_texts(at)
    assert len(texts) > 30  # the page rendered (guards the walk over the element tree itself)
    assert english_left(texts) == []


@pytest.mark.parametrize("page", PAGES)
def test_the_page_in_english_has_no_chinese(mocked, page):
    at = _open(page, "en")
    if page.endswith("ideal_cat.py"):
        _ideal_run(at)
    texts = rendered_texts(at)
    assert len(texts) > 30
    assert chinese_left(texts) == []


def test_class_names_follow_the_language_in_the_top5_chart_and_gradcam(mocked):
    home = _open("app_pages/home.py", "zh")
    [texts] = top5_boxes(home)
    bars = [text.split(". ", 1)[1].rsplit(" · ", 1)[0].replace("\\", "") for text in texts]
    assert len(bars) == 5 and all(CJK.search(name) for name in bars)

    at = _open("app_pages/feature_maps.py", "zh")
    pick = next(r for r in at.radio if r.key.startswith("fm_gc_top_"))
    top1 = class_name(pick.value, "zh")
    assert pick.options[0].startswith(top1) and top1 in bars  # same photo, same network, same top-5
    gradcam = [c for image in at.get("image") for c in image.captions if "Grad-CAM" in c]
    assert len(gradcam) == 1 and top1 in gradcam[0]


def test_the_ideal_cat_search_takes_chinese_and_shows_chinese_names(mocked):
    at = _open("app_pages/ideal_cat.py", "zh")
    at.pills(key="ideal_preset").set_value("search").run()
    at.text_input(key="ideal_query").set_value("斑马").run()
    assert at.multiselect[0].value == [340]
    assert at.multiselect[0].options[0] == "斑马（340）"  # full-width brackets beside Chinese
    at.text_input(key="ideal_query").set_value("没有这种动物").run()
    assert not at.exception and "没有这种动物" in at.warning[0].value


def test_switching_language_keeps_the_work_and_the_widget_values(mocked):
    at = _open("app_pages/ideal_cat.py", "zh")
    at.slider(key="ideal_steps").set_value(3).run()
    _ideal_run(at)
    assert at.subheader[0].value == "朴素方法：暹罗猫"
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.slider(key="ideal_steps").value == 3
    assert at.radio(key="ideal_mode").value == "both"
    assert [s.value for s in at.subheader] == ["Naive: Siamese cat", "Recognisable: Siamese cat"]
    assert chinese_left(rendered_texts(at)) == []
