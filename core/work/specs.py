"""Every long operation as a value: one frozen spec per kind, holding settings and store keys, never live objects.

A spec is JSON and back exactly (``to_json`` / ``spec_from_json``), pickles as it is, and is what
``core.work.runner.run`` runs; a run's ``report.json`` carries it, so ``python -m core run`` can reproduce it.
Inputs (a photo, a learner's model) are ``core.work.store`` keys: content hashes of bytes in the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from core.attack.attack import AttackConfig
from core.attack.survival import SurvivalSettings
from core.transfer.finetune import FineTuneSettings
from core.transfer.pipeline import DataSettings, TrainingSettings
from core.transfer.training import HeadSettings
from core.visualise.optimise import IdealConfig
from core.work.plain import from_plain, to_plain
from core.work.store import KEY

VERSION = 1


def _check_key(name: str, value: str, optional: bool = False) -> None:
    """``value`` is a store key (a sha256 in hex), or "" where ``optional``; else ValueError naming ``name``."""
    if (optional and value == "") or (isinstance(value, str) and KEY.match(value)):
        return
    raise ValueError(f"{name} must be a store key (64 hex digits){' or empty' if optional else ''}, got {value!r}")


def _check_keys(name: str, values: tuple[str, ...]) -> None:
    """Every one of ``values`` is a store key (``_check_key``)."""
    for value in values:
        _check_key(name, value)


def _check_backbone(*names: str) -> None:
    """Each name is a known backbone; ValueError naming the known ones."""
    from core.models.backbones import get_spec

    for name in names:
        get_spec(name)


def _check_victim(backbone: str, model: str) -> None:
    """An ImageNet backbone, or the learner's classifier (``model``) whose backbone may be unknown ("")."""
    _check_key("model", model, optional=True)
    if backbone or not model:
        _check_backbone(backbone)


