"""The typed session state: one key per thing, derived objects die with their model, work is not lost silently."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.state import TrainedModel


def _script():
    import streamlit as st

    from ui import state

    if st.session_state.get("step") is None:
        st.session_state["step"] = 0
        state.set_trained(state.TrainedModel(model="m1", classes=["cat", "dog"], backbone="b", fine_tuned=True))
    first = state.trained()
    st.write(f"loses={state.replacing_loses_work()}")
    made = first.cached("flat", lambda: ["made", len(first.caches)])
    st.write(f"cached={made}")
    if st.session_state["step"] == 1:
        state.mark_downloaded()
        st.write(f"after download loses={state.replacing_loses_work()} same={state.trained().model == 'm1'}")
    if st.session_state["step"] == 2:
        state.set_trained(state.TrainedModel(model="m2", classes=("a",), backbone=None))
        st.write(f"new caches={state.trained().caches}")
    counter = state.page_state("counter", lambda: {"n": 0})
    counter["n"] += 1
    st.write(f"runs={counter['n']}")
    st.session_state["step"] += 1


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_trained_model_state_across_reruns():
    at = AppTest.from_function(_script, default_timeout=60).run()  # the default 3 s is too short on a busy machine
    assert _texts(at) == ["loses=True", "cached=['made', 0]", "runs=1"]
    at.run()
    assert "after download loses=False same=True" in _texts(at)
    assert "cached=['made', 0]" in _texts(at), "a derived object is made once per model"
    at.run()
    assert "new caches={}" in _texts(at), "a new model starts without the old model's derived objects"
    assert "runs=3" in _texts(at), "a page's own state object persists across reruns"


def test_a_trained_model_needs_classes_and_keeps_them_immutable():
    with pytest.raises(ValueError, match="at least one class"):
        TrainedModel(model=None, classes=[], backbone=None)
    assert TrainedModel(model=None, classes=["x", "y"], backbone=None).classes == ("x", "y")


def test_the_own_classes_seed_can_be_set_and_survives_its_widget_being_hidden(fake_backbones):
    """Streamlit drops a widget's value on a run that does not draw it: the seed lives in the page's state."""
    from tests.conftest import open_page

    at = open_page("app_pages/transfer_training.py")
    at.number_input(key="tt_seed").set_value(7).run()
    at.segmented_control(key="tt_mode").set_value("own").run()
    assert at.number_input(key="tt_seed").value == 7  # the own classes draw the seed too
    at.number_input(key="tt_seed").set_value(11).run()
    at.switch_page("app_pages/home.py").run()  # no seed widget on this run: its key is dropped
    at.switch_page("app_pages/transfer_training.py").run()
    assert not at.exception
    assert at.session_state["transfer_page"].seed == 11 and at.number_input(key="tt_seed").value == 11


def test_only_ui_state_touches_the_session_state():
    """Every session key is spelled once, in ui/state.py: no page or widget module reads or writes raw keys."""
    from tests.conftest import ROOT

    sources = [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    raw = [str(path.relative_to(ROOT)) for path in sources
           if path.name != "state.py" and "session_state" in path.read_text(encoding="utf-8")]
    assert raw == []
