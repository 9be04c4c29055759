"""Temporary folders that belong to one app session, and the sweep that removes those of ended sessions.

Streamlit has no end-of-session hook, so each session's uploads live under ``<root>/session-<id>/`` and a
periodic sweep deletes the folders of sessions the server no longer knows. Only folders with that prefix
under the app's own root are ever deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

PREFIX = "session-"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def session_folder(root: str | Path, session_id: str) -> Path:
    """The (created) folder of one session under ``root``; ``ValueError`` for an id that is not a plain name."""
    if not _SAFE_ID.match(session_id):
        raise ValueError(f"session id must be letters, digits, '-' or '_', got {session_id!r}")
    folder = Path(root) / f"{PREFIX}{session_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_upload_folder(root: str | Path, session_id: str, prefix: str = "upload-") -> Path:
    """A fresh, empty folder for one upload, inside its session's folder."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=session_folder(root, session_id)))


def discard(folder: str | Path | None, root: str | Path) -> bool:
    """Deletes an upload folder, but only one inside ``root`` (never a learner's or the teacher's folder)."""
    if not folder:
        return False
    folder, root = Path(folder).resolve(), Path(root).resolve()
    if root not in folder.parents or not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def sweep(root: str | Path, alive: Iterable[str]) -> list[str]:
    """Removes the folders of sessions not in ``alive``; returns the session ids removed."""
    root, alive = Path(root), set(alive)
    if not root.is_dir():
        return []
    removed = []
    for folder in root.iterdir():
        session = folder.name[len(PREFIX):]
        if folder.name.startswith(PREFIX) and session not in alive and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(session)
    return sorted(removed)


def folder_bytes(root: str | Path) -> int:
    """Bytes of the files under ``root`` (links not followed); 0 when it does not exist."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed meanwhile by another session's janitor
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
