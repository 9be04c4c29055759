"""Adversarial dog, app layer: cached attackers, targets in words and photos from folders.

The page (app_pages/adversarial_dog.py) is an outline; ui/adversarial_attack.py draws the attack,
ui/adversarial_checks.py the survival, transfer and sweep sections, ui/adversarial_charts.py the charts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from core.attack.attack import Attacker
from core.data.images import IMAGE_SUFFIXES, ImageInputError, load_image_file
from core.data.safe_paths import stays_inside
from core.models.backbones import get_spec
from core.models.class_names import class_name
from core.work import shared
from core.work.adversarial import prepared
from core.work.store import default_store
from ui.backbones import backbone_availability, stored_model
from ui.errors import problem_text
from ui.i18n import current_language, learner_class, t
from ui.photos import Photo
from ui.state import TrainedModel
from ui.targets import Target
from ui.text import plain


def imagenet_attacker(name: str) -> Attacker:
    """The attacker of an ImageNet backbone (``core.work.shared.attackers``), with a spinner the first time."""
    with st.spinner(t("adversarial.preparing", network=get_spec(name).display_name)):
        return shared.attackers(name)


def trained_attacker(trained: TrainedModel) -> Attacker:
    """The attacker of the learner's own classifier, shared by its store key (the jobs use the same one)."""
    with st.spinner(t("adversarial.preparing_own")):
        return shared.attacker_for(default_store(), trained.backbone or "", stored_model(trained))


def prepare_for(attacker: Attacker, backbone_name: str | None, image: np.ndarray) -> np.ndarray:
    """The photo as the attacked network sees it (core's ``prepared``: the jobs crop the same way)."""
    return prepared(attacker, backbone_name or "", image)


def other_available_backbones(current: str) -> list[str]:
    """Every backbone that works offline here, except the attacked one."""
    return [name for name, (ok, _) in backbone_availability().items() if ok and name != current]


def class_label(index: int, labels: tuple[str, ...] | None) -> str:
    """A class as the learner reads it: their own class name as typed, or the ImageNet name in their language."""
    return learner_class(labels[index]) if labels is not None else class_name(index, current_language())


def target_label(target: Target, labels: tuple[str, ...] | None) -> str:
    """The target in words, in the learner's language."""
    if target.untargeted:
        return t("adversarial.target_anything_else")
    if target.group == "any_cat":
        return t("adversarial.target_any_cat_short")
    return class_label(target.classes[0], labels)


def folder_images(folder: str) -> list[Path]:
    """Image files directly inside a folder, sorted; raises ValueError with a translated message."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ValueError(t("adversarial.not_a_folder", name=plain(path.name)))
    try:
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and stays_inside(p, path))  # a link to a photo elsewhere is never read
    except OSError:
        raise ValueError(t("adversarial.folder_unreadable", name=plain(path.name))) from None
    if not files:
        raise ValueError(t("adversarial.folder_empty", name=plain(path.name), suffixes=", ".join(IMAGE_SUFFIXES)))
    return files


def read_photo(path: Path) -> Photo | None:
    """Reads one photo file, reporting an unreadable one with st.error."""
    try:
        image = load_image_file(path)
    except ImageInputError as exc:
        st.error(t("adversarial.bad_photo", name=plain(path.name), problem=problem_text(exc)), icon="🚫")
        return None
    return Photo(path.name, image, hashlib.sha1(image.tobytes()).hexdigest())
