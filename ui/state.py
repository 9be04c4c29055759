"""The session's state, typed: one key per thing a learner makes, each held as a dataclass.

Pages read and write the session through this module, never through raw ``st.session_state`` keys (a test greps
the rest of ui/ and app_pages/), so each name is spelled once. Streamlit keeps ``st.session_state`` across pages,
but drops a widget's key when its widget is not drawn: nothing a learner made may live only in a widget key, which
is why it lives here. When a session ends, Streamlit drops its state, and with it every model and embedding listed
here (nothing here is cached process-wide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import streamlit as st

from ui.targets import Target

T = TypeVar("T")

TRAINED = "trained_model"


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """The session's classifier: trained on the Transfer training page, or loaded from a ``.keras`` file.

    ``caches`` holds objects derived from this model (a flat copy for Grad-CAM, a Visualiser, an Attacker): they
    go when the model is replaced, so no page keeps using a model the learner has moved on from.
    """

    model: Any
    classes: tuple[str, ...]
    backbone: str | None
    run: str = ""
    fine_tuned: bool = False
    downloaded: bool = False
    caches: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.classes:
            raise ValueError("a trained model needs at least one class")
        object.__setattr__(self, "classes", tuple(self.classes))

    def cached(self, name: str, make: Callable[[], T]) -> T:
        """``make()`` once per model: derived objects live and die with the model they were made from."""
        if name not in self.caches:
            self.caches[name] = make()
        return self.caches[name]


def trained() -> TrainedModel | None:
    """The session's classifier, or None before the learner has trained or loaded one."""
    return st.session_state.get(TRAINED)


def set_trained(model: TrainedModel) -> None:
    st.session_state[TRAINED] = model


def mark_downloaded() -> None:
    """The learner has the current model on their disk: replacing it no longer loses work."""
    current = trained()
    if current is not None and not current.downloaded:
        st.session_state[TRAINED] = replace(current, downloaded=True, caches=current.caches)


def replacing_loses_work() -> bool:
    """True while the session holds a fine-tuned model the learner has not downloaded (minutes of work)."""
    current = trained()
    return current is not None and current.fine_tuned and not current.downloaded


def page_state(key: str, factory: Callable[[], T]) -> T:
    """This session's state object for one page (a dataclass made by ``factory`` on first use)."""
    if key not in st.session_state:
        st.session_state[key] = factory()
    return st.session_state[key]


# --- What every page shares: the language, the backbone, the pages visited ---
LANGUAGE = "lang"
BACKBONE = "backbone"  # also the sidebar picker's widget key: the picker is drawn on every run, so it never drops
VISITED = "lab_visited"


def language() -> str | None:
    """The language the learner chose in this session, None before the first run decided one."""
    return st.session_state.get(LANGUAGE)


def set_language(lang: str) -> None:
    st.session_state[LANGUAGE] = lang


def chosen_backbone() -> str | None:
    """The backbone picked in the sidebar, None before the picker was first drawn."""
    return st.session_state.get(BACKBONE)


def choose_backbone(name: str) -> None:
    """Sets the sidebar's pick (before the picker is drawn: a usable default when the pick cannot load)."""
    st.session_state[BACKBONE] = name


def visited_pages() -> set[str]:
    """The lab's pages this session has reached the end of (the lab path's "seen")."""
    return st.session_state.setdefault(VISITED, set())


def progress() -> dict[str, Any]:
    """Each page's state that exists so far, and the pages visited: what the lab path reports as done."""
    return {key: st.session_state[key] for key in (VISITED, TRANSFER, IDEAL, ADVERSARIAL) if key in st.session_state}


def carry_widget_value(source: str, target: str) -> None:
    """Starts widget ``target`` at widget ``source``'s value (the same choice drawn in another language)."""
    if source in st.session_state and target not in st.session_state:
        st.session_state[target] = st.session_state[source]


def set_widget_value(key: str, value: Any) -> None:
    """Sets a widget's value before it is drawn in this run (a name renamed on the previous run)."""
    st.session_state[key] = value


# --- Jobs (ui/jobs.py) and uploads (ui/uploads.py, ui/photos.py) ---
JOBS = "jobs"
UPLOADS = "uploads"


@dataclass(eq=False)
class SessionJobs:
    """This session's jobs by page slot, and the finished job each slot already reran the page for."""

    active: dict = field(default_factory=dict)  # page slot -> core.jobs.Job, until the page takes it finished
    announced: dict = field(default_factory=dict)  # page slot -> the finished Job the page was rerun for


def session_jobs() -> SessionJobs:
    return page_state(JOBS, SessionJobs)