@dataclass(frozen=True)
class Spec:
    """What every kind shares: a ``kind`` name and the JSON round trip."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "version": VERSION, **to_plain(self)}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    def run(self, store=None, should_stop=None):
        """``core.work.runner.run(self, store, should_stop)``: the scheduler runs a spec through this."""
        from core.work.runner import run

        return run(self, store, should_stop)

    @staticmethod
    def fraction(record) -> float:
        """How far a job of this kind is by its latest record (``core.work.runner.fraction``)."""
        from core.work.runner import fraction

        return fraction(record)


@dataclass(frozen=True)
class IdealJob(Spec):
    """Ideal cat: each config in turn on ``backbone``'s ImageNet classes, or on the learner's classifier
    (``model``: the store key of its ``.keras`` bytes; the config's classes are then its class indices)."""

    kind: ClassVar[str] = "ideal"
    backbone: str
    configs: tuple[IdealConfig, ...]
    model: str = ""

    def __post_init__(self):
        _check_backbone(self.backbone)
        if not self.configs or not all(isinstance(c, IdealConfig) for c in self.configs):
            raise ValueError("an ideal-image job needs at least one IdealConfig")
        _check_key("model", self.model, optional=True)


@dataclass(frozen=True)
class AttackJob(Spec):
    """Adversarial dog's attack on one photo (``photo``: the store key of its pixels, ``.npy``) against
    ``backbone``'s ImageNet classes or the learner's classifier (``model``; its backbone names the crop)."""

    kind: ClassVar[str] = "attack"
    backbone: str
    photo: str
    config: AttackConfig
    model: str = ""

    def __post_init__(self):
        _check_victim(self.backbone, self.model)
        _check_key("photo", self.photo)


@dataclass(frozen=True)
class SurvivalJob(Spec):
    """JPEG, resize and blur applied to an adversarial image (``image``: store key): does the attack survive?"""

    kind: ClassVar[str] = "survival"
    backbone: str
    image: str
    clean_top: int
    target: tuple[int, ...]
    settings: SurvivalSettings = SurvivalSettings()
    model: str = ""

    def __post_init__(self):
        _check_victim(self.backbone, self.model)
        _check_key("image", self.image)


@dataclass(frozen=True)
class TransferCheckJob(Spec):
    """The adversarial image (and its clean photo, both store keys) shown to other ImageNet networks."""

    kind: ClassVar[str] = "transfer"
    backbones: tuple[str, ...]
    clean: str
    adversarial: str
    target: tuple[int, ...]

    def __post_init__(self):
        if not self.backbones:
            raise ValueError("a transfer check needs at least one other network")
        _check_backbone(*self.backbones)
        _check_key("clean", self.clean)
        _check_key("adversarial", self.adversarial)


@dataclass(frozen=True)
class SweepJob(Spec):
    """The attack's success rate at each budget in ``eps`` over photos (store keys of their pixels)."""

    kind: ClassVar[str] = "sweep"
    backbone: str
    photos: tuple[str, ...]
    eps: tuple[int, ...]
    config: AttackConfig
    model: str = ""

    def __post_init__(self):
        _check_victim(self.backbone, self.model)
        if not self.photos or not self.eps:
            raise ValueError("a sweep needs at least one photo and one epsilon")
        _check_keys("photos", self.photos)
        if any(not 0 <= e <= 255 for e in self.eps):
            raise ValueError(f"epsilon values must be from 0 to 255, got {self.eps}")


@dataclass(frozen=True)
class OwnClass:
    """One of the learner's own classes: its name and its photos (store keys of their pixels, and file names)."""

    name: str
    photos: tuple[str, ...]
    names: tuple[str, ...]

    def __post_init__(self):
        if len(self.photos) != len(self.names):
            raise ValueError(f"class {self.name!r} has {len(self.photos)} photos but {len(self.names)} names")
        _check_keys("photos", self.photos)


@dataclass(frozen=True)
class TrainJob(Spec):
    """Transfer training: the photos (``data``; the learner's own classes in ``own``, source ``"own"``), the head,
    and optionally fine-tuning, on ``backbone``. A dataset not on this computer is downloaded first.
    ``name``: the dataset's name as the learner reads it ("" for the dataset's own)."""

    kind: ClassVar[str] = "train"
    backbone: str
    data: DataSettings
    head: HeadSettings = HeadSettings()
    fine_tune: FineTuneSettings | None = None
    own: tuple[OwnClass, ...] = ()
    name: str = ""

    def __post_init__(self):
        _check_backbone(self.backbone)
        if (self.data.source == "own") != bool(self.own):
            raise ValueError("the learner's own classes go with source 'own', and only with it")
        if self.own and len(self.own) < 2:
            raise ValueError("training needs at least 2 classes")

    @property
    def training(self) -> TrainingSettings:
        """The pipeline's settings: the split's and the head's, under the data's one seed."""
        data = self.data
        return TrainingSettings(views=data.views, val_fraction=data.val_fraction, seed=data.seed,
                                official_split=data.official_split, head=self.head, fine_tune=self.fine_tune)


@dataclass(frozen=True)
class FineTuneJob(Spec):
    """Fine-tuning after a head-only run: ``train`` is that run's spec and ``head`` the store key of its trained
    head (``.keras``); the top ``settings.blocks`` of a backbone copy of this job's own are unfrozen."""

    kind: ClassVar[str] = "fine-tune"
    train: TrainJob
    settings: FineTuneSettings
    head: str

    def __post_init__(self):
        _check_key("head", self.head)


KINDS: dict[str, type[Spec]] = {cls.kind: cls for cls in (IdealJob, AttackJob, SurvivalJob, TransferCheckJob,
                                                          SweepJob, TrainJob, FineTuneJob)}


def spec_from_json(document: dict | str) -> Spec:
    """The spec ``to_json`` (or a ``report.json``'s ``"spec"``) describes; ValueError names what is wrong."""
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, dict) or document.get("kind") not in KINDS:
        raise ValueError(f"a job spec needs a kind, one of {', '.join(KINDS)}")
    if document.get("version", VERSION) != VERSION:
        raise ValueError(f"this job spec is version {document.get('version')}; this lab reads version {VERSION}")
    fields = {k: v for k, v in document.items() if k not in ("kind", "version")}
    return from_plain(KINDS[document["kind"]], fields)
