"""Where a job's inputs live: bytes by content hash (photos, zips, a learner's model), so a spec holds keys only.

``put(bytes) -> key`` and ``get(key) -> bytes`` are the whole interface; ``LocalStore`` keeps them in a folder
under the app's cache (one file per key) and forgets what nobody put or read for ``max_age`` seconds, which is
what a closed session leaves behind. A worker on another machine would use another ``Store`` with the same keys.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from core.jobs import MissingInput  # noqa: F401  re-exported: the store's one error

KEY = re.compile(r"^[0-9a-f]{64}$")
DAY = 24 * 3600.0


class Store(Protocol):
    def put(self, data: bytes) -> str: ...

    def get(self, key: str) -> bytes: ...


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore:
    """A folder of blobs named by their SHA-256. Safe across threads and processes: a blob is written to a
    temporary file and renamed into place, and the same bytes always land at the same name."""

    def __init__(self, root: str | Path, max_age: float = DAY, sweep_every: float = 600.0,
                 clock=time.time):
        if max_age <= 0 or sweep_every <= 0:
            raise ValueError(f"max_age and sweep_every must be positive, got {max_age!r}, {sweep_every!r}")
        self.root, self.max_age, self.sweep_every, self.clock = Path(root), max_age, sweep_every, clock
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock, self._swept = threading.Lock(), clock()

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY.match(key):
            raise MissingInput(f"not a store key: {key!r}")
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = content_key(bytes(data))
        path = self._path(key)
        if path.exists():
            os.utime(path)  # put again: it is in use, so it does not expire
        else:
            path.parent.mkdir(exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, path)
        self._maybe_sweep()
        return key

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MissingInput(f"the store has no {key} (expired, or never stored here)") from None
        os.utime(path)
        return data

    def expire(self) -> int:
        """Removes blobs nobody put or read for ``max_age`` seconds; returns how many went."""
        cutoff, removed = self.clock() - self.max_age, 0
        for path in self.root.glob("??/*"):
            try:
                if KEY.match(path.name) and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process expired it first
                continue
        return removed

    def _maybe_sweep(self) -> None:
        with self._lock:
            due = self.clock() - self._swept >= self.sweep_every
            if due:
                self._swept = self.clock()
        if due:
            self.expire()


@functools.lru_cache(maxsize=1)
def default_store() -> LocalStore:
    """The app's store: ``<cache>/store`` (``$TRANSFER_LAB_CACHE``), one per process."""
    from core.data.downloads import cache_dir

    return LocalStore(cache_dir("store"))


def put_array(store: Store, array: np.ndarray) -> str:
    """A NumPy array (a photo's pixels, an image) as ``.npy`` bytes; the key of exactly these values."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return store.put(buffer.getvalue())


def get_array(store: Store, key: str) -> np.ndarray:
    """The array ``put_array`` stored (no pickles are ever loaded)."""
    return np.load(io.BytesIO(store.get(key)), allow_pickle=False)
