"""The Transfer training page: AppTest runs and a real-browser flow."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, open_page, wait_until_idle
from ui.state import OwnClass

APP = str(ROOT / "app.py")
PAGE = "app_pages/transfer_training.py"


def _page() -> AppTest:
    return open_page(PAGE)


def _state(at: AppTest):
    """The page's typed state (ui.state.TransferPage)."""
    return at.session_state["transfer_page"]


def _own(at: AppTest, classes: list) -> None:
    """Gives the page's own classes (as the editor would have filled them)."""
    from ui.state import TransferPage

    if "transfer_page" not in at.session_state:
        at.session_state["transfer_page"] = TransferPage()
    _state(at).own_classes = classes


def _folder_page() -> AppTest:
    """The page with "A folder of photos" chosen (the bundled pets are the default)."""
    at = _page()
    at.radio(key="tt_source").set_value("folder").run()
    return at


def test_a_folder_source_asks_for_the_folder():
    at = _folder_page()
    assert not at.exception
    assert at.title[0].value.endswith("Transfer training")
    assert at.button(key="tt_train").disabled
    assert any("folder" in info.value for info in at.info)
    at.text_input(key="tt_folder").input("/no/such/folder").run()
    assert not at.exception
    assert [error.value for error in at.error] == ["This cannot be used: that is not a folder on this computer."]
    assert at.button(key="tt_train").disabled
    at.text_input(key="tt_folder").input("/proc/self").run()
    assert [error.value for error in at.error] == [
        "This cannot be used: that is a system folder, not a folder of photos."]


@pytest.mark.real_backbone
def test_page_trains_on_the_bundled_pets_with_nothing_typed():
    at = _page()
    assert at.radio(key="tt_source").value == "bundled"
    assert not any("shared" in c.value for c in at.caption)  # no hint naming a developer's test-data folder
    assert not at.button(key="tt_train").disabled
    at.button(key="tt_train").click().run()
    assert not at.exception
    assert at.session_state["trained_model"].classes == ("cat", "dog")
    at.selectbox(key="tt_task_bundled_en").set_value("breeds").run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    assert len(at.session_state["trained_model"].classes) == 8
    assert [run.dataset for run in _state(at).runs] == ["Bundled pets"] * 2


@pytest.mark.real_backbone
def test_page_trains_on_pets_mini_and_shares_the_model(shared_data):
    at = _folder_page()
    at.text_input(key="tt_folder").input(str(shared_data / "pets-mini")).run()
    at.selectbox(key="tt_task_folder_en").set_value("species").run()
    at.number_input(key="tt_per_class").set_value(10).run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Validation photos"] == "4" and metrics["Validation accuracy"].endswith("%")
    trained = at.session_state["trained_model"]
    assert trained.classes == ("cat", "dog") and trained.backbone == "efficientnet_lite0"
    assert trained.model.output_shape == (None, 2)
    assert len(_state(at).runs) == 1
    assert any("Runs in this session" in h.value for h in at.subheader)


@pytest.mark.browser
@pytest.mark.real_backbone
def test_browser_trains_on_a_folder_and_shows_curves_and_confusion(app_url, page, shared_data, tmp_path):
    import shutil

    from playwright.sync_api import expect

    folder = tmp_path / "my-pets"
    for name, pattern in (("cats", "cat/Bengal_*.jpg"), ("dogs", "dog/*.jpg")):
        (folder / name).mkdir(parents=True)
        for photo in sorted((shared_data / "pets-mini").glob(pattern))[:8]:
            shutil.copy(photo, folder / name)
    page.goto(app_url)  # through the navigation, as a learner arrives
    expect(page.get_by_text("Try the network")).to_be_visible(timeout=60_000)  # the app shell has run
    page.get_by_role("link", name="Transfer training", exact=True).click()
    expect(page.get_by_role("heading", name="Transfer training")).to_be_visible(timeout=60_000)
    page.get_by_text("A folder of photos", exact=True).click()
    field = page.get_by_role("textbox", name="Folder")
    field.fill(str(folder))
    field.press("Enter")
    train = page.get_by_role("button", name="Train")
    expect(train).to_be_enabled(timeout=30_000)
    train.click()
    expect(page.get_by_text("Validation accuracy", exact=True)).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Confusion matrix", exact=False)).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    # The curves figure has the "Loss" and "Accuracy" subplot titles; the heatmap draws class names.
    expect(page.locator("text.gtitle, text.annotation-text").filter(has_text="Loss").first).to_be_attached()
    expect(page.locator(".js-plotly-plot .heatmaplayer").first).to_be_attached()
    expect(page.get_by_text("Runs in this session")).to_be_visible()


