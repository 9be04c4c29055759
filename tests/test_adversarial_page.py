"""The Adversarial dog page: AppTest runs of the page and a browser flow that flips a dog into a cat."""

from __future__ import annotations

import re

import keras
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import make_tiny_model, open_page, running_app, wait_until_idle
from ui.state import TrainedModel

PAGE = "app_pages/adversarial_dog.py"


def _page() -> AppTest:
    return open_page(PAGE, timeout=120)


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [w.value for w in at.warning] + [e.value for e in at.error])


def _folder(at, folder, file_name):
    at.radio(key="adv_where").set_value("folder").run()
    at.text_input(key="adv_folder").set_value(str(folder)).run()
    select = at.selectbox(key="adv_folder_file")
    select.set_value(next(o for o in select.options if o == file_name)).run()


@pytest.mark.real_backbone
def test_page_opens_on_a_bundled_dog_and_the_attack_runs_without_an_upload():
    at = _page()
    assert not at.exception
    assert at.radio(key="adv_source").value == "Sample photo"
    assert at.selectbox(key="adv_sample").value.startswith("Leonberger dog")
    assert "sees **Leonberg**" in _texts(at)
    assert at.slider(key="adv_eps").value == 2 and at.slider(key="adv_steps").value == 10
    at.button(key="adv_run").click().run()
    assert not at.exception
    text = _texts(at)
    assert "The attack worked" in text and "on Leonberger dog" in text
    assert "Largest change of any pixel: **2 levels of 255**" in text