@dataclass(eq=False)
class SessionUploads:
    """What this session uploaded, as the allowance and the uploaders see it."""

    ledger: dict = field(default_factory=dict)  # upload id -> (bytes, photos) counted against the allowance
    refused: dict = field(default_factory=dict)  # uploader key -> why it was emptied, shown once above it
    resets: dict = field(default_factory=dict)  # uploader key -> times emptied (a new widget key each time)
    decoded: dict = field(default_factory=dict)  # uploader key -> {upload id: Photo, or why it is not one}


def session_uploads() -> SessionUploads:
    return page_state(UPLOADS, SessionUploads)


# --- Ideal cat (app_pages/ideal_cat.py, ui/ideal_cat.py) ---
IDEAL = "ideal_page"


@dataclass(eq=False)
class IdealPage:
    """What the Ideal cat page keeps: every image this session made (the gallery) and the latest ones shown."""

    gallery: list = field(default_factory=list)  # ui.ideal_cat.Result, oldest first
    shown: list = field(default_factory=list)  # the latest job's results, side by side
    target: Target | None = None  # the latest job's target (the images' name in the learner's words)


def ideal_page() -> IdealPage:
    return page_state(IDEAL, IdealPage)

# --- Adversarial dog (app_pages/adversarial_dog.py, ui/adversarial*.py) ----------------------------------------------

ADVERSARIAL = "adversarial"


@dataclass(eq=False)
class AttackResult:
    """One finished (or stopped) attack, measured once: later widget changes only read it."""

    key: tuple  # (photo digest, config, target, backbone): the settings it was made with
    target: Target
    config: Any  # core.attack.attack.AttackConfig
    backbone: str
    labels: tuple[str, ...] | None  # the learner's class names; None for ImageNet
    photo: str
    clean: Any  # uint8 photo as the network saw it
    adversarial: Any  # uint8, exactly the PNG a learner downloads
    perturbation: Any
    step: int
    seconds: float
    stopped: bool = False
    measured: dict | None = None
    survival: dict = field(default_factory=dict)  # SurvivalSettings -> rows
    transfer: list | None = None  # rows, once the other networks were asked
    model: str = ""  # the store key of the learner's classifier it attacked; "" for an ImageNet backbone
    spec: Any = None  # the core.work.specs.AttackJob that made it (python -m core run reproduces it)


@dataclass(eq=False)
class SweepResult:
    """Success rate per epsilon: {eps: (successes, photos done)}; a Stop keeps the points so far."""

    curve: dict
    method: str
    target: Target
    labels: tuple[str, ...] | None
    photos: int
    stopped: bool = False


@dataclass(eq=False)
class AdversarialState:
    """Everything the Adversarial dog page keeps for a session."""

    result: AttackResult | None = None
    sweep: SweepResult | None = None
    seen: dict = field(default_factory=dict)  # (digest, network, backbone) -> the clean photo's top prediction
    made_for: dict = field(default_factory=dict)  # job slot -> what its running job was started for


def adversarial() -> AdversarialState:
    """This session's Adversarial dog state."""
    return page_state(ADVERSARIAL, AdversarialState)

# --- Transfer training page (ui/transfer_training.py, ui/your_model.py, ui/own_classes.py) ---
TRANSFER = "transfer_page"


@dataclass(eq=False)
class TransferRun:
    """One finished (or stopped) training run: its number in the session and the pipeline's report."""

    number: int
    report: Any  # core.transfer.pipeline.TrainingReport; fine-tuning replaces it with one that has fine_tune set
    dataset: str
    task: str
    spec: Any = None  # the core.work.specs.TrainJob that made it (in report.json: python -m core run redoes it)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.report.data.dataset.classes)

    @property
    def accuracy(self) -> float:
        return self.report.evaluation.accuracy if self.report.evaluation else 0.0


@dataclass(eq=False)
class OwnClass:
    """One of the learner's own classes: its name as typed and its photos (``ui.photos.Photo``)."""

    id: int
    name: str
    shots: list = field(default_factory=list)
    uploads_taken: set = field(default_factory=set)  # upload ids already copied in: a removed photo stays removed


@dataclass(eq=False)
class TransferPage:
    """What the Transfer training page keeps: runs, the learner's own classes, uploads and pending questions."""

    runs: list[TransferRun] = field(default_factory=list)
    own_classes: list[OwnClass] = field(default_factory=list)
    own_renames: dict = field(default_factory=dict)  # class id -> name, applied on the next run (before its widget)
    own_added_note: str = ""  # what the last pick added, said once on the next run
    zip_dir: tuple | None = None  # (upload file id, dataset root, folder, the zip's name) of the extracted .zip
    loaded_id: tuple = ()
    loaded_message: str = ""
    confirm: str = ""  # "train" or "load" while the learner is asked before losing a fine-tuned model
    note: str = ""  # one message key to show once after a run ended (e.g. stopped during extraction)
    seed: int = 0  # the split's seed: both training modes draw its widget, and it outlives the widget's key


def transfer_page() -> TransferPage:
    return page_state(TRANSFER, TransferPage)
