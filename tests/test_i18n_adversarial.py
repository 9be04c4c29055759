"""The Adversarial dog page in Chinese (and English) on mock networks: after the attack, the transfer check and
the sweep, no English sentence is left in what the page renders.

The "no English sentence" heuristic is written here until the shared one (tests/i18n_text.py, from the pages
helper) is merged; it then replaces ``english_sentences`` below.
"""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from tests import test_adversarial_jobs
from tests.conftest import ROOT

mock_attackers = test_adversarial_jobs.mock_attackers  # the mock networks' fixtures, shared with the page tests
mock_networks = test_adversarial_jobs.mock_networks
shared_mocks = test_adversarial_jobs.shared_mocks

PAGE = "app_pages/adversarial_dog.py"
CJK = re.compile(r"[\u3400-\u9fff]")
# Proper names and units that stay as they are in both languages (phase B plan).
ALLOWED = re.compile(r"EfficientNet-Lite\d|ImageNet|Grad-CAM|PGD|FGSM|Keras|TensorFlow|PyTorch|CNN|top-5|"
                     r"Oxford-IIIT Pet|scikit-image|L-inf|L2|"
                     r"JPEG|PNG|CC BY-SA|Tiny\d+|\S+\.(?:png|jpe?g)|\bpx\b|epsilon|"
                     r"<extra></extra>|%\{[^}]*\}")
SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[^A-Za-z\u3400-\u9fff]+[A-Za-z]{2,}){2,}")  # >= 3 English words in a row


def _open(lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    return at.switch_page(PAGE).run()


def _figure_texts(spec: str) -> list[str]:
    figure = json.loads(spec)
    layout, texts = figure.get("layout", {}), []
    for part in (layout, layout.get("xaxis", {}), layout.get("yaxis", {})):
        title = part.get("title")
        texts.append(title.get("text", "") if isinstance(title, dict) else title or "")
    for trace in figure.get("data", []):
        texts += [str(v) for v in trace.get("y", []) if isinstance(v, str)]
        texts += [trace.get("hovertemplate", "")] + [str(v) for v in trace.get("customdata", [])]
    return texts


def rendered_texts(at: AppTest) -> list[str]:
    """Every learner-facing text of the page's main area: elements, widget labels and help, tables, charts."""
    main = at.main
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                                  "success") for e in main.get(kind)]
    for kind in ("button", "slider", "selectbox", "radio", "multiselect", "text_input", "checkbox", "number_input",
                 "download_button", "expander", "button_group"):
        for widget in main.get(kind):
            label = widget.proto.label if kind == "button_group" else widget.label
            texts += [label or "", getattr(widget, "help", "") or ""]
            if kind in ("selectbox", "radio", "multiselect"):
                texts += [str(o) for o in widget.options]
    for frame in main.get("dataframe"):  # headers and cells; the first column may hold network names
        table = frame.value
        texts += [str(c) for c in table.columns] + [str(v) for v in table.iloc[:, 1:].values.flat]
    texts += [t for chart in main.get("plotly_chart") for t in _figure_texts(chart.proto.spec)]
    texts += [img.caption for element in main.get("image") for img in element.proto.imgs]
    return [t for t in texts if t and t.strip()]


def english_sentences(texts: list[str]) -> list[str]:
    """Texts with a run of three English words, or with Latin letters and no Chinese at all."""
    found = []
    for text in texts:
        rest = ALLOWED.sub(" ", text)
        if SENTENCE.search(rest) or (re.search(r"[A-Za-z]{2,}", rest) and not CJK.search(text)):
            found.append(text)
    return found


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


def test_the_page_in_chinese_has_no_english_sentence_after_the_attack_transfer_and_sweep(mock_networks, shared_data):
    at = _drive(_open("zh"), shared_data)
    texts = rendered_texts(at)
    assert len(texts) > 60  # the collector sees the page, not an empty shell
    assert any("攻击成功" in t or "攻击没有达到目标" in t for t in texts)
    assert english_sentences(texts) == []


def test_the_page_in_english_has_no_chinese(mock_networks, shared_data):
    at = _drive(_open("en"), shared_data)
    texts = rendered_texts(at)
    assert any("The attack worked" in t or "did not reach its target" in t for t in texts)
    assert [t for t in texts if CJK.search(t)] == []


def test_the_search_finds_a_class_typed_in_chinese_and_names_it_in_chinese(mock_networks):
    at = _open("zh")
    at.selectbox(key="adv_target").set_value("search").run()
    at.text_input(key="adv_class_query").set_value("斑马").run()
    picker = at.selectbox(key="adv_class")
    assert picker.value == 340 and picker.options[0] == "斑马（类别 340）"
    at.query_params["lang"] = "en"
    at.run()
    assert at.selectbox(key="adv_class").value == 340  # switching the language keeps the choice


def test_the_heuristic_catches_an_english_sentence_and_a_latin_only_label():
    assert english_sentences(["Run the attack now", "攻击"]) == ["Run the attack now"]
    assert english_sentences(["Target"]) == ["Target"]
    assert english_sentences(["用 PGD 攻向暹罗猫，EfficientNet-Lite0", "ε 4：50%"]) == []
