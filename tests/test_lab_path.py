"""The path through the lab: what Home says was done, and the link at the end of every page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import open_page
from ui.lab_path import STEPS, done_so_far, next_step_ui
from ui.state import ADVERSARIAL, IDEAL, TRANSFER, VISITED, AdversarialState, IdealPage, TransferPage, TransferRun


def _runs(*accuracies: float) -> TransferPage:
    return TransferPage(runs=[TransferRun(i, SimpleNamespace(evaluation=SimpleNamespace(accuracy=a)), "pets", "species")
                              for i, a in enumerate(accuracies, start=1)])


def test_nothing_done_in_a_new_session():
    assert done_so_far({}) == {step.page: "" for step in STEPS}


def test_done_so_far_reads_the_pages_own_state():
    attacked = AdversarialState(result=SimpleNamespace(photo="Leonberger dog", config=SimpleNamespace(eps=2)))
    state = {VISITED: {"home", "feature_maps"}, TRANSFER: _runs(0.5, 0.875), IDEAL: IdealPage(gallery=[object()]),
             ADVERSARIAL: attacked}
    done = done_so_far(state)
    assert done["feature_maps"] == "seen"
    assert done["transfer_training"] == "2 runs, best validation accuracy 88%"
    assert done["ideal_cat"] == "1 image made"
    assert done["adversarial_dog"] == "attacked Leonberger dog (epsilon 2)"


def test_an_unknown_page_is_refused_before_anything_is_drawn():
    with pytest.raises(ValueError, match="ideal_dog"):
        next_step_ui("ideal_dog")


def _links(at) -> list[str]:
    return [link.proto.label for link in at.get("page_link")]


@pytest.mark.real_backbone
def test_home_shows_the_four_steps_and_each_page_links_to_the_next():
    at = open_page("app_pages/home.py")
    assert not at.exception
    links = _links(at)
    assert [label.split(". ", 1)[1] for label in links[:4]] == ["Feature maps", "Transfer training", "Ideal cat",
                                                               "Adversarial dog"]
    assert links[-1].startswith("Next: Feature maps")
    at.switch_page("app_pages/feature_maps.py").run()
    assert _links(at)[-1].startswith("Next: Transfer training")
    at.switch_page("app_pages/home.py").run()
    assert any(m.value == "✅ seen" for m in at.markdown)  # Feature maps, seen in this session


def test_done_so_far_speaks_the_learners_language():
    state = {VISITED: {"feature_maps"}, IDEAL: IdealPage(gallery=[object(), object()]),
             TRANSFER: _runs(0.75)}
    done = done_so_far(state, "zh")
    assert done["feature_maps"] == "已看过"
    assert done["ideal_cat"] == "已生成 2 张图像"
    assert done["transfer_training"] == "训练 1 次，最佳验证准确率 75%"
