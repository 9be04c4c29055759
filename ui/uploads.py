"""Uploads that belong to one session: their temporary folders, the classroom limits, and the janitor."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.data.archives import MAX_BYTES, ArchiveError, ArchiveTooBig, dataset_root, extract_zip
from core.data.session_files import discard, folder_bytes, new_upload_folder, sweep
from ui.errors import problem_text
from ui.i18n import t
from ui.jobs import the_scheduler
from ui.session import session_id, session_token
from ui.settings import lab_settings
from ui.state import session_uploads
from ui.text import plain

SWEEP_EVERY_S = 60.0
_last_sweep = {"at": 0.0}  # when this server process last swept; a clock, not a model
_sweep_lock = threading.Lock()


def uploads_root() -> Path:
    """The app's own temporary root (per server user); the only place uploads are extracted and deleted."""
    return Path(tempfile.gettempdir()) / f"transfer-lab-uploads-{os.getuid()}"


def folder_session_id() -> str:
    """This session's folder name: a keyed hash of its id, so a path that reaches a learner gives nothing away."""
    return session_token()


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
    return sweep(uploads_root(), {session_token(sid) for sid in alive} | {folder_session_id()})


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


def within_limits(files, photos: bool = True, key: str | None = None) -> list:
    """The uploaded files this session may still use; the first one over a limit gets one message.

    Every file counts once per session (by its upload id), so reruns do not count it again. Files over the
    allowance leave the server's memory; with the uploader's ``key`` (as passed to ``uploader_key``) the
    uploader is emptied too and the message is shown above it on the next run.
    """
    limits = lab_settings().limits
    ledger = session_uploads().ledger
    kept = []
    for file in files:
        entry = ledger.get(file.file_id) or (file.size, int(photos))
        total_bytes = sum(b for k, (b, _) in ledger.items() if k != file.file_id) + entry[0]
        total_photos = sum(n for k, (_, n) in ledger.items() if k != file.file_id) + entry[1]
        if limits.max_upload_mb and total_bytes > limits.max_upload_mb * 1e6 or (
                limits.max_session_photos and total_photos > limits.max_session_photos):
            if key is not None and len(files) > 1:  # the uploader is emptied: every file in it goes
                refuse(files, t("uploads.batch_over_allowance", count=len(files), allowance=allowance_words()), key)
            else:
                refuse(files[len(kept):], t("uploads.over_allowance", name=plain(file.name),
                                            allowance=allowance_words()), key)
            break
        ledger[file.file_id] = entry
        kept.append(file)
    return kept


def uploader_key(key: str) -> str:
    """The key to draw the uploader ``key`` with (a new one each time it was emptied); shows its last refusal."""
    message = session_uploads().refused.pop(key, None)
    if message:
        st.error(message, icon="🚫")
    count = session_uploads().resets.get(key, 0)
    return key if not count else f"{key}_{count}"


def refuse(files, message: str, key: str | None = None) -> None:
    """Drops refused uploads from the server's memory and the allowance, and says why; with ``key``, empties
    the uploader (and reruns, so the message shows above a fresh one)."""
    ctx = get_script_run_ctx()
    ledger = session_uploads().ledger
    for file in files:
        ledger.pop(file.file_id, None)  # gone from the server: it no longer uses the allowance
        if ctx is not None:
            ctx.uploaded_file_mgr.remove_file(ctx.session_id, file.file_id)
    if key is None:
        st.error(message, icon="🚫")
        return
    session_uploads().refused[key] = message
    resets = session_uploads().resets
    resets[key] = resets.get(key, 0) + 1
    st.rerun()


def charge(file_id: str, unpacked: int) -> None:
    """Counts what an upload unpacked to against the allowance (when more than its own size)."""
    ledger = session_uploads().ledger
    size, photos = ledger.get(file_id, (0, 0))
    ledger[file_id] = (max(size, unpacked), photos)


def unpack_budget(file_id: str) -> tuple[int, str]:
    """The most bytes an uploaded zip may unpack to, and which limit sets it: "session", "server" or ""."""
    limits = lab_settings().limits
    budgets = [(MAX_BYTES, "")]
    if limits.max_upload_mb:
        used = sum(b for k, (b, _) in session_uploads().ledger.items() if k != file_id)
        budgets.append((int(limits.max_upload_mb * 1e6) - used, "session"))
    if limits.max_uploads_total_mb:
        budgets.append((int(limits.max_uploads_total_mb * 1e6) - folder_bytes(uploads_root()), "server"))
    return min(budgets)


def unpack_zip(upload, folder: Path, key: str) -> Path | None:
    """Extracts an uploaded zip into ``folder`` within the session's allowance and the server's quota.

    Returns the dataset's root; None, with one line, when it cannot be used (over a limit, the upload also
    leaves the uploader and memory). Whatever goes wrong, the folder does not outlive a failed extraction.
    """
    budget, limit = unpack_budget(upload.file_id)
    unpacked = False
    try:
        root = dataset_root(extract_zip(upload, folder, max_bytes=max(budget, 0)))
        charge(upload.file_id, folder_bytes(folder))
        unpacked = True
        return root
    except ArchiveTooBig as exc:
        refuse([upload], _too_big(plain(upload.name), limit, budget, exc), key)
    except ArchiveError as exc:
        st.error(t("transfer.zip_refused", name=plain(upload.name), problem=problem_text(exc)), icon="🚫")
    except Exception:  # noqa: BLE001  any other failure is one line; the log keeps the details
        logging.getLogger(__name__).exception("unpacking an uploaded zip failed")
        st.error(t("transfer.zip_refused", name=plain(upload.name), problem=t("uploads.cannot_unpack")), icon="🚫")
    finally:
        if not unpacked:
            forget_upload_dir(folder)
    return None


def _too_big(name: str, limit: str, budget: int, exc: ArchiveTooBig) -> str:
    """Why a zip that unpacks to too much was refused: the server's quota, the session's allowance, or the cap.

    ``name`` is already plain text (``ui.text.plain``)."""
    if limit == "server":
        return t("uploads.server_full", name=name)
    if limit == "session":
        return t("uploads.unpacks_over_allowance", name=name, left=max(budget, 0) // 1_000_000,
                 allowance=allowance_words())
    return t("transfer.zip_refused", name=name, problem=problem_text(exc))
