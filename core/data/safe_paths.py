"""Which folders a learner may read: typed paths in personal mode, the teacher's shared folders in classroom mode."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import LabError

# Pseudo-filesystems: listing them is never about photos and can hang or leak the machine's state.
FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
MAX_SUBFOLDERS = 300


class FolderError(LabError, ValueError):
    """A folder cannot be used; the message names the problem in one line."""


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def stays_inside(path: str | Path, root: str | Path) -> bool:
    """``path``, once every symbolic link on the way is resolved, exists and lies inside ``root``."""
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop
        return False
    return _under(resolved, Path(root).resolve())


def files_inside(folder: str | Path, root: str | Path) -> list[Path]:
    """Every file under ``folder`` that stays inside ``root``, sorted; links leading out are skipped unread and
    linked folders are not entered, so nothing outside is listed or named."""
    found = []
    for current, _, names in os.walk(folder, followlinks=False):
        found += [Path(current) / name for name in names if stays_inside(Path(current) / name, root)]
    return sorted(found)


def typed_folder(text: str) -> Path:
    """A folder a learner typed on their own machine (``~`` allowed), resolved and checked."""
    text = text.strip()
    if not text:
        raise FolderError("folder_not_typed")
    path = Path(text).expanduser().resolve()
    if any(_under(path, root) for root in FORBIDDEN_ROOTS):
        raise FolderError("folder_system", path=text)
    if not path.is_dir():
        raise FolderError("folder_missing", path=text)
    if not os.access(path, os.R_OK | os.X_OK):
        raise FolderError("folder_no_permission", path=text)
    return path


def shared_folders(roots: tuple[Path, ...], depth: int = 2) -> dict[str, Path]:
    """The teacher's folders and their sub-folders (``depth`` levels), by a name relative to each root.

    Symbolic links that lead outside a root are left out, so a learner can only reach what the
    teacher shared.
    """
    found: dict[str, Path] = {}
    for root in roots:
        root = root.resolve()
        queue = [(root, root.name, 0)]
        while queue and len(found) < MAX_SUBFOLDERS:
            folder, name, level = queue.pop(0)
            found[name] = folder
            if level < depth:
                queue.extend((child, f"{name}/{child.name}", level + 1) for child in _children(folder, root))
    return found


def _children(folder: Path, root: Path) -> list[Path]:
    """Visible sub-folders of ``folder`` that stay inside ``root`` once links are resolved."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    children = []
    for entry in entries:
        if entry.name.startswith((".", "__")):
            continue
        resolved = entry.resolve()
        if resolved.is_dir() and _under(resolved, root):
            children.append(resolved)
    return children