@pytest.mark.real_backbone
def test_a_folder_that_does_not_exist_gets_a_clear_message(tmp_path):
    at = _page()
    at.radio(key="adv_where").set_value("folder").run()
    at.text_input(key="adv_folder").set_value(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert any("is not a folder" in e.value for e in at.error)


@pytest.mark.real_backbone
def test_folder_photo_attack_turns_the_leonberger_into_a_siamese_cat(shared_data):
    at = _page()
    _folder(at, shared_data / "singles", "dog_closeup_leonberger.jpg")
    assert "sees **Leonberg**" in _texts(at)
    at.button(key="adv_run").click().run()
    assert not at.exception
    text = _texts(at)
    assert "The attack worked" in text
    assert "Largest change of any pixel: **2 levels of 255**" in text
    assert len(at.get("download_button")) == 1
    survival = at.dataframe[0].value
    assert list(survival["change"]) == ["none (as saved)", "JPEG re-compression", "small resize", "slight blur"]
    assert survival["attack"].iloc[0].startswith("✅")


def _trained_model():
    base = make_tiny_model(num_classes=2)
    return keras.Model(base.inputs, keras.layers.Softmax()(base.outputs[0]))


@pytest.mark.real_backbone
def test_the_learners_own_classifier_can_be_the_target_and_the_sweep_draws_a_curve(shared_data):
    at = _page()
    at.session_state["trained_model"] = TrainedModel(_trained_model(), ("my dog", "my cat"), "efficientnet_lite0")
    at.run()
    _folder(at, shared_data / "singles", "dog_samoyed_fullbody.jpg")
    assert "Your classifier: my cat" in at.selectbox(key="adv_target").options
    at.selectbox(key="adv_target").set_value("own:1").run()
    at.slider(key="adv_eps").set_value(16).run()
    at.button(key="adv_run").click().run()
    assert not at.exception
    assert "Attacking your own classifier" in _texts(at)
    assert "not ImageNet classes" in _texts(at)
    at.text_input(key="adv_sweep_folder").set_value(str(shared_data / "singles")).run()
    at.multiselect(key="adv_sweep_eps").set_value([0, 16]).run()
    at.slider(key="adv_sweep_limit").set_value(3).run()
    at.button(key="adv_sweep_run").click().run()
    assert not at.exception
    sweep = at.session_state["adversarial"].sweep
    assert sorted(sweep.curve) == [0, 16] and all(done == 3 for _, done in sweep.curve.values())
    assert sweep.curve[16][0] >= sweep.curve[0][0]


@pytest.mark.browser
@pytest.mark.real_backbone
def test_browser_upload_a_dog_and_watch_the_prediction_flip(app_url, page, shared_data, tmp_path):
    from playwright.sync_api import expect

    page.goto(app_url)  # through the navigation, as a learner arrives
    expect(page.get_by_text("Backbone", exact=True)).to_be_visible(timeout=90_000)  # app.py has run: its navigation
    page.get_by_role("link", name="Adversarial dog", exact=True).click()
    expect(page.get_by_text("sees Leonberg")).to_be_visible(timeout=90_000)  # it opens on the bundled dog
    wait_until_idle(page)
    page.get_by_text("Upload", exact=True).first.click()
    # the sweep below has an uploader of its own: wait for this one to be drawn above it
    expect(page.get_by_text("Right now")).to_have_count(0, timeout=60_000)
    wait_until_idle(page)
    page.locator('input[type="file"]').first.set_input_files(str(shared_data / "singles/dog_closeup_leonberger.jpg"))
    expect(page.get_by_text("Leonberg", exact=False).first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("sees Leonberg")).to_be_visible(timeout=90_000)
    wait_until_idle(page)
    page.get_by_role("button", name="Run the attack").click()
    expect(page.get_by_text("The attack worked")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Largest change of any pixel: 2 levels of 255")).to_be_visible()
    expect(page.get_by_text("Adversarial (the PNG below)")).to_be_visible()
    expect(page.locator(".js-plotly-plot").get_by_text("Siamese cat").first).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the adversarial PNG").click()
    assert download.value.suggested_filename == "adversarial_pgd_eps2.png"


@pytest.mark.browser
@pytest.mark.real_backbone
@pytest.mark.timeout(1200)  # two learners on one server: slow on a busy 2-core machine
def test_browser_classroom_a_second_learner_waits_while_the_first_sweeps_and_stop_keeps_the_points(
        browser, tmp_path, shared_data):
    from playwright.sync_api import expect

    env = {"TRANSFER_LAB_MODE": "classroom", "TRANSFER_LAB_DATA_DIRS": str(shared_data)}
    with running_app(tmp_path, env) as url:
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in "ab")
        for page in (first, second):
            page.goto(f"{url}/adversarial_dog?lang=en")
            expect(page.get_by_text("sees Leonberg")).to_be_visible(timeout=240_000)
            wait_until_idle(page)
        first.get_by_role("button", name="Run the attack").click()
        verdict = first.get_by_text("The attack worked")
        expect(verdict).to_be_visible(timeout=240_000)
        expect(first.get_by_text("JPEG re-compression")).to_be_attached(timeout=120_000)  # the survival job ran
        wait_until_idle(first)
        said = verdict.inner_text()
        slider = first.get_by_test_id("stSlider").filter(has_text="JPEG quality").get_by_role("slider")
        slider.focus()
        slider.press("ArrowLeft")
        expect(first.get_by_text("quality 74")).to_be_attached(timeout=120_000)
        wait_until_idle(first)
        assert verdict.inner_text() == said  # same result, same measured seconds: the attack was not rerun
        folder = first.get_by_test_id("stSelectbox").filter(has_text="Folder of photos for the sweep")
        for _ in range(3):  # a rerun (the survival job ending) may close the list under the typing
            folder.get_by_role("combobox").click()
            folder.get_by_role("combobox").press_sequentially("pets-mini/dog")
            first.wait_for_timeout(1000)  # the filtered list is drawn before Enter picks its first entry
            first.keyboard.press("Enter")
            wait_until_idle(first)
            if first.get_by_text("Upload photos").count() == 0:  # a folder replaces the sweep's uploader
                break
        expect(first.get_by_text("Upload photos")).to_have_count(0)
        first.get_by_role("button", name="Run the sweep").click()
        expect(first.get_by_text("Epsilon sweep is running")).to_be_visible(timeout=120_000)
        second.get_by_role("button", name="Run the attack").click()
        expect(second.get_by_text("1 job ahead of you")).to_be_visible(timeout=60_000)
        expect(second.get_by_role("button", name="Cancel")).to_be_visible()
        expect(first.get_by_text(re.compile(r"Epsilon sweep is running: \d+%"))).to_be_visible(timeout=240_000)
        first.get_by_role("button", name="Stop").click()
        expect(first.get_by_text("You stopped the sweep")).to_be_visible(timeout=300_000)
        expect(first.locator(".js-plotly-plot").get_by_text("PGD success rate towards Siamese cat")).to_be_visible()
        expect(second.get_by_text("The attack worked")).to_be_visible(timeout=300_000)
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        first.context.close()
        second.context.close()
