"""The app shell: one navigation, every page linked, and deep links that keep the shell."""

import pytest

from tests.conftest import ROOT, running_app

PAGES = {"feature_maps": "Feature maps", "transfer_training": "Transfer training",
         "ideal_cat": "Ideal cat", "adversarial_dog": "Adversarial dog"}


def test_every_linked_page_exists():
    source = (ROOT / "app.py").read_text()
    for url in PAGES:
        assert f'url_path="{url}"' in source
        assert (ROOT / "app_pages" / f"{url}.py").exists()


@pytest.mark.browser
def test_a_deep_link_on_a_fresh_server_says_it_is_starting_then_keeps_the_navigation_and_backbone_picker(
        page, tmp_path):
    from playwright.sync_api import expect

    # A fresh server: the first request ever is the deep link, the case that once skipped app.py.
    with running_app(tmp_path) as url:
        page.goto(f"{url}/ideal_cat")
        # the first run imports TensorFlow (seconds): meanwhile the page already says what is happening
        starting = page.get_by_text("Starting the networks", exact=False)
        expect(starting).to_be_visible(timeout=30_000)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Backbone", exact=True)).to_be_visible(timeout=90_000)
        for title in PAGES.values():
            expect(sidebar.get_by_text(title, exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Ideal cat")).to_be_visible()
        expect(starting).to_have_count(0)  # gone once the page is drawn
