"""Transfer training in Chinese: no English sentence on the page after training, and switching to English
keeps the trained model. The check is the shared one (tests/i18n_text.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import open_page
from tests.i18n_text import chinese_left, english_left, rendered_texts

PAGE = "app_pages/transfer_training.py"


def _train_one_epoch(lang: str) -> AppTest:
    at = open_page(PAGE)
    at.query_params["lang"] = lang
    at.run()
    at.number_input(key="tt_epochs").set_value(1).run()
    at.button(key="tt_train").click().run()
    assert not at.exception
    return at


def test_the_page_speaks_chinese_after_training(fake_backbones):
    at = _train_one_epoch("zh")
    assert at.title[0].value == "🎓 迁移学习训练"
    metrics = {m.label for m in at.main.metric}
    assert "验证准确率" in metrics and "最佳轮次" in metrics
    texts = rendered_texts(at)
    assert any("猫" in text for text in texts)  # the classes (cat, dog) in the confusion matrix, in Chinese
    assert english_left(texts) == []


def test_switching_to_english_keeps_the_trained_model_and_shows_it_in_english(fake_backbones):
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
    assert chinese_left(texts) == []
    assert "cat" in " ".join(texts)
