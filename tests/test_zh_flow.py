"""A learner who reads only Chinese trains a classifier, then draws the ideal image of one of its classes."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import running_app, wait_until_idle
from tests.i18n_text import english_left


@pytest.fixture(scope="module")
def quick_app_url(tmp_path_factory):
    """The app with the ideal image capped at 16 steps, so the flow takes a minute on a CPU."""
    with running_app(tmp_path_factory.mktemp("zh_app"), {"TRANSFER_LAB_STEP_CAP": "16"}) as url:
        yield url


# Visible text of the main area without Material icon ligatures ("keyboard_arrow_right") or code (Python stays Python).
MAIN_TEXT = """() => {
  const main = document.querySelector('[data-testid="stMain"]').cloneNode(true);
  main.querySelectorAll('[data-testid="stIconMaterial"], [data-testid="stCode"], code').forEach(n => n.remove());
  document.body.appendChild(main);  // innerText needs the clone laid out to skip what CSS hides
  const text = main.innerText;
  main.remove();
  return text;
}"""


def _main_lines(page) -> list[str]:
    """The main area's visible lines (the sidebar's language switch names both languages)."""
    return [line for line in page.evaluate(MAIN_TEXT).splitlines() if line.strip()]


@pytest.mark.browser
@pytest.mark.real_backbone
def test_chinese_learner_trains_then_draws_the_ideal_image_of_a_trained_class(quick_app_url, page):
    from playwright.sync_api import expect

    page.goto(quick_app_url + "/transfer_training?lang=zh")
    expect(page.get_by_role("heading", name="迁移学习训练")).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    page.get_by_role("button", name="训练", exact=True).click()
    expect(page.get_by_text("验证准确率").first).to_be_visible(timeout=240_000)
    wait_until_idle(page)
    left = english_left(_main_lines(page))
    assert left == [], "\n".join(left)

    page.get_by_role("link", name="理想的猫", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ideal_cat\?(.*&)?lang=zh"), timeout=30_000)
    expect(page.get_by_role("heading", name="理想的猫")).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    page.get_by_text("你的类别：猫", exact=True).click()  # the bundled pets' classes, in Chinese
    wait_until_idle(page)
    page.get_by_role("button", name="生成", exact=True).click()
    expect(page.get_by_text(re.compile(r"随机种子 \d+ · [\d.]+ 秒"))).to_be_visible(timeout=180_000)
    wait_until_idle(page)
    expect(page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first).to_be_visible()
    left = english_left(_main_lines(page))
    assert left == [], "\n".join(left)
    if os.environ.get("TRANSFER_LAB_SHOTS"):  # the README's Chinese screenshot, on request
        page.screenshot(path=os.path.join(os.environ["TRANSFER_LAB_SHOTS"], "screenshot-zh-ideal.png"), full_page=True)
