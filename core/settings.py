"""The lab's settings from the environment: personal or classroom mode, shared data folders, limits.

Pure Python (no Streamlit): the app reads them at every script run through ``ui.settings`` (a few
environment variables, so cheap) and stops the page with the message of a ``SettingsError`` when the teacher
set a bad value; tests build them from a dict.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.errors import LabError

PERSONAL = "personal"
CLASSROOM = "classroom"
MODES = (PERSONAL, CLASSROOM)


class SettingsError(LabError, ValueError):
    """A setting the teacher gave is invalid; the message names the variable and the value."""


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one learner may start or keep. ``None`` means today's personal range."""

    max_epochs: int | None = None
    max_ideal_steps: int | None = None
    max_attack_steps: int | None = None
    max_photos_per_class: int | None = None
    max_session_photos: int | None = None
    max_upload_mb: int | None = None
    max_fine_tune_blocks: int | None = None
    max_fine_tune_epochs: int | None = None
    max_sweep_photos: int | None = None
    max_uploads_total_mb: int | None = None  # every session's unpacked uploads together, on the server's disk
    max_classes: int | None = None  # "Your own classes" per session

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise SettingsError("setting_not_positive", variable=f.name, value=value)

    def cap(self, name: str, personal_max: int) -> int:
        """The widget's upper bound: the teacher's limit, never above the personal range."""
        limit = getattr(self, name)
        return personal_max if limit is None else min(limit, personal_max)


# Environment variable -> (Limits field, classroom default). Personal mode applies only what is set.
LIMIT_VARIABLES = {
    "TRANSFER_LAB_MAX_EPOCHS": ("max_epochs", 50),
    "TRANSFER_LAB_STEP_CAP": ("max_ideal_steps", 256),
    "TRANSFER_LAB_MAX_ATTACK_STEPS": ("max_attack_steps", 50),
    "TRANSFER_LAB_MAX_PHOTOS_PER_CLASS": ("max_photos_per_class", 60),
    "TRANSFER_LAB_MAX_SESSION_PHOTOS": ("max_session_photos", 200),
    "TRANSFER_LAB_MAX_UPLOAD_MB": ("max_upload_mb", 100),
    "TRANSFER_LAB_MAX_FINE_TUNE_BLOCKS": ("max_fine_tune_blocks", 2),
    "TRANSFER_LAB_MAX_FINE_TUNE_EPOCHS": ("max_fine_tune_epochs", 3),
    "TRANSFER_LAB_MAX_SWEEP_PHOTOS": ("max_sweep_photos", 20),
    "TRANSFER_LAB_MAX_UPLOADS_TOTAL_MB": ("max_uploads_total_mb", 4000),
    "TRANSFER_LAB_MAX_CLASSES": ("max_classes", 20),
}


@dataclass(frozen=True)
class LabSettings:
    """Everything the teacher (or nobody, on a laptop) configured, checked once."""

    mode: str = PERSONAL
    data_dirs: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    heavy_slots: int = 1

    def __post_init__(self):
        if self.mode not in MODES:
            raise SettingsError("setting_mode", value=self.mode)
        if self.heavy_slots < 1:
            raise SettingsError("setting_heavy_slots", value=self.heavy_slots)

    @property
    def classroom(self) -> bool:
        return self.mode == CLASSROOM


def is_loopback(address: str | None) -> bool:
    """True when a server bound to ``address`` is reachable from this machine only."""
    if not address:
        return False  # Streamlit's default binds every interface
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def positive_int(environ: Mapping[str, str], name: str) -> int | None:
    """The whole number a variable holds, ``None`` when unset; ``SettingsError`` naming it otherwise."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError("setting_not_positive", variable=name, value=raw) from None
    if value < 1:
        raise SettingsError("setting_not_positive", variable=name, value=raw)
    return value


def data_dirs_from(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The teacher's shared data folders (os.pathsep-separated); each must be an existing folder."""
    raw = environ.get("TRANSFER_LAB_DATA_DIRS", "")
    dirs = []
    for part in filter(None, (p.strip() for p in raw.split(os.pathsep))):
        path = Path(part).expanduser()
        if not path.is_dir():
            raise SettingsError("setting_data_dir", path=part)
        dirs.append(path.resolve())
    return tuple(dirs)


def settings_from_env(environ: Mapping[str, str], server_address: str | None, gpus: int = 0) -> LabSettings:
    """Reads the settings; without TRANSFER_LAB_MODE, a loopback-only server is personal."""
    mode = environ.get("TRANSFER_LAB_MODE", "").strip().lower()
    if not mode:
        mode = PERSONAL if is_loopback(server_address) else CLASSROOM
    if mode not in MODES:
        raise SettingsError("setting_mode", value=mode)
    limits = {}
    for variable, (name, classroom_default) in LIMIT_VARIABLES.items():
        value = positive_int(environ, variable)
        limits[name] = classroom_default if value is None and mode == CLASSROOM else value
    slots = positive_int(environ, "TRANSFER_LAB_HEAVY_SLOTS") or max(1, gpus)
    return LabSettings(mode=mode, data_dirs=data_dirs_from(environ), limits=Limits(**limits), heavy_slots=slots)
