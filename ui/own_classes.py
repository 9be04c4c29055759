"""Your own classes: name two or more classes and fill each with photos (uploads, camera, or a dataset).

Photos live in this session only (``ui.state.OwnClass``); their embeddings are
kept in memory, never in the shared on-disk cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.data.datasets import Dataset, Sample, local_datasets
from core.data.images import IMAGE_SUFFIXES, ImageInputError, center_crop_resize, load_image_file
from core.data.safe_paths import stays_inside
from core.work.training import listed_dataset
from ui.errors import problem_text
from ui.folders import folder_ui
from ui.i18n import LANGUAGES, learner_class, t, translate
from ui.photos import Photo, decode_uploads, photo_from_bytes
from ui.settings import lab_settings
from ui.state import OwnClass, set_widget_value, transfer_page
from ui.text import plain
from ui.transfer_results import language_key, task_label
from ui.transfer_training import DATA_ERRORS
from ui.uploads import limits_help, uploader_key

MIN_PER_CLASS = 4
UNBALANCED_RATIO = 3.0
PICK_LIMIT = 100
PICK_TASKS = {"bundled": ["breeds", "species"], "folder": ["breeds", "species", "folders"],
              "oxford-pets": ["breeds", "species"], "cats-vs-dogs": ["species"]}


def _classes() -> list[OwnClass]:
    """The session's classes: ``{"id", "name", "shots": [Photo]}``; two empty ones to start.

    They live in the page's state, not in widget keys, so the photos survive a visit to another page.
    """
    page = transfer_page()
    if not page.own_classes:
        page.own_classes = [OwnClass(0, t("own_classes.default_name", letter="A")),
                            OwnClass(1, t("own_classes.default_name", letter="B"))]
    return page.own_classes


def _source_label(source: str) -> str:
    return {"bundled": t("own_classes.source_bundled"), "folder": t("own_classes.source_folder"),
            "oxford-pets": t("own_classes.source_oxford"), "cats-vs-dogs": t("own_classes.source_cats_dogs")}[source]


def own_classes_ui() -> Dataset | None:
    """Draws the class editor; returns the dataset when every class has enough photos, else None."""
    classes = _classes()
    _apply_renames(classes)
    filled = []
    for cls in classes:
        with st.container(border=True):
            filled.append((cls, _class_editor(cls, removable=len(classes) > 2)))
    most = lab_settings().limits.max_classes
    full = bool(most) and len(classes) >= most
    if full:
        st.caption(t("own_classes.max_classes", limit=most))
    if st.button(t("own_classes.add_class"), key="oc_add", disabled=full):
        next_id = max(c.id for c in classes) + 1
        classes.append(OwnClass(next_id, t("own_classes.default_name", letter=chr(65 + next_id % 26))))
        st.rerun()
    with st.expander(t("own_classes.pick_heading")):
        dataset_picker_ui(classes, [len(photos) for _, photos in filled])
    return _dataset_or_none(filled)


def _apply_renames(classes: list[OwnClass]) -> None:
    """Renames a class asked for on the previous run (a name widget cannot change once it is drawn)."""
    page = transfer_page()
    for class_id, name in page.own_renames.items():
        for cls in classes:
            if cls.id == class_id:
                cls.name = name
                set_widget_value(f"oc_{class_id}_name", name)
    page.own_renames = {}


def dataset_picker_ui(classes: list[OwnClass], have: list[int]) -> None:
    """Picks photos of one class of a folder or downloaded dataset and adds them to one of the learner's classes.

    ``have`` is how many photos each class has now: the target starts at the first class still short of photos.
    """
    page = transfer_page()
    if page.own_added_note:
        st.success(page.own_added_note, icon="✅")
        page.own_added_note = ""
    dataset = _pick_dataset_ui()
    if dataset is None:
        return
    counts = dataset.counts()
    left, right = st.columns(2)
    label = left.selectbox(t("own_classes.pick_class"), range(len(dataset.classes)), key=language_key("oc_pick_class"),
                           format_func=[t("own_classes.class_count", name=learner_class(name), count=counts[name])
                                        for name in dataset.classes].__getitem__)
    with right:
        cls = _target_ui(classes, have)
    samples = {s.name: s for s in dataset.samples if s.label == label}
    chosen = st.multiselect(t("own_classes.pick_photos", limit=PICK_LIMIT), list(samples), default=list(samples)[:8],
                            max_selections=PICK_LIMIT, key=f"oc_pick_photos_{dataset.name}_{label}")
    _previews([samples[name] for name in chosen[:16]])
    target = cls.name or t("own_classes.unnamed")
    if chosen and st.button(t("own_classes.add_photos", count=len(chosen), name=plain(target)), key="oc_pick_add",
                            type="primary"):
        _add_picked(cls, [samples[name] for name in chosen], dataset.classes[label])


def _target_ui(classes: list[OwnClass], have: list[int]) -> OwnClass:
    """Which of the learner's classes gets the photos: at first the first one still short of photos."""
    names = {c.id: c.name or t("own_classes.unnamed") for c in classes}
    short = [k for k, count in enumerate(have) if count < MIN_PER_CLASS]
    # Keyed by the names and the first class short of photos, so a renamed class, or a class that got its
    # photos (uploaded, or picked here), starts a new list at the next class needing photos (a kept key
    # would silently show another class than the one selected, or one already full).
    first_short = short[0] if short else len(names) - 1
    target = st.selectbox(t("own_classes.add_to"), list(names), index=first_short, format_func=names.get,
                          key=f"oc_pick_target_{'|'.join(names.values())}_{first_short}")
    return next(c for c in classes if c.id == target)


