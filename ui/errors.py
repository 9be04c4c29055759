"""One line for the learner, the traceback for the server log: how the app reports what it did not expect.

Core's messages are the CLI's English; the learner reads them in their language: known problems map to
catalogue entries, anything else is shown after a translated lead-in.
"""

from __future__ import annotations

import logging
import re

import streamlit as st

from ui.i18n import t

logger = logging.getLogger("transfer_lab")

# core.data.images' ImageInputError messages, each a pattern of its English words -> the learner's sentence.
_PHOTO_PROBLEMS = (
    (re.compile(r"is not an image"), "errors.not_an_image"),
    (re.compile(r"is damaged or cut short"), "errors.damaged_photo"),
    (re.compile(r"too many pixels|pixels, more than"), "errors.too_many_pixels"),
    (re.compile(r"is empty \(0 bytes\)"), "errors.empty_file"),
    (re.compile(r"MB; the limit is (\d+) MB"), "errors.file_too_large"),
)


def photo_problem(name: str, exc: BaseException) -> str:
    """The one line saying why the file ``name`` is not a usable photo, in the learner's language."""
    message = str(exc)
    for pattern, key in _PHOTO_PROBLEMS:
        found = pattern.search(message)
        if found:
            return _photo_line(key, name, found)
    return t("errors.photo_unreadable", name=name, problem=message)


def _photo_line(key: str, name: str, found: re.Match) -> str:
    # literal keys, so the catalogue test sees each one used
    lines = {
        "errors.not_an_image": lambda: t("errors.not_an_image", name=name),
        "errors.damaged_photo": lambda: t("errors.damaged_photo", name=name),
        "errors.too_many_pixels": lambda: t("errors.too_many_pixels", name=name),
        "errors.empty_file": lambda: t("errors.empty_file", name=name),
        "errors.file_too_large": lambda: t("errors.file_too_large", name=name, limit=found.group(1)),
    }
    return lines[key]()


def report_failure(action: str, exc: BaseException) -> None:
    """Shows one line naming what failed and what to do; the traceback goes to the server log only.

    ``action`` is already in the learner's language, e.g. ``t("errors.this_page", page=...)``.
    """
    logger.error("%s failed", action, exc_info=exc)
    st.error(t("errors.failure", action=action, error=type(exc).__name__), icon="⚠️")
