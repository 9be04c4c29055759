"""The one folder chooser: a typed path on a learner's own computer, a list of shared folders in a classroom."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data.safe_paths import FolderError, shared_folders, typed_folder
from ui.errors import problem_text
from ui.i18n import t
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
    text = container.text_input(label, key=key, placeholder=t("folders.placeholder"), help=help)
    if not text.strip():
        return None
    try:
        return typed_folder(text)
    except FolderError as exc:
        container.error(t("common.bad_input", problem=problem_text(exc)), icon="🚫")
        return None




def _shared_folder_ui(label, key, help, roots, container) -> Path | None:
    folders = _shared(roots)
    if not folders:
        container.info(t("folders.none_shared"), icon="🏫")
        return None
    name = container.selectbox(label, list(folders), index=None, key=key, placeholder=t("folders.choose"),
                               help=t("folders.shared_help", help=help) if help else t("folders.shared_help_alone"))
    return folders[name] if name else None
