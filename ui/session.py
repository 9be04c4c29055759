"""Which browser session this script run belongs to: the owner of its jobs and its upload folders."""

from __future__ import annotations

from streamlit.runtime.scriptrunner import get_script_run_ctx


def session_id() -> str:
    """This browser session's id (a fixed name outside a running server)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"
