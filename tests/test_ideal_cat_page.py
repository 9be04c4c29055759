"""The Ideal cat page: AppTest smoke tests and a Playwright flow in Chromium."""

from __future__ import annotations

import keras
import pytest
from streamlit.testing.v1 import AppTest

from core.transfer.model import assemble, build_head
from tests.conftest import make_tiny_model, open_page, running_app
from ui.state import TrainedModel

PAGE = "app_pages/ideal_cat.py"


def _page_app() -> AppTest:
    return open_page(PAGE)


def test_page_loads_with_presets_and_settings():
    at = _page_app()
    assert not at.exception
    assert at.title[0].value == "🐱 Ideal cat"
    assert at.button(key="ideal_go").label == "Generate"
    assert at.slider(key="ideal_steps").value == 256


def test_search_finds_imagenet_classes_and_reports_a_miss():
    at = _page_app()
    at.pills(key="ideal_preset").set_value("search").run()
    at.text_input(key="ideal_query").set_value("zebra").run()
    assert at.multiselect[0].value == [340]
    at.text_input(key="ideal_query").set_value("no such animal").run()
    assert not at.exception and "No ImageNet class matches" in at.warning[0].value


@pytest.mark.real_backbone
def test_a_capped_run_shows_the_image_and_the_second_opinion(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_STEP_CAP", "4")
    at = _page_app()
    at.radio(key="ideal_mode").set_value("both").run()
    at.button(key="ideal_go").click().run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Naive: Siamese cat", "Recognisable: Siamese cat"]
    table = at.table[1].value
    assert list(table["network"]) == ["EfficientNet-Lite0 (made on)", "EfficientNet-Lite1", "EfficientNet-Lite2"]
    assert "P(Siamese cat)" in table.columns
    assert any("capped at 4" in c.value for c in at.caption)


def _trained_model() -> TrainedModel:
    tiny = make_tiny_model(2, 224)
    embedding = keras.Model(tiny.input, tiny.get_layer("avg_pool").output)
    model = assemble(embedding, build_head(4, 2), ["teapot", "kettle"])
    return TrainedModel(model, ("teapot", "kettle"), "efficientnet_lite0")


@pytest.mark.real_backbone
def test_the_learners_own_class_can_be_the_target(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_STEP_CAP", "2")
    at = _page_app()
    at.session_state["trained_model"] = _trained_model()
    at.run()
    at.pills(key="ideal_preset").set_value("own:1").run()
    at.button(key="ideal_go").click().run()
    assert not at.exception
    assert at.subheader[0].value == "Recognisable: kettle"
    table = at.table[0].value
    assert table["network"][0] == "your classifier (made on)"
    sees = table["sees (top class)"][0]  # the class your classifier sees most, by your name for it
    assert sees.split(" (")[0] in ("teapot", "kettle") and sees.endswith("%)")


@pytest.fixture(scope="module")
def capped_app_url(tmp_path_factory):
    """The app with steps capped at 24, so a browser run takes seconds and shows two live frames before the end."""
    with running_app(tmp_path_factory.mktemp("ideal_app"), {"TRANSFER_LAB_STEP_CAP": "24"}) as url:
        yield url


# Records every "step N/M" caption the page ever shows, however briefly.
WATCH_CAPTIONS = """() => {
  window.__steps = [];
  new MutationObserver(() => {
    for (const m of document.body.innerText.matchAll(/step (\\d+)\\/(\\d+)/g)) {
      if (!window.__steps.includes(m[0])) window.__steps.push(m[0]);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.mark.browser
@pytest.mark.real_backbone
def test_browser_run_updates_the_image_and_shows_the_second_opinion(page, capped_app_url):
    from playwright.sync_api import expect

    page.goto(f"{capped_app_url}/ideal_cat")
    expect(page.get_by_role("heading", name="🐱 Ideal cat")).to_be_visible(timeout=60_000)
    page.evaluate(WATCH_CAPTIONS)
    page.get_by_role("button", name="Generate").click()
    table = page.locator('[data-testid="stTable"]')
    expect(table.get_by_text("EfficientNet-Lite2")).to_be_visible(timeout=240_000)
    expect(page.get_by_text("what each network sees in the saved PNG")).to_be_visible()
    expect(table.get_by_text("EfficientNet-Lite0 (made on)")).to_be_visible()
    # The last frame (24/24) is replaced by the result at once, so the browser may never paint it;
    # the two frames before it stay on screen for eight steps each.
    seen = page.evaluate("window.__steps")
    assert {"step 8/24", "step 16/24"} & set(seen), seen  # at least one live frame (a busy machine may skip one)
    expect(page.get_by_role("button", name="Download PNG")).to_be_visible()
    expect(page.get_by_text("This session's gallery")).to_be_visible()
