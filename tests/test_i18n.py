"""The catalogues: complete in both languages, every key used, and the language chosen per session."""

import re
import string

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui.i18n import LANGUAGES, catalogue, language_from, translate

# t("key" ... (or translate("key", lang ...) in the code; a key built at run time belongs to a family listed below.
USAGE = re.compile(r"""\b(?:t|translate)\(\s*["']([a-z0-9_.]+)["']""")
# The lesson's glossary is not shown by itself: tests/test_glossary.py checks every entry uses it.
GLOSSARY = "term."
# Problems core reports by code: tests/test_lab_errors.py checks these keys are exactly core.errors.MESSAGES.
LAB_ERROR = "lab_error."


def _used_keys() -> set[str]:
    # the app's own code only: a virtual environment inside the checkout (.venv) has t("...") calls of its own
    sources = [ROOT / "app.py", *(p for folder in ("app_pages", "ui", "core") for p in (ROOT / folder).rglob("*.py"))]
    return {key for path in sources for key in USAGE.findall(path.read_text(encoding="utf-8"))}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_none_empty():
    english, chinese = catalogue("en"), catalogue("zh")
    assert set(english) == set(chinese)
    assert [key for key, text in {**english, **chinese}.items() if not text.strip()] == []


def test_chinese_entries_are_chinese_and_keep_the_placeholders():
    english, chinese = catalogue("en"), catalogue("zh")
    # an entry of placeholders and units alone ("{mb} MB", "{name}（{index}）") has no word to translate
    words = {key: re.sub(r"\{[^}]*\}|\bMB\b", "", text) for key, text in chinese.items()}
    english_only = [key for key, text in words.items()
                    if re.search(r"[A-Za-z]", text) and not re.search(r"[\u4e00-\u9fff]", text)]
    assert english_only == []
    assert {key for key in english if _placeholders(english[key]) != _placeholders(chinese[key])} == set()


def test_every_key_used_in_the_code_exists_and_every_entry_is_used():
    used, known = _used_keys(), set(catalogue("en"))
    assert used - known == set()
    unused = {key for key in known - used if not key.startswith((GLOSSARY, LAB_ERROR))}
    assert unused == set()


def test_translate_fills_named_placeholders():
    assert translate("path.done_runs", "zh", count=2, accuracy=0.8) == "训练 2 次，最佳验证准确率 80%"
    assert translate("path.done_runs", "en", count=2, accuracy=0.8) == "2 runs, best validation accuracy 80%"
    with pytest.raises(KeyError):
        translate("no.such.key", "en")
    with pytest.raises(ValueError):
        translate("app.title", "fr")


@pytest.mark.parametrize(
    ("query", "session", "locale", "expected"),
    [
        ("zh", "en", "en-US", "zh"),  # a shared link wins
        (None, "zh", "en-US", "zh"),  # the learner's switch survives a page change that drops the URL
        ("xx", None, "zh-CN", "zh"),  # a bad value is ignored, the browser decides
        (None, None, "zh-TW", "zh"),
        (None, None, "de-DE", "en"),
        (None, None, None, "en"),
    ],
)
def test_language_from_url_then_session_then_browser(query, session, locale, expected):
    assert language_from(query, session, locale) == expected


def _app(lang: str | None) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if lang:
        app.query_params["lang"] = lang
    return app.run()


@pytest.mark.real_backbone
def test_the_sidebar_speaks_the_language_of_the_link_and_the_switch_changes_it():
    app = _app("zh")
    assert not app.exception
    switch = app.sidebar.radio[0]
    assert switch.value == "zh"
    assert switch.options == list(LANGUAGES.values())
    switch.set_value("en").run()
    assert not app.exception
    assert app.session_state["lang"] == "en"
    assert app.sidebar.radio[0].value == "en"
    assert dict(app.query_params) == {"lang": "en"}