def _add_picked(cls: OwnClass, samples: list[Sample], breed: str) -> None:
    """Adds the picked photos, names a still-unnamed class after the dataset's class, and says what happened."""
    added = _add_samples(cls, samples)
    name = learner_class(breed) if _is_placeholder(cls.name) else cls.name
    transfer_page().own_renames = {cls.id: name}
    shown = dict(count=added, breed=plain(learner_class(breed)), name=plain(name), skipped=len(samples) - added)
    transfer_page().own_added_note = t("own_classes.added_some", **shown) if added < len(samples) \
        else t("own_classes.added", **shown)
    st.rerun()


def _pick_dataset_ui() -> Dataset | None:
    """Where to pick from: a folder, or a dataset already downloaded; None (with a hint) until it opens."""
    local = local_datasets()
    labels = {name: _source_label(name) for name in PICK_TASKS}  # made in this run, in this run's language
    source = st.radio(t("own_classes.pick_from"), [*local[:1], "folder", *local[1:]], format_func=labels.get,
                      horizontal=True, key="oc_pick_source")
    missing = [labels[name] for name in ("oxford-pets", "cats-vs-dogs") if name not in local]
    if missing:
        st.caption(t("own_classes.not_downloaded", datasets=", ".join(missing)))
    location = source
    left, right = st.columns([3, 1])
    if source == "folder":
        folder = folder_ui(t("own_classes.folder"), "oc_pick_folder", container=left,
                           help=t("own_classes.pick_folder_help"))
        location = str(folder) if folder else ""
    task = right.selectbox(t("own_classes.labels"), PICK_TASKS[source], key=language_key(f"oc_pick_task_{source}"),
                           format_func={task: task_label(task) for task in PICK_TASKS[source]}.get)
    if not location:
        return None
    try:
        return listed_dataset(location, task)
    except DATA_ERRORS as exc:
        st.error(t("own_classes.data_error", problem=problem_text(exc)), icon="🚫")
        return None


@st.cache_data(show_spinner=False, max_entries=256)
def _preview(path: str) -> np.ndarray:
    """A small square thumbnail of a photo file (cached: the picker redraws on every widget change)."""
    return center_crop_resize(load_image_file(path), 96, 1.0)


def _previews(samples: list[Sample]) -> None:
    """Thumbnails of the photos about to be added; an unreadable one says so."""
    cols = st.columns(8)
    for k, sample in enumerate(samples):
        with cols[k % 8]:
            try:
                st.image(_preview(sample.path), caption=plain(_short(sample.name)))
            except ImageInputError as exc:
                st.caption(t("own_classes.unreadable", problem=problem_text(exc)))


def _add_samples(cls: OwnClass, samples: list[Sample]) -> int:
    """Adds dataset photos to a class, skipping unreadable ones and ones it already has; returns how many."""
    return add_photos(cls, _read_photos([Path(sample.path) for sample in samples]), quiet=True)


def add_photos(cls: OwnClass, photos: list[Photo], quiet: bool = False) -> int:
    """Adds photos to a class, each content once, within the teacher's limits per class and for all classes;
    says (unless ``quiet``) what was left out. Returns how many were added."""
    limits = lab_settings().limits
    have, total = {p.digest for p in cls.shots}, sum(len(c.shots) for c in _classes())
    added, same, full = 0, 0, []
    for photo in photos:
        if photo.digest in have:
            same += 1
        elif limits.max_photos_per_class and len(cls.shots) >= limits.max_photos_per_class:
            full.append(("class", limits.max_photos_per_class))
        elif limits.max_session_photos and total >= limits.max_session_photos:
            full.append(("session", limits.max_session_photos))
        else:
            cls.shots.append(photo)
            have.add(photo.digest)
            total, added = total + 1, added + 1
    if not quiet:
        _left_out(cls.name or t("own_classes.this_class"), same, full)
    return added


def _left_out(name: str, same: int, full: list[tuple[str, int]]) -> None:
    """One line for photos already in the class, one for photos over a limit."""
    if same:
        st.info(t("own_classes.duplicates", count=same, name=name), icon="♻️")
    if full:
        kind, limit = full[0]
        line = t("own_classes.class_full", count=len(full), name=name, limit=limit) if kind == "class" else t(
            "own_classes.session_full", count=len(full), limit=limit)
        st.warning(line, icon="🚫")


