"""Jobs as data: specs round-trip through JSON, inputs live in a store, one runner serves the page and the CLI."""

from __future__ import annotations

import json
import pickle
import threading

import numpy as np
import pytest
from PIL import Image

from core.attack.attack import AttackConfig
from core.attack.survival import SurvivalSettings
from core.transfer.finetune import FineTuneSettings
from core.transfer.pipeline import DataSettings
from core.transfer.training import HeadSettings
from core.visualise.optimise import mode_config
from core.work import shared
from core.work.specs import (
    AttackJob,
    FineTuneJob,
    IdealJob,
    OwnClass,
    SurvivalJob,
    SweepJob,
    TrainJob,
    TransferCheckJob,
    spec_from_json,
)
from core.work.store import LocalStore, MissingInput, get_array, put_array
from tests.conftest import open_page

KEY = "ab" * 32


def specs() -> list:
    """One spec of every kind, with non-default values wherever a field has one."""
    return [
        IdealJob("efficientnet_lite1", (mode_config("naive", classes=(281, 284), steps=32, size=160, seed=7, blur=2.5),
                                        mode_config("recognisable", classes=(281, 284), step_cap=16)), KEY),
        AttackJob("", KEY, AttackConfig("fgsm", eps=3, target=(), random_start=True, seed=5), "cd" * 32),
        SurvivalJob("efficientnet_lite2", KEY, 208, (281, 285), SurvivalSettings(40, 0.55, 1.5)),
        TransferCheckJob(("efficientnet_lite1", "efficientnet_lite2"), KEY, "cd" * 32, ()),
        SweepJob("efficientnet_lite0", (KEY, "cd" * 32), (0, 2, 16), AttackConfig(step_size=1), "ef" * 32),
        TRAIN,
        TrainJob("efficientnet_lite2", DataSettings("oxford-pets", task="breeds", per_class=20, official_split=True)),
        FineTuneJob(TRAIN, FineTuneSettings(blocks=1, epochs=2, learning_rate=3e-6, augment=False), KEY),
    ]


TRAIN = TrainJob("efficientnet_lite1", DataSettings("own", task="folders", val_fraction=0.25, seed=9, views=4),
                 HeadSettings(3e-4, 7, 16, 0.1, 64, 0.2, 2), FineTuneSettings(blocks=1, devices=("/gpu:0", "/gpu:1")),
                 (OwnClass("tabby", (KEY, "cd" * 32), ("a.jpg", "b.png")), OwnClass("猫", (KEY,), ("c.jpg",))), "mine")


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.kind)
def test_every_kind_round_trips_through_json_and_pickle_exactly(spec):
    text = spec.dumps()
    back = spec_from_json(json.loads(text))
    assert back == spec and type(back) is type(spec)
    assert back.dumps() == text
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_a_spec_with_an_unknown_kind_field_or_key_is_refused():
    good = specs()[0].to_json()
    with pytest.raises(ValueError, match="kind"):
        spec_from_json({**good, "kind": "bake"})
    with pytest.raises(ValueError, match="no field colour"):
        spec_from_json({**good, "colour": "red"})
    with pytest.raises(ValueError, match="store key"):
        spec_from_json({**good, "model": "../../etc/passwd"})
    with pytest.raises(ValueError, match="steps"):
        spec_from_json({**good, "configs": [{**good["configs"][0], "steps": 0}]})


def test_the_store_gives_back_what_was_put_by_content_and_forgets_old_blobs(tmp_path):
    now = [1000.0]
    store = LocalStore(tmp_path, max_age=60, sweep_every=30, clock=lambda: now[0])
    key = store.put(b"photo")
    assert key == store.put(b"photo") and store.get(key) == b"photo"
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    assert np.array_equal(get_array(store, put_array(store, pixels)), pixels)
    with pytest.raises(MissingInput):
        store.get("../secret")
    old = tmp_path / key[:2] / key
    import os

    os.utime(old, (now[0] - 120, now[0] - 120))
    assert store.expire() == 1
    with pytest.raises(MissingInput, match="expired"):
        store.get(key)


def test_a_shared_object_is_built_once_when_threads_ask_at_once_and_the_cache_is_bounded():
    built = []
    cache = shared.Shared(2, lambda key: built.append(key) or f"made {key}")
    gate = threading.Barrier(4)

    def ask():
        gate.wait()
        cache("a")

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["a"]
    cache("b"), cache("c")
    assert cache.peek("a") is None and cache.peek("c") == "made c"


@pytest.fixture
def mocked(fake_backbones):
    """The mock backbones (tests/mock_backbones.py) for the app and the command line."""


def _page_ideal_result():
    """Ideal cat on the page (mock Lite0): 16 steps of the recognisable Siamese cat."""
    at = open_page("app_pages/ideal_cat.py")
    at.slider(key="ideal_steps").set_value(16).run()
    at.button(key="ideal_go").click().run()
    assert not at.exception, at.exception
    return at.session_state["ideal_page"].gallery[-1]


