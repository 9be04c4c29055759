"""One line for the learner, the traceback for the server log: how the app reports what it did not expect."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

logger = logging.getLogger("transfer_lab")


def report_failure(action: str, exc: BaseException) -> None:
    """Shows one line naming what failed and what to do; the traceback goes to the server log only."""
    logger.error("%s failed", action, exc_info=exc)
    st.error(f"{action} did not work ({type(exc).__name__}). Nothing you made was lost; try again, or tell "
             "your teacher if it keeps happening.", icon="⚠️")


@contextlib.contextmanager
def one_line_errors(action: str):
    """Runs a block; any error becomes ``report_failure``'s line (st.stop and reruns pass through)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001  the boundary between the app and a learner
        report_failure(action, exc)
