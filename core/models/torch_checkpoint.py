"""Read legacy PyTorch ``.pth`` state dicts without importing torch.

A ``.pth`` file is a pickle, and an unrestricted unpickler runs whatever code
the file names. This reader resolves only the globals a plain state dict needs
(tensor rebuild helpers, storage types, ``OrderedDict``) and refuses the rest.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """A checkpoint file is damaged, tampered with or of an unsupported kind."""


class _Storage:
    """A typed storage whose bytes follow the pickle in the file."""

    def __init__(self, dtype, numel):
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.array = None


class _PendingTensor:
    """A tensor view of a storage, materialised once the storage is read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def to_numpy(self):
        """Copy this view out of its storage into a contiguous array."""
        base = self.storage.array
        if not self.size:
            return base[self.offset].copy()
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:],
            shape=self.size,
            strides=[s * item for s in self.stride],
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage, offset, size, stride, *unused):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``."""
    return _PendingTensor(storage, offset, size, stride)


def _rebuild_parameter(data, *unused):
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its data."""
    return data


_ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that maps the allowed torch globals to local stand-ins."""

    def __init__(self, file, storages):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise CheckpointError(
            f"refusing to load {module}.{name}: a weights file may only contain "
            "tensors, and this one asks to run other code"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent id in checkpoint: {pid!r}")
        dtype, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        if key not in self._storages:
            self._storages[key] = _Storage(dtype, numel)
        return self._storages[key]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Returns the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _safe_load(handle):
    """Loads one plain pickle (header records) through the restricted unpickler."""
    return _RestrictedUnpickler(handle, {}).load()


def _read_storages(handle, keys, storages):
    """Reads each storage's raw bytes, in the order the file lists them."""
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise CheckpointError(f"checkpoint lists unknown storage {key!r}")
        numel = int(np.frombuffer(handle.read(8), "<i8")[0])
        data = handle.read(numel * storage.dtype.itemsize)
        if numel != storage.numel or len(data) != numel * storage.dtype.itemsize:
            raise CheckpointError("checkpoint is truncated or its storage sizes disagree")
        storage.array = np.frombuffer(data, storage.dtype.newbyteorder("<"))


def load_state_dict(path: str | Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Reads a legacy (non-zip) PyTorch state dict as NumPy arrays.

    Args:
        path: the ``.pth`` file.
        sha256: if given, the file's expected SHA-256; checked before reading.

    Returns:
        An ordered mapping from parameter name to array.

    Raises:
        CheckpointError: the hash differs, the file is not a legacy state dict,
            or its pickle names anything but tensors.
    """
    path = Path(path)
    if sha256 is not None and sha256_file(path) != sha256:
        raise CheckpointError(f"{path.name}: SHA-256 does not match the pinned value; refusing to read it")
    raw = path.read_bytes()
    if raw[:2] == b"PK":
        raise CheckpointError(f"{path.name}: zip-format checkpoints are not supported")
    handle = io.BytesIO(raw)
    try:
        if _safe_load(handle) != LEGACY_MAGIC:
            raise CheckpointError(f"{path.name}: not a PyTorch legacy checkpoint")
        _safe_load(handle)  # protocol version
        _safe_load(handle)  # system info
        storages: dict[str, _Storage] = {}
        result = _RestrictedUnpickler(handle, storages).load()
        _read_storages(handle, _safe_load(handle), storages)
    except (pickle.UnpicklingError, EOFError, IndexError, TypeError) as exc:
        raise CheckpointError(f"{path.name}: damaged checkpoint ({exc})") from exc
    return collections.OrderedDict((k, v.to_numpy()) for k, v in result.items())
