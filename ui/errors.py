"""One line for the learner, the traceback for the server log: how the app reports a problem.

Core raises ``core.errors.LabError`` with a code and its arguments; ``problem_text`` shows the catalogue's
``lab_error.<code>`` entry in the learner's language (never core's English, never a server path). Anything
else is a bug: the learner reads its kind in a translated line, the server log gets the traceback.
"""

from __future__ import annotations

import logging

import streamlit as st

from core.errors import LabError
from ui.i18n import current_language, t, translate
from ui.text import plain

logger = logging.getLogger("transfer_lab")


def problem_text(exc: BaseException) -> str:
    """Why something was refused or failed, in this session's language."""
    if not isinstance(exc, LabError):
        logger.error("unexpected problem", exc_info=exc)
    return describe(exc, current_language())


def describe(exc: BaseException, lang: str) -> str:
    """A coded problem's catalogue entry in ``lang``, its text arguments shown as plain text; else its kind."""
    if isinstance(exc, LabError):
        params = {name: plain(value) if isinstance(value, str) else value for name, value in exc.params.items()}
        return translate(f"lab_error.{exc.code}", lang, **params)
    return translate("lab_error.unexpected", lang, kind=type(exc).__name__)


def report_failure(action: str, exc: BaseException) -> None:
    """Shows one line naming what failed and what to do; the traceback goes to the server log only.

    ``action`` is already in the learner's language, e.g. ``t("errors.this_page", page=...)``.
    """
    logger.error("%s failed", action, exc_info=exc)
    st.error(t("errors.failure", action=action, error=type(exc).__name__), icon="⚠️")
