"""Transfer training in Chinese: no English sentence on the page after training, and switching to English
keeps the trained model.

The "no English sentence" heuristic lives here until tests/i18n_text.py (the pages helper's) is merged.
"""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from tests.conftest import open_page
from tests.transfer_mocks import mocked_backbones

PAGE = "app_pages/transfer_training.py"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Proper names, code, file names, numbers and units may stay as they are (i18n-phaseB.md).
ALLOWED = re.compile(
    r"EfficientNet-Lite\d|ImageNet|Grad-CAM|PGD|Keras|TensorFlow Lite|TensorFlow|PyTorch|CNN|top-5|"
    r"Oxford-IIIT Pet|Oxford|softmax|Dropout|`[^`]*`|<[^>]*>|%\{[^}]*\}|\S+\.(?:jpg|png|zip|keras|txt|tflite|py)\b|"
    r"https?://\S+|\b\d[\d.,:%]*\s*(?:MB|px|s|ms)?\b|\b(?:MB|px)\b")
# Texts drawn by shared modules another helper converts (ui/common.py, ui/jobs.py, ui/lab_path.py, app.py):
# not this page's own words; remove an entry when its module speaks Chinese.
NOT_THIS_PAGE = re.compile(r"^(Upload photos|Upload|Photo source|Camera|Sample photo|Backbone|Mode: .*|Next: .*|"
                           r"Photos|.*lab.*)$", re.IGNORECASE)


def _plotly_texts(at: AppTest) -> list[str]:
    texts = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        texts += [a.get("text", "") for a in layout.get("annotations", [])]
        for name, axis in layout.items():
            if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
                texts.append((axis.get("title") or {}).get("text", ""))
                texts += [str(tick) for tick in axis.get("ticktext", [])]
        for trace in spec.get("data", []):
            texts += [str(trace.get("name") or ""), str(trace.get("hovertemplate") or "")]
            if trace.get("type") == "heatmap":
                texts += [str(label) for label in trace.get("x", [])]
    return texts


def rendered_texts(at: AppTest) -> list[str]:
    """Every text a learner reads in the main area: prose, messages, labels, help, tables and chart text."""
    texts = [e.value for kind in ("markdown", "title", "header", "subheader", "caption", "info", "warning", "error",
                                  "success") for e in getattr(at.main, kind)]
    for kind in ("button", "radio", "selectbox", "number_input", "slider", "select_slider", "toggle", "checkbox",
                 "text_input", "multiselect", "metric", "expander"):
        for widget in getattr(at.main, kind):
            texts += [widget.label, getattr(widget, "help", "") or ""]
            texts += [str(option) for option in getattr(widget, "options", [])]
    texts += [str(column) for frame in at.main.dataframe for column in frame.value.columns]
    texts += [e.proto.label for e in at.main.get("download_button")]
    return [text for text in texts + _plotly_texts(at) if text]


def english_sentences(texts: list[str]) -> list[str]:
    """Texts that read as English: three Latin words in a row, or Latin letters with no Chinese at all."""
    found = []
    for text in texts:
        rest = ALLOWED.sub(" ", text)
        if NOT_THIS_PAGE.match(text.strip()) or not re.search(r"[A-Za-z]{2,}", rest):
            continue
        if re.search(r"[A-Za-z]{2,}(?:[\s,.'’-]+[A-Za-z]{2,}){2,}", rest) or not CJK.search(text):
            found.append(text)
    return found


def _train_one_epoch(lang: str) -> AppTest:
    at = open_page(PAGE)
    at.query_params["lang"] = lang
    at.run()
    at.number_input(key="tt_epochs").set_value(1).run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    return at


def test_the_page_speaks_chinese_after_training(monkeypatch):
    with mocked_backbones(monkeypatch):
        at = _train_one_epoch("zh")
    assert at.title[0].value == "🎓 迁移学习训练"
    metrics = {m.label for m in at.main.metric}
    assert "验证准确率" in metrics and "最佳轮次" in metrics
    texts = rendered_texts(at)
    assert any("猫" in text for text in texts)  # the classes (cat, dog) in the confusion matrix, in Chinese
    assert english_sentences(texts) == []


def test_the_heuristic_catches_english_left_in_chinese():
    assert english_sentences(["Validation accuracy", "训练 the head on top", "验证准确率"]) == [
        "Validation accuracy", "训练 the head on top"]
    assert english_sentences(["EfficientNet-Lite0 的嵌入", "Bengal_12.jpg · 真实：猫", "5 MB"]) == []


def test_switching_to_english_keeps_the_trained_model_and_shows_it_in_english(monkeypatch):
    with mocked_backbones(monkeypatch):
        at = _train_one_epoch("zh")
        model = at.session_state["trained_model"]
        at.selectbox(key="tt_task_bundled_zh").set_value("breeds").run()
        at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    task = at.selectbox(key="tt_task_bundled_en")  # the choice made in Chinese, its words now English
    assert task.value == "breeds" and task.options == ["cat or dog", "by breed"]
    assert at.session_state["trained_model"] is model and len(at.session_state["transfer_page"].runs) == 1
    assert at.title[0].value == "🎓 Transfer training"
    assert {"Validation accuracy", "Best epoch"} <= {m.label for m in at.main.metric}
    texts = rendered_texts(at)
    assert [text for text in texts if CJK.search(text)] == []
    assert "cat" in " ".join(texts)
