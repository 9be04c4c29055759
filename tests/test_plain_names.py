"""Names a learner supplied are shown as text, never as Markdown or HTML (issue 20, break 10).

Streamlit renders Markdown in alerts, captions, labels and radio options; these tests render what the app
sends with a CommonMark renderer (markdown-it-py, the parser family Streamlit's react-markdown follows) and
require that no image, link or HTML element comes out of a learner's class, file or zip entry name.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from markdown_it import MarkdownIt

from tests.conftest import open_page
from ui.text import WORD_JOINER, plain

IMAGE_NAME = "![x](http://127.0.0.1:9/x.png)"
LINK_NAME = "[click](http://127.0.0.1:9/)"
HOSTILE = [IMAGE_NAME, LINK_NAME, "see http://127.0.0.1:9/a and www.example.com or me@example.com",
           "<img src=http://127.0.0.1:9/y.png>", "**bold** _it_ `code`", "# heading",
           ":red[colour] $x^2$ :smile:", "a\n\n![x](http://127.0.0.1:9/z.png)", "C:\\new\\[1]", "cats & dogs <3"]
_MARKDOWN = MarkdownIt("commonmark")
# Streamlit's remark-gfm also links a bare address in the text that is left once escapes are resolved.
_AUTOLINK = re.compile(r"(?i)https?://|ftp://|www\.|[\w.+-]@[\w-]")


def _html(text: str) -> str:
    return _MARKDOWN.renderInline(text) if "\n" not in text else _MARKDOWN.render(text)


def _links(text: str) -> bool:
    """An image or a link in the browser: Markdown's own, an HTML tag, or a bare address GFM would link."""
    html = _html(text)
    return "<img" in html or "<a " in html or bool(_AUTOLINK.search(html))


def _markup(text: str) -> bool:
    return _links(text) or any(tag in _html(text) for tag in ("<strong", "<em", "<code", "<h1"))


def _fetches(texts: list[str]) -> list[str]:
    """The texts that would make the browser show an image or a link to the learner's URL."""
    return [text for text in texts if "127.0.0.1" in text and _links(text)]


@pytest.mark.parametrize("name", HOSTILE)
def test_plain_names_render_as_exactly_their_text(name):
    html = _html(plain(name))
    assert not _markup(plain(name))
    assert "<" not in html.replace("&lt;", "")  # no element at all, only escaped text
    shown = html.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    assert shown.replace(WORD_JOINER, "") == re.sub(r"\n+", " ", name)


def test_the_unescaped_names_would_have_been_markup():
    assert _markup(IMAGE_NAME) and _markup(LINK_NAME)  # so the test above can fail


def _alert_and_caption_texts(at) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success]
    labels = [widget.label for kind in ("text_input", "button", "radio", "toggle") for widget in at.get(kind)]
    return [element.value for element in elements] + labels


def _symlink_zip(entry: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo(entry)
        link.external_attr = 0o120777 << 16  # a symbolic link: the refusal names the entry
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def test_a_zip_entry_name_in_a_chinese_refusal_is_text(tmp_path, monkeypatch):
    import ui.uploads

    monkeypatch.setattr(ui.uploads, "uploads_root", lambda: tmp_path / "uploads")
    at = open_page("app_pages/transfer_training.py")
    at.query_params["lang"] = "zh"
    at.run()
    at.radio(key="tt_source").set_value("zip").run()
    at.file_uploader(key="tt_zip").set_value((f"{LINK_NAME}.zip", _symlink_zip(f"cats/{LINK_NAME}.jpg"),
                                              "application/zip")).run()
    assert not at.exception
    refusal = [error.value for error in at.error]
    assert len(refusal) == 1 and "链接而不是文件" in refusal[0]  # the Chinese line, not core's English
    assert "symbolic link" not in refusal[0] and str(tmp_path) not in refusal[0]
    assert _fetches(_alert_and_caption_texts(at)) == []


def test_a_class_name_holding_an_image_is_text_on_the_page():
    at = open_page("app_pages/transfer_training.py")
    at.segmented_control(key="tt_mode").set_value("own").run()
    at.text_input(key="oc_0_name").input(IMAGE_NAME).run()
    assert not at.exception
    texts = _alert_and_caption_texts(at)
    assert any(plain(IMAGE_NAME) in text for text in texts)  # the name is shown ...
    assert _fetches(texts) == []  # ... and nowhere as an image or a link


def test_a_class_name_in_a_chart_is_text_not_a_plotly_link(monkeypatch):
    import ui.charts
    from core.models.predictions import Prediction
    from ui.text import chart_text

    monkeypatch.setattr(ui.charts, "current_language", lambda: "en")
    monkeypatch.setattr(ui.charts, "t", lambda key, **params: key)
    name = '<a href="http://127.0.0.1:9/">cats</a> & <b>dogs</b>'
    figure = ui.charts.top_k_chart([Prediction(0, name, 0.9), Prediction(1, "dog", 0.1)])
    shown = list(figure.data[0].y)
    assert chart_text(name) in shown and not any("<a" in label or "<b>" in label for label in shown)
    assert chart_text("dog") == "dog"  # ordinary names are untouched