def _read_photos(files: list[Path]) -> list[Photo]:
    """Decodes photo files, reporting each one that cannot be read and keeping the rest."""
    photos = []
    for file in files:
        try:
            photos.append(photo_from_bytes(file.read_bytes(), file.name))
        except ImageInputError as exc:
            st.error(t("own_classes.bad_photo", problem=problem_text(exc)), icon="🚫")
        except OSError:
            st.error(t("own_classes.cannot_open", name=plain(file.name)), icon="🚫")
    return photos


def _short(name: str, limit: int = 12) -> str:
    """A file name short enough to fit under a thumbnail on one line."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _is_placeholder(name: str) -> bool:
    """The class still has its starting name (``class A``, in either language) or none."""
    return not name or name in {translate("own_classes.default_name", lang, letter=name[-1]) for lang in LANGUAGES}


def _class_editor(cls: OwnClass, removable: bool) -> list[Photo]:
    """One class: its name, uploads, camera shots and thumbnails; returns its photos."""
    key = f"oc_{cls.id}"
    top = st.columns([3, 1])
    cls.name = top[0].text_input(t("own_classes.class_name"), cls.name, key=f"{key}_name").strip()
    if removable and top[1].button(t("own_classes.remove_class"), key=f"{key}_remove"):
        transfer_page().own_classes = [c for c in _classes() if c.id != cls.id]
        st.rerun()
    left, right = st.columns(2)
    uploads = left.file_uploader(t("own_classes.photos_of", name=plain(cls.name) or t("own_classes.this_class")),
                                 accept_multiple_files=True, key=uploader_key(f"{key}_upload"),
                                 help=limits_help(t("own_classes.upload_help")))
    _keep_uploads(cls, uploads or [], f"{key}_upload")
    with right:
        folder = folder_ui(t("own_classes.add_folder"), f"{key}_folder", help=t("own_classes.add_folder_help"))
        if folder and st.button(t("own_classes.add_these"), key=f"{key}_add_folder"):
            add_photos(cls, _folder_photos(folder))
        if st.toggle(t("own_classes.camera"), key=f"{key}_camera_on"):
            shot = st.camera_input(t("own_classes.take_photo"), key=f"{key}_camera")
            if shot is not None and st.button(t("own_classes.add_shot"), key=f"{key}_add_shot"):
                add_photos(cls, decode_uploads([shot]))
    photos = cls.shots
    _thumbnails(cls, photos, key)
    if len(photos) < MIN_PER_CLASS:
        st.caption(t("own_classes.needs_photos", name=plain(cls.name) or t("own_classes.this_class"),
                     minimum=MIN_PER_CLASS, count=len(photos)))
    return photos


def _keep_uploads(cls: OwnClass, uploads: list, key: str) -> None:
    """Copies new uploads into the class's own list: the uploader's state is dropped when the learner
    switches page, the class's list is not. Each upload is taken once, so a photo removed stays removed."""
    taken = cls.uploads_taken
    new = [u for u in uploads if u.file_id not in taken]
    if new:
        add_photos(cls, decode_uploads(new, key=key))
        taken.update(u.file_id for u in new)


def _thumbnails(cls: OwnClass, photos: list[Photo], key: str) -> None:
    """Small square previews, each with a remove button."""
    if not photos:
        return
    cols = st.columns(8)
    shot_ids = {id(p) for p in cls.shots}
    for k, photo in enumerate(photos):
        with cols[k % 8]:
            st.image(center_crop_resize(photo.image, 96, 1.0), caption=plain(_short(photo.name)))
            if id(photo) in shot_ids and st.button("✕", key=f"{key}_drop_{k}", help=t("own_classes.remove_shot")):
                cls.shots = [p for p in cls.shots if p is not photo]
                st.rerun()


def _folder_photos(folder: str, limit: int = 200) -> list[Photo]:
    """The readable photos of a folder (not its sub-folders), at most ``limit``; problems are reported."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        st.error(t("own_classes.not_a_folder", folder=plain(path.name)), icon="🚫")
        return []
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and stays_inside(p, path))[:limit]  # a link to a file elsewhere is never read
    if not files:
        st.warning(t("own_classes.no_photos", folder=plain(path.name)), icon="⚠️")
    return _read_photos(files)


def _dataset_or_none(filled: list[tuple[OwnClass, list[Photo]]]) -> Dataset | None:
    """The photos as a Dataset, or None with messages saying what is missing."""
    names = [cls.name for cls, _ in filled]
    counts = [len(photos) for _, photos in filled]
    if any(not n for n in names) or len(set(names)) < len(names):
        st.info(t("own_classes.different_names"), icon="👉")
        return None
    if min(counts) < MIN_PER_CLASS:
        st.info(t("own_classes.min_photos", minimum=MIN_PER_CLASS), icon="👉")
        return None
    if max(counts) > UNBALANCED_RATIO * min(counts):
        st.warning(t("own_classes.unbalanced", most=max(counts), fewest=min(counts)), icon="⚖️")
    samples = tuple(Sample(p.name, label, image=p.image, digest=p.digest)
                    for label, (_, photos) in enumerate(filled) for p in photos)
    return Dataset(t("own_classes.dataset_name"), "folders", tuple(names), samples)