def _photos(shared_data, pattern: str, count: int):
    import hashlib

    from core.data.images import load_image_file
    from ui.photos import Photo

    paths = sorted((shared_data / "pets-mini").glob(pattern))[:count]
    return [Photo(p.name, load_image_file(p), hashlib.sha1(p.read_bytes()).hexdigest()) for p in paths]


def test_own_classes_ask_for_names_and_photos(shared_data):
    at = _page()
    at.segmented_control(key="tt_mode").set_value("own").run()
    assert not at.exception
    assert any("at least 4 photos" in info.value for info in at.info)
    assert at.button(key="tt_train").disabled
    _own(at, [OwnClass(0, "same", _photos(shared_data, "cat/Bengal_*", 4)),
              OwnClass(1, "same", _photos(shared_data, "dog/beagle_*", 4))])
    at.text_input(key="oc_0_name").input("same").run()
    at.text_input(key="oc_1_name").input("same").run()
    assert any("different name" in info.value for info in at.info)
    _state(at).own_classes[0].shots = _photos(shared_data, "cat/Bengal_*", 16)
    at.text_input(key="oc_0_name").input("bengal").run()
    assert any("unbalanced" in warning.value for warning in at.warning)
    assert not at.button(key="tt_train").disabled


@pytest.mark.real_backbone
def test_own_classes_train_try_fine_tune_and_export(shared_data):
    at = _page()
    _own(at, [OwnClass(0, "bengal", _photos(shared_data, "cat/Bengal_*", 6)),
              OwnClass(1, "beagle", _photos(shared_data, "dog/beagle_*", 6))])
    at.segmented_control(key="tt_mode").set_value("own").run()
    from core.data.downloads import cache_dir

    shards_before = sorted(cache_dir("embeddings").rglob("*.npz"))
    at.button(key="tt_train").click().run()
    assert not at.exception
    assert at.session_state["trained_model"].classes == ("bengal", "beagle")
    assert {"Try it", "Take it with you"} <= {h.value for h in at.header}
    # The learner's photos stay in the session: embeddings in its memory, nothing in the shared disk cache.
    # Augmented views are on by default: four views of each of the 12 photos, each view in its own memory cache.
    from core.work import shared

    assert [len(c) for c in shared.private_embeddings.values()] == [12] * 4
    assert any("training (× 4 views)" in c.value for c in at.caption)
    assert sorted(cache_dir("embeddings").rglob("*.npz")) == shards_before
    at.radio(key="tt_try_source").set_value("Sample photo").run()
    assert not at.exception
    assert "gradcam" in at.session_state["trained_model"].caches  # Grad-CAM of the predicted class was drawn
    assert 'keras.saving.load_model("model.keras")' in at.code[0].value
    at.button(key="tt_make_bundle").click().run()
    assert not at.exception and at.session_state["trained_model"].caches["bundle"][:2] == b"PK"
    at.number_input(key="tt_ft_blocks").set_value(1).run()
    at.number_input(key="tt_ft_epochs").set_value(1).run()
    at.button(key="tt_ft_go").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert "Head only" in metrics and "After fine-tuning" in metrics
    after = next(m for m in at.metric if m.label == "After fine-tuning")
    change = float(metrics["After fine-tuning"].rstrip("%")) - float(metrics["Head only"].rstrip("%"))
    assert after.delta == (f"{change:+.1f} points" if round(change, 1) else "no change")
    assert at.session_state["trained_model"].run == "1 fine-tuned"
    assert at.session_state["trained_model"].fine_tuned and not at.session_state["trained_model"].downloaded


