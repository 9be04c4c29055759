"""The one folder chooser: a typed path on a learner's own computer, a list of shared folders in a classroom."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.safe_paths import FolderError, shared_folders, typed_folder
from ui.settings import lab_settings


@st.cache_data(ttl=60, show_spinner=False)
def _shared(roots: tuple[Path, ...]) -> dict[str, Path]:
    return shared_folders(roots)


def folder_ui(label: str, key: str, help: str = "", container=st) -> Path | None:
    """A folder to read photos from, or None (with one line saying why) when there is none yet.

    In classroom mode learners never type a path: they choose among the folders the teacher named
    in ``TRANSFER_LAB_DATA_DIRS`` and their sub-folders, shown by those names only.
    """
    settings = lab_settings()
    if settings.classroom:
        return _shared_folder_ui(label, key, help, settings.data_dirs, container)
    text = container.text_input(label, key=key, placeholder="~/Pictures/pets", help=help)
    if not text.strip():
        return None
    try:
        return typed_folder(text)
    except FolderError as exc:
        container.error(f"{exc}.", icon="🚫")
        return None


def _shared_folder_ui(label, key, help, roots, container) -> Path | None:
    folders = _shared(roots)
    if not folders:
        container.info("Your teacher has not shared a folder of photos on this server; upload photos or a .zip "
                       "instead.", icon="🏫")
        return None
    name = container.selectbox(label, list(folders), index=None, key=key, placeholder="Choose a shared folder",
                               help=(help + " " if help else "") + "Folders your teacher shared with the class.")
    return folders[name] if name else None
