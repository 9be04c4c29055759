"""The Adversarial dog page on mock networks: attack, survival, transfer and sweep run as jobs (inline in AppTest),
a survival slider does not rerun the attack, classroom limits bound the widgets, and Stop keeps the sweep so far."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import core.work.adversarial
import ui.adversarial_attack
import ui.adversarial_checks
from core.attack.attack import AttackConfig, Attacker
from core.jobs import DONE, STOPPED, Scheduler
from core.work import shared
from core.work.specs import SweepJob
from core.work.store import LocalStore, put_array
from tests.conftest import make_tiny_model, open_page
from tests.mock_backbones import mock_backbone
from ui.adversarial_checks import sweep_from_job
from ui.state import TrainedModel
from ui.targets import Target

PAGE = "app_pages/adversarial_dog.py"


@pytest.fixture(scope="module")
def mock_attackers() -> dict:
    """Two mock 1000-class networks of different (small) input sizes, as the lab's cache would hold them."""
    return {name: Attacker.for_backbone(mock_backbone(name, size, seed)).warm_up()
            for name, size, seed in (("efficientnet_lite0", 32, 0), ("efficientnet_lite1", 40, 3))}


@pytest.fixture
def shared_mocks(mock_attackers):
    """The process-wide attackers (core.work.shared) are the mocks for this test, and forgotten after it."""
    shared.clear_all()
    for name, attacker in mock_attackers.items():
        shared.attackers.put(name, attacker)
    yield mock_attackers
    shared.clear_all()


@pytest.fixture
def mock_networks(monkeypatch, shared_mocks):
    """The page attacks the mock networks; the other network available offline is the second mock."""
    monkeypatch.setattr(ui.adversarial_checks, "other_available_backbones",
                        lambda current: [n for n in shared_mocks if n != current])
    return shared_mocks


def _attacked(eps: int = 4):
    at = open_page(PAGE, timeout=120)
    at.slider(key="adv_eps").set_value(eps).run()
    at.slider(key="adv_steps").set_value(3).run()
    at.button(key="adv_run").click().run()
    assert not at.exception, at.exception
    return at


def test_the_attack_runs_as_a_job_and_leaves_a_measured_result_with_its_survival_rows(mock_networks):
    at = _attacked(eps=4)
    result = at.session_state["adversarial"].result
    assert result.measured["linf"] <= 4
    assert np.abs(result.adversarial.astype(int) - result.clean.astype(int)).max() <= 4
    assert result.adversarial.shape == (32, 32, 3) and not result.stopped
    assert len(at.get("download_button")) == 1
    (rows,) = result.survival.values()
    assert [row["check_id"] for row in rows] == ["none", "jpeg", "resize", "blur"]
    assert list(at.dataframe[0].value.iloc[:, 0]) == ["none (as saved)", "JPEG re-compression", "small resize",
                                                      "slight blur"]