@pytest.mark.browser
@pytest.mark.real_backbone
def test_browser_own_classes_predict_download_and_reload(app_url, page, shared_data, tmp_path):
    from playwright.sync_api import expect

    bengals = sorted((shared_data / "pets-mini" / "cat").glob("Bengal_*.jpg"))
    page.goto(app_url)
    expect(page.get_by_text("Try the network")).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Transfer training", exact=True).click()
    page.get_by_role("radio", name="Your own classes").click()
    for k, name in enumerate(("bengal", "abyssinian")):
        field = page.get_by_role("textbox", name="Class name").nth(k)
        field.fill(name)
        field.press("Enter")
    uploader = page.get_by_test_id("stFileUploader")
    expect(uploader.filter(has_text="Photos of abyssinian")).to_be_visible(timeout=30_000)
    bengal_files = uploader.filter(has_text="Photos of bengal").locator('input[type="file"]')
    bengal_files.set_input_files([str(p) for p in bengals[:6]])
    expect(page.get_by_text("bengal needs at least")).to_have_count(0, timeout=60_000)
    wait_until_idle(page)
    # The other class is filled from the bundled pets (the picker's default source): its Abyssinians.
    # (Choosing another breed means typing into Streamlit's long, partly drawn list; AppTest covers that.)
    page.get_by_text("Pick photos from a dataset").click()
    expect(page.get_by_role("combobox", name="Class in the dataset")).to_have_value("Abyssinian (6 photos)",
                                                                                   timeout=60_000)
    expect(page.get_by_role("combobox", name="Add them to")).to_have_value("abyssinian")  # the class still short
    wait_until_idle(page)  # the previews are still being drawn: a click now can land on a button being replaced
    page.get_by_role("button", name="Add 6 photos to abyssinian").click()
    expect(page.get_by_text("Added 6 photos of Abyssinian to abyssinian.")).to_be_visible(timeout=60_000)
    wait_until_idle(page)  # during the rerun the old and the new Train button are both on the page
    train = page.get_by_role("button", name="Train")
    expect(train).to_be_enabled(timeout=60_000)
    train.click()
    expect(page.get_by_role("heading", name="Try it")).to_be_visible(timeout=180_000)
    unseen = str(bengals[10])  # not one of the six uploaded
    uploader.filter(has_text="Upload photos").locator('input[type="file"]').set_input_files(unseen)
    expect(page.locator(".js-plotly-plot").filter(has_text="Your model").first).to_be_visible(timeout=60_000)
    wait_until_idle(page, 120_000)  # a rerun shows old and new elements side by side until it ends
    page.get_by_role("button", name="Prepare the download").click()
    ready = page.get_by_role("button", name="Download the model (zip)")
    expect(ready).to_be_visible(timeout=240_000)  # saving and the TFLite conversion, on a busy CPU
    wait_until_idle(page, 120_000)
    with page.expect_download(timeout=120_000) as download:
        ready.click()
    saved = tmp_path / "mine.zip"
    download.value.save_as(saved)
    page.get_by_text("Load a model you downloaded before").click()
    uploader.filter(has_text="The zip from").locator('input[type="file"]').set_input_files(str(saved))
    expect(page.get_by_text("Loaded mine.zip: 2 classes (bengal, abyssinian)")).to_be_visible(timeout=60_000)


def test_own_class_takes_the_photos_of_a_folder(shared_data, tmp_path):
    import shutil

    for photo in sorted((shared_data / "pets-mini" / "cat").glob("Persian_*.jpg"))[:5]:
        shutil.copy(photo, tmp_path)
    shutil.copy(shared_data / "odd" / "truncated.jpg", tmp_path)
    (tmp_path / "notes.txt").write_text("not a photo")
    at = _page()
    at.segmented_control(key="tt_mode").set_value("own").run()
    at.text_input(key="oc_0_folder").input(str(tmp_path)).run()
    at.button(key="oc_0_add_folder").click().run()
    assert not at.exception
    assert len(_state(at).own_classes[0].shots) == 5
    assert any("truncated.jpg is damaged" in error.value for error in at.error)


@pytest.mark.real_backbone
def test_a_folder_of_unreadable_files_gets_a_message(shared_data, tmp_path):
    import shutil

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        shutil.copy(shared_data / "odd" / "truncated.jpg", tmp_path / name / "broken.jpg")
    at = _folder_page()
    at.text_input(key="tt_folder").input(str(tmp_path)).run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    assert any("Cannot train" in error.value for error in at.error)


