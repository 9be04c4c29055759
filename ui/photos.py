"""The photos a learner gives: upload, camera or a bundled sample, decoded safely once and kept at the size the
networks use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from core.data.datasets import bundled_samples
from core.data.images import ImageInputError, load_image, load_image_file
from ui.errors import problem_text
from ui.i18n import t
from ui.state import session_uploads
from ui.uploads import limits_help, uploader_key, within_limits

SAMPLES = bundled_samples()
DOG_SAMPLE = "Leonberger dog (Oxford-IIIT Pet, CC BY-SA)"
# The largest backbone input (260 px) is the centre 87.5% of the shorter side, so 384 px loses nothing.
PHOTO_SHORT_SIDE = 384


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo a learner gave: its name, pixels and a content digest for cache keys."""

    name: str
    image: np.ndarray
    digest: str
    original_size: tuple[int, int] | None = None  # (width, height) before ``shrink``; None: not shrunk


def photo_from_bytes(data: bytes, name: str) -> Photo:
    """Decodes bytes safely into a Photo kept at the size the networks use (raises ImageInputError)."""
    image = load_image(data, name)
    return Photo(name, shrink(image), hashlib.sha1(data).hexdigest(), original_size=image.shape[1::-1])


def shrink(image: np.ndarray, short_side: int = PHOTO_SHORT_SIDE) -> np.ndarray:
    """The photo with its shorter side at most ``short_side`` pixels: a session holds a 12-megapixel photo
    as ~0.6 MB, not ~36 MB, and every network still sees its centre crop at full resolution."""
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


@st.cache_data(show_spinner=False)
def sample_image(label: str) -> np.ndarray:
    """One bundled sample photo (assets/samples), decoded once per process."""
    return load_image_file(SAMPLES[label])


def sample_photo(label: str) -> Photo:
    """A sample photo as a Photo, named in the learner's language."""
    image = sample_image(label)
    return Photo(sample_name(label), image, hashlib.sha1(image.tobytes()).hexdigest())


def sample_name(label: str) -> str:
    """A bundled sample's short name in the learner's language ('Chelsea the cat')."""
    names = {
        "Chelsea the cat": t("widgets.sample_chelsea"),
        "Bengal cat": t("widgets.sample_bengal"),
        "Leonberger dog": t("widgets.sample_leonberger"),
        "Samoyed dog": t("widgets.sample_samoyed"),
        "Coffee cup": t("widgets.sample_coffee"),
    }
    short = label.split(" (")[0]
    return names.get(short, short)


def sample_title(label: str) -> str:
    """A sample's name with its source and licence, e.g. 'Chelsea the cat (scikit-image, CC0)'."""
    source = label.partition(" (")[2].rstrip(")")
    return t("widgets.sample_with_source", name=sample_name(label), source=source) if source else sample_name(label)


def _source_names() -> dict[str, str]:
    return {"Upload": t("widgets.source_upload"), "Camera": t("widgets.source_camera"),
            "Sample photo": t("widgets.source_sample")}


def photo_input_ui(key: str, multiple: bool = True, default_sample: str | None = None) -> list[Photo]:
    """Upload, camera or sample: the photos a learner gives, with clear errors for bad files.

    Args:
        key: widget key prefix, unique per page.
        multiple: allow several uploads.
        default_sample: sample shown when nothing is uploaded.

    Returns:
        The readable photos, each kept with its shorter side at most ``PHOTO_SHORT_SIDE`` pixels; unreadable files are
        reported with ``st.error``.
    """
    # The option values stay English (stable ids, keyed widgets); only their shown names follow the language,
    # made in this run (format_func gets a dict's .get: AppTest calls it outside the script run).
    source = st.radio(t("widgets.photo_source"), ["Upload", "Camera", "Sample photo"], horizontal=True,
                      key=f"{key}_source", index=2 if default_sample else 0, format_func=_source_names().get)
    if source == "Sample photo":
        labels = list(SAMPLES)
        titles = {label: sample_title(label) for label in labels}
        label = st.selectbox(t("widgets.sample"), labels, key=f"{key}_sample", format_func=titles.get,
                             index=labels.index(default_sample) if default_sample in labels else 0)
        return [sample_photo(label)]
    if source == "Camera":
        shot = st.camera_input(t("widgets.take_photo"), key=f"{key}_camera")
        files = [shot] if shot is not None else []
    else:
        files = st.file_uploader(t("widgets.upload_photos") if multiple else t("widgets.upload_photo"),
                                 accept_multiple_files=multiple, key=uploader_key(f"{key}_upload"), type=None,
                                 help=limits_help(t("widgets.photo_formats")))
        files = (files or []) if multiple else ([files] if files else [])
        return decode_uploads(files, key=f"{key}_upload")
    return decode_uploads(files)


def decode_uploads(files, key: str | None = None) -> list[Photo]:
    """Decodes uploaded files, reporting each unreadable one and keeping the rest.

    With the uploader's ``key``, each upload is decoded once and kept (photo or problem) while the uploader
    holds it, so a rerun decodes nothing again; files over the allowance leave the uploader.
    """
    decoded = session_uploads().decoded
    before, now = decoded.get(key, {}), {}
    photos = []
    for file in within_limits(files, key=key):
        result = before.get(file.file_id) or _decode(file)
        now[file.file_id] = result
        if isinstance(result, Photo):
            photos.append(result)
        else:
            st.error(t("errors.not_used", problem=problem_text(result)), icon="🚫")
    if key is not None:
        decoded[key] = now
    return photos


def _decode(file) -> Photo | ImageInputError:
    try:
        return photo_from_bytes(file.getvalue(), file.name)
    except ImageInputError as exc:
        return exc
