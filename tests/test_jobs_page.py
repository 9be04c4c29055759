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


def _send_clear_cache(page, url: str) -> None:
    """What Streamlit's frontend sends for "Clear cache": a BackMsg with ``clear_cache`` over /_stcore/stream,
    here from a raw websocket of its own (any client can send it)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    message = list(BackMsg(clear_cache=True).SerializeToString())
    sent = page.evaluate("""async ([url, bytes]) => {
        const socket = new WebSocket(url.replace("http", "ws") + "/_stcore/stream", ["streamlit"]);
        socket.binaryType = "arraybuffer";
        await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
        socket.send(new Uint8Array(bytes));
        await new Promise(resolve => setTimeout(resolve, 2000));
        socket.close();
        return true;
    }""", [url, message])
    assert sent


@pytest.mark.browser
@pytest.mark.real_backbone
@pytest.mark.timeout(1200)
def test_a_clear_cache_message_leaves_the_queue_as_it_was(browser, tmp_path):
    """A runs, B waits; a raw client sends ``clear_cache``; B keeps its place and C queues behind B, never
    beside A (issue 20, item 2: the scheduler lived in ``st.cache_resource``)."""
    from playwright.sync_api import expect

    with running_app(tmp_path, {"TRANSFER_LAB_MODE": "classroom"}) as url:
        a, b, c = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "abc")
        for page in (a, b, c):
            page.goto(f"{url}/ideal_cat?lang=en")
            expect(page.get_by_role("button", name="Generate")).to_be_visible(timeout=120_000)
        a.get_by_role("button", name="Generate").click()
        expect(a.get_by_text("is running")).to_be_visible(timeout=120_000)
        b.get_by_role("button", name="Generate").click()
        expect(b.get_by_text("1 job ahead of you")).to_be_visible(timeout=60_000)
        _send_clear_cache(c, url)
        c.get_by_role("button", name="Generate").click()
        expect(c.get_by_text("2 jobs ahead of you")).to_be_visible(timeout=60_000)
        expect(b.get_by_text("1 job ahead of you")).to_be_visible()
        expect(a.get_by_text("is running")).to_be_visible()
        for page, button in ((c, "Cancel"), (b, "Cancel"), (a, "Stop")):
            page.get_by_role("button", name=button).click()
        expect(a.get_by_text("This session's gallery")).to_be_visible(timeout=600_000)
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        for page in (a, b, c):
            page.context.close()


@pytest.mark.browser
@pytest.mark.real_backbone
@pytest.mark.timeout(900)
def test_a_second_learner_gets_the_cached_image_without_touching_anything(browser, tmp_path):
    """Issue 19's repro: A makes the default ideal cat; B presses Generate with the same defaults, whose image is
    already cached, so B's job ends before B's page first polls it: B sees the image at once."""
    from playwright.sync_api import expect

    with running_app(tmp_path, {"TRANSFER_LAB_MODE": "classroom", "TRANSFER_LAB_STEP_CAP": "16"}) as url:
        a, b = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "ab")
        for page in (a, b):
            page.goto(f"{url}/ideal_cat?lang=en")
            expect(page.get_by_role("button", name="Generate")).to_be_visible(timeout=120_000)
        for page in (a, b):
            page.get_by_role("button", name="Generate").click()
            expect(page.get_by_text("This session's gallery")).to_be_visible(timeout=300_000)
            expect(page.get_by_role("heading", name="Recognisable: Siamese cat")).to_be_visible()
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        for page in (a, b):
            page.context.close()




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
    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.get_by_text("Try the network")).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Transfer training", exact=True).click()
    page.get_by_role("radio", name="Your own classes").click()
    expect(page.get_by_text("(3 so far)")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(bengals[0].name[:11])).to_be_visible()
