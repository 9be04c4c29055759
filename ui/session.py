"""Which browser session this script run belongs to, and keeping its id to the server.

The id is the owner of the session's jobs and upload folders. Streamlit lets any client that presents a
session id reattach to it (the websocket's third subprotocol entry), so the id never appears in anything a
learner can read: folders are named by a keyed hash of it. In classroom mode a tab closed for
``CLOSED_GRACE_S`` can no longer be reattached by anyone (``Runtime.mark_session_nonresumable``, the hook
Streamlit uses for logout); a network blip shorter than that still reconnects to the same session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time

from streamlit.runtime.scriptrunner import get_script_run_ctx

CLOSED_GRACE_S = 20.0
CHECK_EVERY_S = 5.0
_SECRET = secrets.token_bytes(32)  # per server process: a folder name says nothing about the session id
_guard = {"started": False}
_guard_lock = threading.Lock()


def session_id() -> str:
    """This browser session's id (a fixed name outside a running server). Never show it to a learner."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def session_token(identifier: str | None = None) -> str:
    """A name for this session (or ``identifier``) that cannot be turned back into its id."""
    raw = (identifier if identifier is not None else session_id()).encode()
    return hmac.new(_SECRET, raw, hashlib.sha256).hexdigest()[:32]


def guard_closed_sessions(classroom: bool) -> bool:
    """Starts, once per process and in classroom mode only, the watch that refuses reattaching closed tabs."""
    if not classroom:
        return False
    with _guard_lock:
        if _guard["started"]:
            return False
        _guard["started"] = True
    threading.Thread(target=_watch, daemon=True, name="transfer-lab-closed-sessions").start()
    return True


def _watch() -> None:
    from streamlit.runtime import Runtime

    first_seen: dict[str, float] = {}
    while True:
        time.sleep(CHECK_EVERY_S)
        try:
            if Runtime.exists():
                refuse_closed(Runtime.instance(), first_seen, time.monotonic())
        except Exception:  # noqa: BLE001  a Streamlit internals change must not stop the server: log, go on
            logging.getLogger(__name__).exception("could not check closed sessions")


def refuse_closed(runtime, first_seen: dict[str, float], now: float) -> list[str]:
    """Marks sessions disconnected for ``CLOSED_GRACE_S`` or more as not resumable; returns their ids."""
    manager = runtime._session_mgr  # Streamlit has no public list of disconnected sessions
    active = {info.session.id for info in manager.list_active_sessions()}
    closed = {info.session.id for info in manager.list_sessions()} - active
    for gone in set(first_seen) - closed:
        del first_seen[gone]
    refused = []
    for identifier in sorted(closed):
        if now - first_seen.setdefault(identifier, now) >= CLOSED_GRACE_S:
            runtime.mark_session_nonresumable(identifier)
            refused.append(identifier)
    return refused
