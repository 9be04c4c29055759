"""One line for the learner, the traceback for the server log: how the app reports what it did not expect."""

from __future__ import annotations

import logging

import streamlit as st

logger = logging.getLogger("transfer_lab")


def report_failure(action: str, exc: BaseException) -> None:
    """Shows one line naming what failed and what to do; the traceback goes to the server log only."""
    logger.error("%s failed", action, exc_info=exc)
    st.error(f"{action} did not work ({type(exc).__name__}). Nothing you made was lost; try again, or tell "
             "your teacher if it keeps happening.", icon="⚠️")

