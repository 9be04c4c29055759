"""The one "no English sentence left" check of a page rendered by AppTest (issues 14 and 21).

``rendered_texts(at)`` gathers every text a learner reads: markdown, titles, captions, alerts, widget labels,
help, options and placeholders, expander and tab labels, table headers and cells, and the Plotly figures'
titles, axis titles, tick text, trace names, category labels and hover templates.

``english_left(texts)`` returns the ones that still read as English: after removing proper names, file names,
code spans and Plotly placeholders, a text fails when it has a run of three or more ASCII words, or Latin letters
and no Chinese at all. ``chinese_left(texts)`` is the check for English pages. Every language test uses these
two (tests/test_i18n_text.py tests the checks themselves).
"""

from __future__ import annotations

import json
import re

import pandas as pd

CJK = re.compile(r"[\u3400-\u9fff]")
# Names that stay as they are in every language, and only those a Chinese page needs: each entry rescues a text
# the pages really show (a backbone or method alone as an option, a sample's source and licence, a size in MB,
# Plotly's hover suffix, the language switch). A name beside Chinese words needs no entry: one Latin word passes.
PROPER_NAMES = ("EfficientNet-Lite", "PGD", "FGSM", "Oxford-IIIT Pet", "CC BY-SA", "CC0", "MB", "<extra></extra>",
                "English")
FILE_NAME = re.compile(r"\b[\w.-]+\.(?:jpe?g|png|gif|webp|bmp|tiff?|zip|keras|csv|mat)\b", re.IGNORECASE)
CODE_SPAN = re.compile(r"`[^`]*`")
PLOTLY_TEMPLATE = re.compile(r"%\{[^}]*\}")
ASCII_WORD_RUN = re.compile(r"[A-Za-z]{2,}(?:[\s,;:'’\"()/-]+[A-Za-z]{2,}){2,}")
# proto fields holding ids, styles or data, never words for the learner
NOT_TEXT = {"id", "form_id", "type", "width", "height", "url", "theme", "icon", "data", "spec", "key",
            "element_id", "format", "selection_mode", "args", "page_script_hash", "page", "value_type",
            "default", "label_visibility", "color", "mime", "file_name", "markdown_url", "src", "bucket",
            "use_container_width", "tag", "vertical_alignment", "gap", "border", "alt", "link", "config", "style",
            "code_text", "language"}  # a code block is Python in every language


def _proto_strings(message) -> list[str]:
    out = []
    for field, value in message.ListFields():
        if field.name in NOT_TEXT:
            continue
        repeated = not isinstance(value, (str, bytes)) and hasattr(value, "__len__")
        repeated = repeated and not hasattr(value, "ListFields")  # a message has no len, a repeated field has
        values = list(value) if repeated else [value]
        for item in values:
            if isinstance(item, str):
                out.append(item)
            elif hasattr(item, "ListFields"):
                out.extend(_proto_strings(item))
    return out


def _figure_strings(spec: str) -> list[str]:
    figure = json.loads(spec)
    out = []

    def walk(node, name=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("template", "x", "customdata", "marker", "line", "hoverlabel", "font"):
                    continue
                walk(value, key)
        elif isinstance(node, list):
            for item in node:
                walk(item, name)
        elif isinstance(node, str) and name in ("text", "title", "name", "ticktext", "y", "hovertemplate"):
            out.append(node)

    walk(figure.get("data", []))
    walk(figure.get("layout", {}))
    return out


def _table_strings(element) -> list[str]:
    frame = element.value if hasattr(element, "value") else None
    if not isinstance(frame, pd.DataFrame):
        return []
    cells = [str(v) for v in frame.to_numpy().ravel() if isinstance(v, str)]
    return [str(c) for c in frame.columns] + cells


def rendered_texts(at) -> list[str]:
    """Every learner-facing string AppTest rendered, main area and sidebar."""
    texts = []

    def visit(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind == "plotly_chart":
            texts.extend(_figure_strings(proto.spec))
        elif kind in ("table", "dataframe", "arrow_data_frame"):
            texts.extend(_table_strings(node))
        elif proto is not None and hasattr(proto, "ListFields"):
            texts.extend(_proto_strings(proto))
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at._tree)
    # a <style> block (the CSS that puts the catalogue's words on Streamlit's own widgets) is not read by anyone
    return [text for text in texts if text.strip() and not text.lstrip().startswith("<style>")]


def _strip_allowed(text: str) -> str:
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    for pattern in (CODE_SPAN, FILE_NAME, PLOTLY_TEMPLATE):
        text = pattern.sub(" ", text)
    return text


def english_left(texts: list[str]) -> list[str]:
    """Texts that still read as English on a Chinese page."""
    bad = []
    for text in texts:
        rest = _strip_allowed(text)
        if ASCII_WORD_RUN.search(rest) or (re.search(r"[A-Za-z]{2,}", rest) and not CJK.search(text)):
            bad.append(text)
    return bad


def chinese_left(texts: list[str], allowed: tuple[str, ...] = ("中文", "语言")) -> list[str]:
    """Texts with Chinese on an English page (the language switch's own names allowed)."""
    bad = []
    for text in texts:
        rest = text
        for word in allowed:
            rest = rest.replace(word, "")
        if CJK.search(rest):
            bad.append(text)
    return bad