def test_own_class_picks_photos_of_one_breed_from_a_dataset(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_CACHE", str(tmp_path / "cache"))  # no dataset downloaded here
    at = _page()
    at.segmented_control(key="tt_mode").set_value("own").run()
    assert at.radio(key="oc_pick_source").options == ["Bundled pets", "A folder"]
    assert any("Not downloaded yet" in c.value for c in at.caption)
    at.radio(key="oc_pick_source").set_value("folder").run()
    at.text_input(key="oc_pick_folder").input(str(shared_data / "pets-mini")).run()
    assert at.selectbox(key="oc_pick_task_folder_en").value == "breeds"
    classes = at.selectbox(key="oc_pick_class_en").options
    assert len(classes) == 37 and "Bengal (25 photos)" in classes
    bengal = classes.index("Bengal (25 photos)")
    at.selectbox(key="oc_pick_class_en").set_value(bengal).run()
    picked = at.multiselect(key=f"oc_pick_photos_pets-mini_{bengal}")
    assert len(picked.value) == 8 and all(name.startswith("Bengal_") for name in picked.value)
    picked.unselect(picked.value[0]).run()
    at.button(key="oc_pick_add").click().run()
    assert not at.exception
    first = _state(at).own_classes[0]
    assert first.name == "Bengal" and len(first.shots) == 7  # the placeholder name became the breed
    assert at.text_input(key="oc_0_name").value == "Bengal"
    assert "Added 7 photos of Bengal to Bengal." in [s.value for s in at.success]
    # The target moves on to the next class still short of photos; picking the same photos again for
    # the first class adds nothing twice, and a named class keeps its name.
    target = next(s for s in at.selectbox if s.label == "Add them to")
    assert target.value == 1 and target.options == ["Bengal", "class B"]
    target.set_value(0).run()
    at.button(key="oc_pick_add").click().run()
    first = _state(at).own_classes[0]
    assert len(first.shots) == 7 and first.name == "Bengal"
    assert any("already there" in s.value for s in at.success)
    at.text_input(key="oc_pick_folder").input(str(tmp_path / "nowhere")).run()
    assert not at.exception and at.error and len(_state(at).own_classes[0].shots) == 7


def test_training_asks_before_replacing_a_fine_tuned_model_not_downloaded(fake_backbones):
    from tests.mock_backbones import mock_backbone
    from ui.state import TrainedModel

    at = _page()
    tuned = TrainedModel(mock_backbone().model, ("a", "b"), "efficientnet_lite0", run="1 fine-tuned",
                         fine_tuned=True)
    at.session_state["trained_model"] = tuned
    at.number_input(key="tt_epochs").set_value(1).run()
    at.button(key="tt_train").click().run()
    assert any("has not been downloaded" in w.value for w in at.warning)
    assert at.session_state["trained_model"] is tuned  # nothing replaced yet
    at.button(key="tt_confirm_train_no").click().run()
    assert not at.warning and at.session_state["trained_model"] is tuned
    at.button(key="tt_train").click().run()
    at.button(key="tt_confirm_train_yes").click().run()
    assert not at.exception
    assert at.session_state["trained_model"].classes == ("cat", "dog") and len(_state(at).runs) == 1


def test_loading_a_model_asks_before_replacing_a_fine_tuned_one_and_keep_keeps_it():
    import keras

    from core.transfer.export import keras_bytes, labels_text
    from core.transfer.model import assemble, build_head
    from tests.conftest import make_tiny_model
    from ui.state import TrainedModel

    tiny = make_tiny_model(2, 32)
    model = assemble(keras.Model(tiny.input, tiny.get_layer("avg_pool").output), build_head(4, 2), ["a", "b"])
    at = _page()
    tuned = TrainedModel(model, ("a", "b"), "efficientnet_lite0", run="1 fine-tuned", fine_tuned=True)
    at.session_state["trained_model"] = tuned
    at.run()
    at.file_uploader(key="tt_model_upload").set_value([
        ("mine.keras", keras_bytes(model, ["a", "b"]), "application/octet-stream"),
        ("labels.txt", labels_text(["a", "b"]).encode(), "text/plain")]).run()
    assert any("has not been downloaded" in w.value for w in at.warning)
    at.button(key="tt_confirm_load_no").click().run()
    assert not at.exception and at.session_state["trained_model"] is tuned
    assert "Kept your fine-tuned model; the uploaded one was not loaded." in [s.value for s in at.success]
