"""Your own classes: name two or more classes and fill each with photos (uploads or camera).

Photos live in this session only (``st.session_state``); their embeddings are
kept in memory, never in the shared on-disk cache.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.datasets import Dataset, Sample
from core.images import IMAGE_SUFFIXES, ImageInputError, center_crop_resize
from ui.common import Photo, decode_uploads, photo_from_bytes

CLASSES_KEY = "oc_classes"
MIN_PER_CLASS = 4
UNBALANCED_RATIO = 3.0


def _classes() -> list[dict]:
    """The session's classes: ``{"id", "name", "shots": [Photo]}``; two empty ones to start."""
    if CLASSES_KEY not in st.session_state:
        st.session_state[CLASSES_KEY] = [{"id": 0, "name": "class A", "shots": []},
                                         {"id": 1, "name": "class B", "shots": []}]
    return st.session_state[CLASSES_KEY]


def own_classes_ui() -> Dataset | None:
    """Draws the class editor; returns the dataset when every class has enough photos, else None."""
    classes = _classes()
    filled = []
    for cls in classes:
        with st.container(border=True):
            filled.append((cls, _class_editor(cls, removable=len(classes) > 2)))
    if st.button("➕ Add a class", key="oc_add"):
        next_id = max(c["id"] for c in classes) + 1
        classes.append({"id": next_id, "name": f"class {chr(65 + next_id % 26)}", "shots": []})
        st.rerun()
    return _dataset_or_none(filled)


def _class_editor(cls: dict, removable: bool) -> list[Photo]:
    """One class: its name, uploads, camera shots and thumbnails; returns its photos."""
    key = f"oc_{cls['id']}"
    top = st.columns([3, 1])
    cls["name"] = top[0].text_input("Class name", cls["name"], key=f"{key}_name").strip()
    if removable and top[1].button("Remove class", key=f"{key}_remove"):
        st.session_state[CLASSES_KEY] = [c for c in _classes() if c["id"] != cls["id"]]
        st.rerun()
    left, right = st.columns(2)
    uploads = left.file_uploader(f"Photos of {cls['name'] or 'this class'}", accept_multiple_files=True,
                                 key=f"{key}_upload", help="Several at once; remove one with its ✕.")
    with right:
        folder = st.text_input("…or add the photos of a folder", key=f"{key}_folder", placeholder="/path/to/photos",
                               help="For example one breed's photos from a dataset you downloaded.")
        if folder and st.button("Add these photos", key=f"{key}_add_folder"):
            cls["shots"].extend(_folder_photos(folder))
        if st.toggle("Use the camera", key=f"{key}_camera_on"):
            shot = st.camera_input("Take a photo", key=f"{key}_camera")
            if shot is not None and st.button("Add this shot", key=f"{key}_add_shot"):
                cls["shots"].extend(decode_uploads([shot]))
    photos = decode_uploads(uploads or []) + cls["shots"]
    _thumbnails(cls, photos, key)
    if len(photos) < MIN_PER_CLASS:
        st.caption(f"⚠️ {cls['name'] or 'This class'} needs at least {MIN_PER_CLASS} photos "
                   f"({len(photos)} so far).")
    return photos


def _thumbnails(cls: dict, photos: list[Photo], key: str) -> None:
    """Small square previews; camera shots get a remove button (uploads are removed in the uploader)."""
    if not photos:
        return
    cols = st.columns(8)
    shot_ids = {id(p) for p in cls["shots"]}
    for k, photo in enumerate(photos):
        with cols[k % 8]:
            st.image(center_crop_resize(photo.image, 96, 1.0), caption=photo.name[:18])
            if id(photo) in shot_ids and st.button("✕", key=f"{key}_drop_{k}", help="Remove this shot"):
                cls["shots"] = [p for p in cls["shots"] if p is not photo]
                st.rerun()


def _folder_photos(folder: str, limit: int = 200) -> list[Photo]:
    """The readable photos of a folder (not its sub-folders), at most ``limit``; problems are reported."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        st.error(f"{folder} is not a folder", icon="🚫")
        return []
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    photos = []
    for file in files:
        try:
            photos.append(photo_from_bytes(file.read_bytes(), file.name))
        except ImageInputError as exc:
            st.error(str(exc), icon="🚫")
    if not files:
        st.warning(f"{folder} has no photo files", icon="⚠️")
    return photos


def _dataset_or_none(filled: list[tuple[dict, list[Photo]]]) -> Dataset | None:
    """The photos as a Dataset, or None with messages saying what is missing."""
    names = [cls["name"] for cls, _ in filled]
    counts = [len(photos) for _, photos in filled]
    if any(not n for n in names) or len(set(names)) < len(names):
        st.info("Give every class a different name.", icon="👉")
        return None
    if min(counts) < MIN_PER_CLASS:
        st.info(f"Every class needs at least {MIN_PER_CLASS} photos to train.", icon="👉")
        return None
    if max(counts) > UNBALANCED_RATIO * min(counts):
        st.warning(f"The classes are very unbalanced ({max(counts)} vs {min(counts)} photos): the model may "
                   "favour the bigger class. Add photos to the small ones if you can.", icon="⚖️")
    samples = tuple(Sample(p.name, label, image=p.image, digest=p.digest)
                    for label, (_, photos) in enumerate(filled) for p in photos)
    return Dataset("your classes", "folders", tuple(names), samples)
