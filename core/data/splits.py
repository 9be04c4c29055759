"""Seeded stratified train/validation splits that keep near-duplicate photos on one side.

The Oxford-IIIT Pet set holds the same photograph under different names (at
different sizes), so an exact-hash check misses them. A 64-bit difference
hash (dHash) of the photo does not: copies differ by a bit or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

DUPLICATE_DISTANCE = 4


def dhash(image: np.ndarray) -> int:
    """The 64-bit difference hash of an RGB photo: is each pixel brighter than its right neighbour.

    Args:
        image: ``(h, w, 3)`` ``uint8``.

    Returns:
        The hash as a Python int in [0, 2**64).
    """
    # Lanczos averages the whole photo into the 9x8 grid, so a resized copy hashes alike (1 bit apart for
    # odd/Abyssinian_11.jpg); bilinear samples too few pixels and drifts by 5 bits.
    gray = Image.fromarray(np.asarray(image, np.uint8)).convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = np.asarray(gray, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (int(a) ^ int(b)).bit_count()


def near_duplicate_groups(hashes, max_distance: int = DUPLICATE_DISTANCE) -> list[list[int]]:
    """Groups photos whose hashes differ by at most ``max_distance`` bits (transitively).

    Args:
        hashes: one 64-bit dHash per photo.
        max_distance: bits that may differ between copies of one photo.

    Returns:
        Groups of two or more indices, each sorted, ordered by first index.
    """
    values = np.asarray([int(h) for h in hashes], dtype=np.uint64)
    parent = list(range(len(values)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, len(values), 512):
        block = values[start:start + 512, None] ^ values[None, :]
        rows, cols = np.nonzero(np.bitwise_count(block) <= max_distance)
        for i, j in zip(rows + start, cols):
            if i < j:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(values)):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


@dataclass(frozen=True, eq=False)
class Split:
    """Indices of the training and validation photos, and the duplicates found."""

    train: np.ndarray
    val: np.ndarray
    duplicate_groups: tuple[tuple[int, ...], ...] = ()
    crossing_groups: int = 0


def stratified_split(labels, val_fraction: float = 0.2, seed: int = 0, groups=()) -> Split:
    """Splits photos per class in a seeded random order, moving whole duplicate groups.

    Each class gives ``round(n * val_fraction)`` photos to validation (at least
    one when it has two or more). A group of near-duplicates is placed as one
    unit, on the side its first photo would go, so a photo can never be seen in
    training and again, renamed, in validation.

    Args:
        labels: class index per photo.
        val_fraction: share of each class for validation, in (0, 1).
        seed: the split's random seed.
        groups: near-duplicate groups (lists of indices) from ``near_duplicate_groups``.

    Returns:
        A ``Split`` with sorted index arrays (``crossing_groups`` is 0 by construction).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    labels = np.asarray(labels)
    units = _units(len(labels), groups)
    rng = np.random.default_rng(seed)
    val = []
    for label in np.unique(labels):
        class_units = [u for u in units if labels[u[0]] == label]
        size = sum(len(u) for u in class_units)
        want = max(1, int(round(size * val_fraction))) if size >= 2 else 0
        taken = 0
        for k in rng.permutation(len(class_units)):
            if taken >= want:
                break
            val.extend(class_units[k])
            taken += len(class_units[k])
    val = np.array(sorted(val), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), val)
    return Split(train, val, tuple(tuple(g) for g in groups), 0)


def _units(count: int, groups) -> list[list[int]]:
    """Photos as placement units: each duplicate group is one unit, every other photo its own."""
    grouped = {i for g in groups for i in g}
    units = [list(g) for g in groups]
    units.extend([i] for i in range(count) if i not in grouped)
    return sorted(units, key=lambda u: u[0])


def official_split(splits, groups=()) -> Split:
    """The dataset's own train/test split, kept as published; duplicates crossing it are counted.

    Args:
        splits: ``"train"`` or ``"test"`` per photo.
        groups: near-duplicate groups.

    Returns:
        A ``Split`` (validation is the official test part).
    """
    splits = np.asarray(splits)
    train = np.nonzero(splits == "train")[0]
    val = np.nonzero(splits != "train")[0]
    crossing = sum(1 for g in groups if len({splits[i] == "train" for i in g}) > 1)
    return Split(train, val, tuple(tuple(g) for g in groups), crossing)
