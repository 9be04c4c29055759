"""The job runner in the browser: in classroom mode a second learner sees their place while the first one's
job runs, and each gets their result."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import running_app, wait_until_idle

SHOTS = os.environ.get("TRANSFER_LAB_SHOTS")  # a folder: save screenshots of both learners there


@pytest.mark.browser
@pytest.mark.real_backbone
@pytest.mark.timeout(1200)  # two learners on one server: slow on a busy 2-core machine
def test_a_second_learner_sees_their_place_while_the_first_job_runs(browser, tmp_path):
    from playwright.sync_api import expect

    env = {"TRANSFER_LAB_MODE": "classroom"}  # 256 steps: long enough to still run while the second learner waits
    with running_app(tmp_path, env) as url:
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "ab")
        for page in (first, second):
            page.goto(f"{url}/ideal_cat")
            expect(page.get_by_role("heading", name="🐱 Ideal cat")).to_be_visible(timeout=120_000)
        first.get_by_role("button", name="Generate").click()
        expect(first.get_by_text("is running")).to_be_visible(timeout=120_000)
        second.get_by_role("button", name="Generate").click()
        expect(second.get_by_text("1 job ahead of you")).to_be_visible(timeout=60_000)
        if SHOTS:
            first.screenshot(path=f"{SHOTS}/job_running.png", full_page=True)
            second.screenshot(path=f"{SHOTS}/job_waiting.png", full_page=True)
        second.get_by_role("button", name="Cancel").click()
        expect(second.get_by_text("was cancelled before it started")).to_be_visible(timeout=60_000)
        first.get_by_role("button", name="Stop").click()
        expect(first.get_by_text("This session's gallery")).to_be_visible(timeout=600_000)
        expect(first.get_by_text(re.compile(r"\(stopped at step \d+\)"))).to_be_visible()
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        first.context.close()
        second.context.close()




@pytest.mark.browser
def test_own_class_uploads_are_still_there_after_visiting_another_page(app_url, page, shared_data):
    from playwright.sync_api import expect

    bengals = sorted((shared_data / "pets-mini" / "cat").glob("Bengal_*.jpg"))[:3]
    page.goto(f"{app_url}/transfer_training")
    page.get_by_role("radio", name="Your own classes").click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Photos of class A")
    uploader.locator('input[type="file"]').set_input_files([str(p) for p in bengals])
    expect(page.get_by_text("(3 so far)")).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    sidebar = page.get_by_test_id("stSidebar")  # Home's path through the lab links the pages too
    sidebar.get_by_role("link", name="Home").click()
    expect(page.get_by_text("Try the network")).to_be_visible(timeout=60_000)
    sidebar.get_by_role("link", name="Transfer training").click()
    page.get_by_role("radio", name="Your own classes").click()
    expect(page.get_by_text("(3 so far)")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(bengals[0].name[:11])).to_be_visible()
