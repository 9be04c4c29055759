"""The one training pipeline: its settings, its records, Stop, and the CLI and the page getting the same model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.cli import main
from core.data.datasets import load_folder
from core.data.embeddings import EmbeddingCache
from core.data.images import load_image_file
from core.transfer.finetune import FineTuneSettings
from core.transfer.loading import load_model_file
from core.transfer.pipeline import (
    Assembled,
    Epoch,
    Evaluated,
    Extracting,
    Prepared,
    TrainingSettings,
    predict_probs,
    train_steps,
)
from core.transfer.training import HeadSettings
from tests.conftest import open_page
from tests.mock_backbones import mock_backbone


def test_settings_refuse_bad_values_before_any_work_and_share_one_seed():
    with pytest.raises(ValueError, match="views"):
        TrainingSettings(views=3)
    with pytest.raises(ValueError, match="validation share"):
        TrainingSettings(val_fraction=0.9)
    with pytest.raises(ValueError, match="head must be HeadSettings"):
        TrainingSettings(head={"epochs": 3})
    settings = TrainingSettings(seed=7, head=HeadSettings(seed=1), fine_tune=FineTuneSettings(seed=2))
    assert settings.head.seed == 7 and settings.fine_tune.seed == 7


def test_records_come_in_order_and_the_model_is_the_heads(pets_folder, tmp_path):
    dataset = load_folder(pets_folder, "folders")
    settings = TrainingSettings(views=2, val_fraction=0.25, head=HeadSettings(epochs=3))
    records = list(train_steps(dataset, mock_backbone(), settings, lambda e: EmbeddingCache(e.key, tmp_path)))
    kinds = [type(r).__name__ for r in records]
    assert kinds[0] == "Extracting" and kinds[-3:] == ["Epoch", "Evaluated", "Assembled"]
    assert [r.epoch for r in records if isinstance(r, Epoch)] == [1, 2, 3]
    assert [r.step.view_index for r in records if isinstance(r, Extracting)][-1] == 1
    prepared, final = next(r for r in records if isinstance(r, Prepared)), records[-1]
    assert len(prepared.data.split.val) == 4 and final.report.evaluation.count == 4
    assert len(final.report.history["loss"]) == 3 and not final.fine_tuned
    val_x, _ = prepared.data.val
    photos = [load_image_file(prepared.data.sample(int(row)).path) for row in prepared.data.split.val]
    np.testing.assert_allclose(predict_probs(final.model, photos), final.report.head.predict(val_x, verbose=0),
                               atol=1e-5)


def test_stop_keeps_the_best_epoch_and_closing_leaves_no_thread(pets_folder, tmp_path):
    dataset, stop = load_folder(pets_folder, "folders"), threading.Event()
    records = []
    for record in train_steps(dataset, mock_backbone(), TrainingSettings(head=HeadSettings(epochs=200)),
                              lambda e: EmbeddingCache(e.key, tmp_path), should_stop=stop.is_set):
        records.append(record)
        if isinstance(record, Epoch) and record.epoch == 3:
            stop.set()
    final = records[-1]
    assert isinstance(final, Assembled) and isinstance(records[-2], Evaluated)
    assert final.report.stopped_by == "stop button" and len(final.report.history["loss"]) in (3, 4)
    best = final.report.best_epoch
    assert final.report.history["val_loss"][best - 1] == min(final.report.history["val_loss"])
    before = threading.active_count()
    steps = train_steps(dataset, mock_backbone(), TrainingSettings(head=HeadSettings(epochs=500)),
                        lambda e: EmbeddingCache(e.key, tmp_path))
    next(r for r in steps if isinstance(r, Epoch))
    steps.close()  # what the job runner does after Stop
    assert threading.active_count() <= before


def test_fine_tuning_is_the_pipelines_last_phase(pets_folder, tmp_path):
    settings = TrainingSettings(head=HeadSettings(epochs=2), fine_tune=FineTuneSettings(blocks=1, epochs=1))
    records = list(train_steps(load_folder(pets_folder, "folders"), mock_backbone(), settings,
                               lambda e: EmbeddingCache(e.key, tmp_path), fine_tune_embedding=lambda: mock_backbone()
                               .embedding_model()))
    assert [r.phase for r in records if isinstance(r, Epoch)] == ["head", "head", "fine-tune"]
    final = records[-1]
    assert final.fine_tuned and final.report.fine_tune.unfrozen == ("top",)  # the mock's last stage, top_activation
    assert len(final.report.fine_tune.history["loss"]) == 3 and final.report.fine_tune.start_epoch == 2


def _probabilities_through_cli_and_page(folder, tmp_path):
    """Trains the same photos with the same seed through ``python -m core train`` and through the page."""
    out = tmp_path / "cli" / "model.keras"
    assert main(["train", "--data", str(folder), "--task", "folders", "--epochs", "5", "--seed", "3",
                 "--views", "4", "--out", str(out), "--json"]) == 0
    cli_model, classes = load_model_file(out)
    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("folder").run()
    at.text_input(key="tt_folder").input(str(folder)).run()
    at.number_input(key="tt_epochs").set_value(5).run()
    at.number_input(key="tt_seed").set_value(3).run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    page_model = at.session_state["trained_model"]
    assert list(page_model.classes) == classes == ["cat", "dog"]
    photos = [load_image_file(p) for p in sorted(folder.rglob("*.jpg"))]
    return predict_probs(cli_model, photos), predict_probs(page_model.model, photos)


def test_the_cli_and_the_page_train_the_same_model(pets_folder, tmp_path, fake_backbones):
    cli, page = _probabilities_through_cli_and_page(pets_folder, tmp_path)
    assert np.allclose(cli, page, atol=1e-6)
    assert not np.allclose(cli, 0.5, atol=1e-3)  # the head learnt something: the comparison means something


@pytest.mark.real_backbone
def test_the_cli_and_the_page_train_the_same_lite0_model(pets_folder, tmp_path):
    cli, page = _probabilities_through_cli_and_page(pets_folder, tmp_path)
    assert np.allclose(cli, page, atol=1e-6)
    assert np.mean(np.argmax(cli, axis=1) == np.repeat([0, 1], 6)) >= 0.8


def test_neither_the_page_nor_the_cli_runs_the_pipelines_parts_itself():
    from tests.conftest import ROOT

    for path in ("ui/transfer_training.py", "ui/fine_tune.py", "core/cli/train.py"):
        text = (ROOT / path).read_text()
        assert not {"train_head", "extract_views", "run_extraction", "prepare_data"} & set(
            word.strip("(,") for word in text.split()), path


def test_stop_in_the_job_runner_keeps_the_best_epoch_so_far(pets_folder, fake_backbones):
    """The page's job: Stop reaches the pipeline through the runner; the run still ends assembled, best epoch kept."""
    import time

    from core.jobs import STOPPED, Scheduler
    from core.transfer.pipeline import DataSettings
    from core.work.specs import TrainJob

    job_spec = TrainJob("efficientnet_lite0", DataSettings("folder", str(pets_folder)), HeadSettings(epochs=500))
    job = Scheduler(slots=1, threaded=True).submit_spec("learner", job_spec, "Training")
    deadline = time.monotonic() + 120
    while not any(isinstance(r, Epoch) and r.epoch >= 3 for r in job.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    job.stop()
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.state == STOPPED
    final = job.last
    assert isinstance(final, Assembled) and final.report.stopped_by == "stop button"
    history = final.report.history["val_loss"]
    assert 3 <= len(history) < 500 and history[final.report.best_epoch - 1] == min(history)
