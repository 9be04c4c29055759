"""Safe extraction of dataset archives: no zip slip, no zip bombs, no links out of the folder."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from core.errors import LabError

MAX_FILES = 50_000
MAX_BYTES = 4 * 1024**3


class ArchiveError(LabError, ValueError):
    """An archive was refused or could not be read; the message says why."""


class ArchiveTooBig(ArchiveError):
    """An archive unpacks to more bytes than allowed."""


def _check_member_name(name: str) -> None:
    """Refuses absolute paths, drive letters and ``..`` (zip slip)."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
        raise ArchiveError("archive_outside", entry=name)


def _check_totals(count: int, total: int, max_files: int, max_bytes: int) -> None:
    """Refuses archives that unpack to too many files or bytes (zip bombs)."""
    if count > max_files:
        raise ArchiveError("archive_too_many_files", count=count, limit=max_files)
    if total > max_bytes:
        raise ArchiveTooBig("archive_too_big", mb=total / 1e6, limit_mb=max_bytes / 1e6)


def extract_zip(source, dest: str | Path, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> Path:
    """Extracts a zip file after checking every entry.

    Entries are checked before anything is written, and the bytes actually
    written are counted too, so a header that lies about sizes cannot get
    past the limit.

    Args:
        source: a path or a binary file object (e.g. an upload).
        dest: folder to extract into (created).
        max_files: most entries accepted.
        max_bytes: most uncompressed bytes accepted.

    Returns:
        ``dest`` as a Path.

    Raises:
        ArchiveError: not a zip, an unsafe entry name, a link, or over a limit.
    """
    dest = Path(dest)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError("archive_not_zip", reason=type(exc).__name__) from None
    with archive:
        infos = archive.infolist()
        _check_entries(infos, max_files, max_bytes)
        before = set(dest.iterdir()) if dest.is_dir() else None
        try:
            dest.mkdir(parents=True, exist_ok=True)
            written = 0
            for info in infos:
                written = _extract_member(archive, info, dest, written, max_bytes)
        except BaseException:  # whatever stopped it, nothing it wrote stays behind
            _remove_new_entries(dest, before)
            raise
    return dest


def _check_entries(infos: list[zipfile.ZipInfo], max_files: int, max_bytes: int) -> None:
    """Refuses unsafe names, links and declared totals over the limits, before anything is written."""
    for info in infos:
        _check_member_name(info.filename)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise ArchiveError("archive_symlink", entry=info.filename)
    _check_totals(len(infos), sum(i.file_size for i in infos), max_files, max_bytes)


def _remove_new_entries(dest: Path, before: set[Path] | None) -> None:
    """Deletes what an interrupted extraction made: ``dest`` itself if it was new, else only its new entries."""
    if before is None:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for entry in set(dest.iterdir()) - before:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, written: int, max_bytes: int) -> int:
    """Writes one entry, counting real bytes against the limit; returns the new total.

    Any failure to write (a file and a folder of the same name, a name too long for the disk) is an
    ``ArchiveError`` naming the entry only, never a path on this server.
    """
    target = dest / info.filename.replace("\\", "/")
    try:
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return written
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as out:
            while block := src.read(1 << 20):
                written += len(block)
                if written > max_bytes:
                    raise ArchiveTooBig("archive_over_limit", limit_mb=max_bytes / 1e6)
                out.write(block)
    except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveError("archive_damaged_entry", entry=info.filename, reason=type(exc).__name__) from None
    except OSError as exc:
        raise ArchiveError("archive_entry_unpack", entry=info.filename, reason=exc.strerror or "error") from None
    return written


def extract_tar(path: str | Path, dest: str | Path, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> Path:
    """Extracts a (gzipped) tar with the same checks, using tarfile's ``data`` filter.

    Args:
        path: the archive.
        dest: folder to extract into (created).
        max_files: most entries accepted.
        max_bytes: most uncompressed bytes accepted.

    Returns:
        ``dest`` as a Path.

    Raises:
        ArchiveError: unreadable, unsafe entry, or over a limit.
    """
    dest = Path(dest)
    try:
        with tarfile.open(path) as archive:
            members = archive.getmembers()
            for member in members:
                _check_member_name(member.name)
            _check_totals(len(members), sum(m.size for m in members), max_files, max_bytes)
            dest.mkdir(parents=True, exist_ok=True)
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError("archive_unreadable", file=Path(path).name, reason=str(exc)) from None
    return dest


# Folders that archivers add beside the photos; never classes.
IGNORED_FOLDERS = frozenset({"__MACOSX"})


def dataset_root(folder: str | Path) -> Path:
    """The folder that holds the class folders: skips a single wrapping folder and macOS litter.

    Read-only: the folder may be a learner's own, so ``__MACOSX`` is skipped, never deleted.
    """
    folder = Path(folder)
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in IGNORED_FOLDERS]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return entries[0]
    return folder
