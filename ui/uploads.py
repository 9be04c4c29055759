"""Uploads that belong to one session: their temporary folders, the classroom limits, and the janitor."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import streamlit as st

from core.data.session_files import discard, new_upload_folder, sweep
from ui.i18n import t
from ui.jobs import the_scheduler
from ui.session import session_id
from ui.settings import lab_settings
from ui.text import plain

LEDGER_KEY = "upload_ledger"
SWEEP_EVERY_S = 60.0
_last_sweep = {"at": 0.0}  # when this server process last swept; a clock, not a model
_sweep_lock = threading.Lock()


def uploads_root() -> Path:
    """The app's own temporary root (per server user); the only place uploads are extracted and deleted."""
    return Path(tempfile.gettempdir()) / f"transfer-lab-uploads-{os.getuid()}"


def folder_session_id() -> str:
    """This session's id as a folder name."""
    return _folder_safe(session_id())


def _folder_safe(identifier: str) -> str:
    """Streamlit's ids are UUIDs; anything else (AppTest's "test session id") becomes a plain folder name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", identifier)[:80]


def new_upload_dir(previous: str | None = None) -> Path:
    """A fresh folder for one upload of this session; the folder of the upload it replaces is deleted."""
    forget_upload_dir(previous)
    sweep_ended_sessions()
    return new_upload_folder(uploads_root(), folder_session_id())


def forget_upload_dir(folder: str | Path | None) -> None:
    """Deletes an upload folder made by ``new_upload_dir`` (anything else is left alone)."""
    discard(folder, uploads_root())


def sweep_ended_sessions(now: float | None = None) -> list[str]:
    """Removes upload folders of sessions the server no longer knows, and stops their jobs, at most once a
    minute."""
    now = time.monotonic() if now is None else now
    with _sweep_lock:
        if now - _last_sweep["at"] < SWEEP_EVERY_S:
            return []
        _last_sweep["at"] = now
    alive = _alive_sessions()
    if alive is None:
        return []
    the_scheduler().stop_orphans(alive | {session_id()})
    return sweep(uploads_root(), {_folder_safe(sid) for sid in alive} | {folder_session_id()})


def _alive_sessions() -> set[str] | None:
    """Ids of sessions the Streamlit server still holds (connected or waiting to reconnect); None without one."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    try:
        return {info.session.id for info in Runtime.instance()._session_mgr.list_sessions()}
    except Exception:  # a Streamlit internals change must not break uploads: skip this sweep
        logging.getLogger(__name__).exception("could not list Streamlit sessions; upload sweep skipped")
        return None


def allowance_words() -> str:
    """The teacher's per-session upload allowance, e.g. '20 MB and 50 photos' ('' when there is none)."""
    limits = lab_settings().limits
    if limits.max_upload_mb and limits.max_session_photos:
        return t("uploads.allowance_both", mb=limits.max_upload_mb, photos=limits.max_session_photos)
    if limits.max_upload_mb:
        return t("uploads.allowance_mb", mb=limits.max_upload_mb)
    if limits.max_session_photos:
        return t("uploads.allowance_photos", photos=limits.max_session_photos)
    return ""


def limits_help(text: str) -> str:
    """An uploader's help text, with the teacher's per-session limits in classroom mode."""
    allowance = allowance_words()
    return t("uploads.help_with_limits", text=text, allowance=allowance) if allowance else text


def within_limits(files, photos: bool = True) -> list:
    """The uploaded files this session may still use; the first one over a limit gets one message.

    Every file counts once per session (by its upload id), so reruns do not count it again.
    """
    limits = lab_settings().limits
    ledger = st.session_state.setdefault(LEDGER_KEY, {})
    kept = []
    for file in files:
        entry = ledger.get(file.file_id) or (file.size, int(photos))
        total_bytes = sum(b for key, (b, _) in ledger.items() if key != file.file_id) + entry[0]
        total_photos = sum(n for key, (_, n) in ledger.items() if key != file.file_id) + entry[1]
        if limits.max_upload_mb and total_bytes > limits.max_upload_mb * 1e6 or (
                limits.max_session_photos and total_photos > limits.max_session_photos):
            st.error(t("uploads.over_allowance", name=plain(file.name), allowance=allowance_words()), icon="🚫")
            break
        ledger[file.file_id] = entry
        kept.append(file)
    return kept