def test_the_page_and_the_cli_make_the_same_ideal_image_from_the_same_spec(mocked, tmp_path, capsys):
    from core.cli import build_parser, main
    from core.cli.ideal import ideal_job

    page = _page_ideal_result()
    args = ["ideal", "--class", "284", "--steps", "16", "--out", str(tmp_path / "cli.png")]
    assert ideal_job(build_parser().parse_args(args)) == page.spec
    shared.ideal_results.clear()  # the CLI computes it again rather than reusing the page's image
    assert main(args) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "cli.png")), page.image)
    (tmp_path / "spec.json").write_text(page.spec.dumps())
    shared.ideal_results.clear()
    assert main(["run", str(tmp_path / "spec.json"), "--json", "--out", str(tmp_path / "out")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["fraction"] == 1.0 and last["images"][0]["step"] == 16
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "ideal_0_recognisable.png")), page.image)


def test_a_finished_ideal_image_is_shared_and_a_session_changes_only_its_own_copy(mocked):
    from ui.ideal_cat import result_of
    from ui.targets import Target

    job = IdealJob("efficientnet_lite0", (mode_config("naive", classes=(284,), steps=8),))
    from core.work.runner import run

    first = list(run(job))[-1].images[0]
    again = list(run(job))
    assert len(again) == 1 and again[0].images[0] is first  # the second run took the shared image at once
    mine, theirs = result_of(first, Target((284,))), result_of(first, Target((284,)))
    mine.stopped, mine.opinions = True, [{"backbone": "x"}]
    mine.curve.append((9, 1.0))
    assert not theirs.stopped and theirs.opinions is None and list(first.curve) == theirs.curve


def test_should_stop_ends_the_ideal_job_after_its_current_step_and_keeps_the_partial_image(mocked):
    from core.work.runner import run

    job = IdealJob("efficientnet_lite0", (mode_config("naive", classes=(284,), steps=64),
                                          mode_config("recognisable", classes=(284,), steps=64)))
    records = list(run(job, should_stop=lambda: True))
    assert len(records) == 1 and records[0].images[0].step == 8 and records[0].fraction == pytest.approx(8 / 128)
    assert shared.ideal_results.peek(("efficientnet_lite0", job.configs[0])) is None  # a partial image is not shared


def test_the_page_and_the_cli_make_the_same_adversarial_image_from_the_same_spec(tmp_path, monkeypatch, capsys):
    from core.cli import build_parser, main
    from core.cli.attack import attack_job
    from core.work.store import default_store
    from tests.test_adversarial_jobs import _attacked

    shared.clear_all()
    shared.attackers("efficientnet_lite0", _tiny_attacker)  # the page and the CLI attack the same tiny network
    monkeypatch.setattr("ui.adversarial_checks.other_available_backbones", lambda current: [])
    try:
        page = _attacked(eps=4).session_state["adversarial"].result
        photo = tmp_path / "dog.png"
        Image.fromarray(get_array(default_store(), page.spec.photo)).save(photo)
        args = ["attack", str(photo), "--target", "284", "--eps", "4", "--steps", "3", "--out", str(tmp_path / "cli")]
        assert attack_job(build_parser().parse_args(args), default_store()) == page.spec
        assert main(args) == 0
        assert np.array_equal(np.asarray(Image.open(tmp_path / "cli" / "adversarial.png")), page.adversarial)
        (tmp_path / "spec.json").write_text(page.spec.dumps())
        assert main(["run", str(tmp_path / "spec.json"), "--json", "--out", str(tmp_path / "run")]) == 0
        last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert last["step"] == 3 and last["success"] == bool(page.measured["success"])
        assert np.array_equal(np.asarray(Image.open(tmp_path / "run" / "adversarial.png")), page.adversarial)
    finally:
        shared.clear_all()


def _tiny_attacker():
    from core.attack.attack import Attacker
    from tests.conftest import make_tiny_model

    return Attacker(make_tiny_model(1000, 32, 0), "logits", None, name="Tiny32").warm_up()


def test_the_report_a_learner_downloads_reruns_to_the_same_model_with_python_m_core_run(
        pets_folder, tmp_path, capsys, fake_backbones):
    import io
    import zipfile

    from core.cli import build_parser, main
    from core.cli.train import train_job

    at = open_page("app_pages/transfer_training.py")
    at.radio(key="tt_source").set_value("folder").run()
    at.text_input(key="tt_folder").input(str(pets_folder)).run()
    at.number_input(key="tt_epochs").set_value(4).run()
    at.button(key="tt_train").click().run()
    at.button(key="tt_make_bundle").click().run()
    assert not at.exception, at.exception
    bundle = zipfile.ZipFile(io.BytesIO(at.session_state["trained_model"].caches["bundle"]))
    report = json.loads(bundle.read("transfer_lab_model/report.json"))
    args = ["train", "--data", str(pets_folder), "--task", "folders", "--epochs", "4", "--views", "4",
            "--out", str(tmp_path / "cli" / "model.keras")]
    assert train_job(build_parser().parse_args(args)).to_json() == report["spec"]
    (tmp_path / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["run", str(tmp_path / "report.json"), "--json", "--out", str(tmp_path / "again")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["record"] for line in lines[-2:]] == ["evaluated", "assembled"]
    assert lines[-1]["val_accuracy"] == pytest.approx(report["val_accuracy"])
    assert lines[-1]["history"]["val_loss"] == pytest.approx(report["history"]["val_loss"], abs=1e-6)
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["confusion"] == report["confusion"] and again["spec"] == report["spec"]

