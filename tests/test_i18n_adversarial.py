"""The Adversarial dog page in Chinese (and English) on mock networks: after the attack, the transfer check and
the sweep, no English sentence is left in what the page renders.

The check is the shared one (tests/i18n_text.py).
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests import test_adversarial_jobs
from tests.conftest import ROOT
from tests.i18n_text import chinese_left, english_left, rendered_texts

mock_attackers = test_adversarial_jobs.mock_attackers  # the mock networks' fixtures, shared with the page tests
mock_networks = test_adversarial_jobs.mock_networks
shared_mocks = test_adversarial_jobs.shared_mocks

PAGE = "app_pages/adversarial_dog.py"


def _open(lang: str, monkeypatch) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    return at.switch_page(PAGE).run()


def _drive(at: AppTest, shared_data) -> AppTest:
    """The page's main actions: attack, transfer check, a sweep over a folder."""
    at.slider(key="adv_steps").set_value(3).run()
    at.button(key="adv_run").click().run()
    at.button(key="adv_transfer_run").click().run()
    at.text_input(key="adv_sweep_folder").set_value(str(shared_data / "singles")).run()
    at.multiselect(key="adv_sweep_eps").set_value([0, 4]).run()
    at.slider(key="adv_sweep_limit").set_value(2).run()
    at.button(key="adv_sweep_run").click().run()
    assert not at.exception, at.exception
    result = at.session_state["adversarial"]
    assert result.result.transfer and result.sweep.curve  # every section has drawn its result
    return at


def test_the_page_in_chinese_has_no_english_sentence_after_the_attack_transfer_and_sweep(
        monkeypatch, mock_networks, shared_data):
    at = _drive(_open("zh", monkeypatch), shared_data)
    texts = rendered_texts(at)
    assert len(texts) > 60  # the collector sees the page, not an empty shell
    assert any("攻击成功" in t or "攻击没有达到目标" in t for t in texts)
    assert english_left(texts) == []


def test_the_page_in_english_has_no_chinese(monkeypatch, mock_networks, shared_data):
    at = _drive(_open("en", monkeypatch), shared_data)
    texts = rendered_texts(at)
    assert any("The attack worked" in t or "did not reach its target" in t for t in texts)
    assert chinese_left(texts) == []


def test_the_search_finds_a_class_typed_in_chinese_and_names_it_in_chinese(monkeypatch, mock_networks):
    at = _open("zh", monkeypatch)
    at.selectbox(key="adv_target").set_value("search").run()
    at.text_input(key="adv_class_query").set_value("斑马").run()
    picker = at.selectbox(key="adv_class")
    assert picker.value == 340 and picker.options[0] == "斑马（类别 340）"
    at.query_params["lang"] = "en"
    at.run()
    assert at.selectbox(key="adv_class").value == 340  # switching the language keeps the choice