def test_a_survival_slider_reruns_neither_the_attack_nor_its_measurement(mock_networks, monkeypatch):
    at = _attacked()
    calls = []
    for module, name in ((core.work.adversarial, "attack"), (core.work.adversarial, "measure"),
                         (ui.adversarial_attack, "measure")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    at.slider(key="adv_jpeg").set_value(30).run()
    assert not at.exception
    assert calls == []
    result = at.session_state["adversarial"].result
    assert sorted(s.jpeg_quality for s in result.survival) == [30, 75]
    assert "quality 30" in list(at.dataframe[0].value.iloc[:, 1])


def test_the_transfer_check_asks_the_other_network_and_names_its_classes(mock_networks):
    at = _attacked()
    at.button(key="adv_transfer_run").click().run()
    assert not at.exception
    rows = at.session_state["adversarial"].result.transfer
    assert [row["network"] for row in rows] == ["EfficientNet-Lite1"]
    assert 0 <= rows[0]["clean_index"] < 1000
    assert list(at.dataframe[1].value.iloc[:, 0]) == ["EfficientNet-Lite1"]


def test_the_sweep_over_a_folder_measures_each_epsilon_on_every_photo(mock_networks, shared_data):
    at = open_page(PAGE, timeout=120)
    at.text_input(key="adv_sweep_folder").set_value(str(shared_data / "singles")).run()
    at.multiselect(key="adv_sweep_eps").set_value([0, 8]).run()
    at.slider(key="adv_sweep_limit").set_value(2).run()
    at.button(key="adv_sweep_run").click().run()
    assert not at.exception
    sweep = at.session_state["adversarial"].sweep
    assert sorted(sweep.curve) == [0, 8] and all(done == 2 for _, done in sweep.curve.values())
    assert sweep.curve[8][0] >= sweep.curve[0][0] and not sweep.stopped
    assert len(at.get("plotly_chart")) == 1


def test_classroom_limits_are_the_ranges_of_steps_and_sweep_photos(mock_networks, classroom, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_ATTACK_STEPS", "5")
    monkeypatch.setenv("TRANSFER_LAB_STEP_CAP", "3")  # the ideal image's own cap: not the attack's
    monkeypatch.setenv("TRANSFER_LAB_MAX_SWEEP_PHOTOS", "3")
    at = open_page(PAGE, timeout=120)
    assert not at.exception
    assert at.slider(key="adv_steps").max == 5 and at.slider(key="adv_steps").value == 5
    assert at.slider(key="adv_sweep_limit").max == 3


def _sweep_job(store, images, eps, config) -> SweepJob:
    return SweepJob("efficientnet_lite0", tuple(put_array(store, image) for image in images), tuple(eps), config)


def test_stop_during_a_sweep_keeps_the_points_measured_so_far(shared_mocks, tmp_path):
    store = LocalStore(tmp_path)
    images = [np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(3)]
    job_spec = _sweep_job(store, images, [0, 2, 4], AttackConfig(eps=2, steps=2, target=(284,)))
    first_point, go_on = threading.Event(), threading.Event()
    original = core.work.adversarial.epsilon_sweep

    def paused(*args, **kwargs):  # holds the sweep after its first point until the learner has pressed Stop
        for i, point in enumerate(original(*args, **kwargs)):
            yield point
            if i == 0:
                first_point.set()
                go_on.wait(30)

    core.work.adversarial.epsilon_sweep = paused
    try:
        scheduler = Scheduler(slots=1, threaded=True)
        job = scheduler.submit_spec("learner", job_spec, "Epsilon sweep", store, keep_records=False)
        assert first_point.wait(60)
        job.stop()
        go_on.set()
        deadline = time.monotonic() + 60
        while not job.finished and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        core.work.adversarial.epsilon_sweep = original
    assert job.state == STOPPED
    sweep = sweep_from_job(job, (Target(), None))
    # Stop ends the job after the step it was in (epsilon 0's second batch): that point stays, complete over
    # the 3 photos; epsilons 2 and 4 are never measured
    assert sweep.stopped and sweep.curve == {0: (sweep.curve[0][0], 3)}
    assert sweep.photos == 3


def test_a_sweep_left_to_finish_has_every_point(shared_mocks, tmp_path):
    store = LocalStore(tmp_path)
    job_spec = _sweep_job(store, [np.full((32, 32, 3), 100, np.uint8)] * 2, [4, 0],
                          AttackConfig(eps=2, steps=1, target=()))
    job = Scheduler(slots=1, threaded=False).submit_spec("learner", job_spec, "Epsilon sweep", store,
                                                         keep_records=False)
    assert job.state == DONE
    sweep = sweep_from_job(job, (Target(classes=()), None))
    assert not sweep.stopped and sorted(sweep.curve) == [0, 4] and job.last.fraction == 1.0


def test_the_learners_own_classifier_is_attacked_with_its_class_names_as_typed(mock_networks):
    import keras

    base = make_tiny_model(num_classes=2, size=16, seed=4)
    model = keras.Model(base.inputs, keras.layers.Softmax()(base.outputs[0]))
    weights = [w.copy() for w in model.get_weights()]
    at = open_page(PAGE, timeout=120)
    at.session_state["trained_model"] = TrainedModel(model, ("my dog", "my cat"), "efficientnet_lite0")
    at.run()
    assert at.selectbox(key="adv_target").options[-2:] == ["Your classifier: my cat",
                                                            "Your classifier: anything but the original class"]
    at.selectbox(key="adv_target").set_value("own:1").run()
    at.slider(key="adv_eps").set_value(16).run()
    at.button(key="adv_run").click().run()
    assert not at.exception
    result = at.session_state["adversarial"].result
    assert result.labels == ("my dog", "my cat") and result.adversarial.shape == (16, 16, 3)
    assert any("not ImageNet classes" in i.value for i in at.info)
    predictions = {cell.split(" ")[0] + " " + cell.split(" ")[1] for cell in at.dataframe[0].value.iloc[:, 2]}
    assert predictions <= {"my dog", "my cat"}
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # the learner's model unchanged
