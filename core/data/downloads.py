"""Optional downloads with progress, checksums, a cache and a quick offline answer."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from core.errors import LabError
from core.streams import callback_steps

CACHE_ENV = "TRANSFER_LAB_CACHE"


class NoNetworkError(LabError, RuntimeError):
    """The file is not cached and the network cannot be reached."""


class ChecksumError(LabError, RuntimeError):
    """A downloaded or cached file does not have its pinned checksum."""


def cache_dir(*parts: str) -> Path:
    """Returns (and creates) a folder under the Transfer Lab cache.

    Args:
        *parts: sub-folders below the cache root.

    Returns:
        ``$TRANSFER_LAB_CACHE`` or ``~/.cache/transfer-lab``, joined with parts.
    """
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "transfer-lab")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Returns a file's hex digest, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def network_reachable(url: str, timeout: float = 3.0) -> bool:
    """True when a TCP connection to the URL's host opens within the timeout."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def download(url: str, dest: str | Path, checksum: str | None = None, algorithm: str = "sha256",
             progress: Callable[[int, int | None], None] | None = None, timeout: float = 10.0) -> Path:
    """Downloads a file once, verifying it, and returns its cached path.

    Not ``keras.utils.get_file(file_hash=...)``, which also caches and verifies: it reports progress only as a
    console bar, where the page needs a callback for its live progress and for the Stop button (raised from
    ``progress``), and it has no quick "no network" answer naming where to put the file by hand.

    Args:
        url: where the file is.
        dest: final path; if it exists with the right checksum, nothing is fetched.
        checksum: expected hex digest, or None to skip the check.
        algorithm: ``"sha256"`` or ``"md5"``.
        progress: called with (bytes done, total bytes or None) as data arrives.
        timeout: seconds to wait for the connection and each read.

    Returns:
        ``dest`` as a Path.

    Raises:
        NoNetworkError: no connection; the message says where to put the file by hand.
        ChecksumError: the downloaded file is not the expected one.
    """
    dest = Path(dest)
    if dest.exists() and (checksum is None or file_digest(dest, algorithm) == checksum):
        return dest
    if not network_reachable(url, timeout=min(timeout, 3.0)):
        raise NoNetworkError("download_offline", file=dest.name, url=url, path=str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, progress, timeout)
        if checksum is not None and file_digest(tmp, algorithm) != checksum:
            raise ChecksumError("download_checksum", file=dest.name, url=url, algorithm=algorithm)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _fetch(url, out, progress, timeout):
    """Streams a URL into an open file, reporting progress."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total, done = (int(total) if total else None), 0
            while block := response.read(1 << 20):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except OSError as exc:  # URLError, timeouts, resets and SSL errors mid-transfer are all OSErrors
        raise NoNetworkError("download_failed", url=url, reason=str(exc)) from exc


COMPLETE_MARKER = ".complete"


@contextlib.contextmanager
def exclusive(folder: str | Path) -> Iterator[None]:
    """Holds an exclusive lock for a download folder, so one process or session fetches it at a time.

    The lock is a file next to the folder (``<name>.lock``): it survives the folder being replaced and
    is released by the kernel if the holder dies, so a crashed download never blocks the next one.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_complete(folder: str | Path) -> bool:
    """True once ``install_extracted`` finished for this folder (its completion marker exists)."""
    return (Path(folder) / COMPLETE_MARKER).is_file()


def install_extracted(folder: str | Path, extract: Callable[[Path], object]) -> Path:
    """Extracts into a temporary sibling, then moves each finished top-level entry into ``folder``.

    A half-extracted dataset is never visible under ``folder``: readers see either nothing or whole
    folders, and the completion marker is written last. A failed extraction leaves no staging folder.

    Args:
        folder: the dataset folder (created).
        extract: called with the staging folder; writes the extracted files there.

    Returns:
        ``folder`` as a Path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-extract-"))
    try:
        extract(staging)
        for entry in staging.iterdir():
            target = folder / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # a stale copy in our own cache, never a learner's folder
            os.replace(entry, target)
        (folder / COMPLETE_MARKER).write_text("complete\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


class DownloadStopped(RuntimeError):
    """The learner stopped a download; what was fetched so far is discarded."""


@dataclass(frozen=True)
class Downloading:
    """Download progress of one file: bytes done and the total (None when the server does not say)."""

    name: str
    done: int
    total: int | None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


def download_steps(fetch: Callable, should_stop: Callable[[], bool] | None = None) -> Iterator:
    """A dataset download (``fetch(progress=...)``, e.g. ``fetch_oxford_pets``) as a generator of ``Downloading``.

    Returns (through ``yield from``) what ``fetch`` returned. Closing the generator, or ``should_stop``,
    stops the download at its next chunk.
    """
    def work(emit, stopped):
        def progress(name, done, total):
            if stopped():
                raise DownloadStopped(f"the download of {name} was stopped")
            emit(Downloading(name, done, total))

        return fetch(progress=progress)

    return callback_steps(work, should_stop)
