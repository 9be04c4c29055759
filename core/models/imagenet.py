"""ImageNet-1k class names and the cat and dog groups."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

CLASSES_FILE = Path(__file__).resolve().parents[2] / "assets" / "imagenet_classes.json"
CAT_CLASSES = tuple(range(281, 286))
DOG_CLASSES = tuple(range(151, 269))
NUM_CLASSES = 1000


@functools.lru_cache(maxsize=1)
def _classes() -> tuple[dict, ...]:
    """Reads the shipped class table once."""
    return tuple(json.loads(CLASSES_FILE.read_text()))


def class_names() -> list[str]:
    """Returns the 1000 short class names, in index order."""
    return [c["name"] for c in _classes()]


def class_name(index: int) -> str:
    """Returns the short display name of one class.

    Args:
        index: class index, 0 to 999.

    Returns:
        The name, for example ``"Siamese cat"``.
    """
    if not 0 <= int(index) < NUM_CLASSES:
        raise ValueError(f"ImageNet class index must be 0 to 999, got {index}")
    return class_names()[int(index)]


def search_classes(query: str, limit: int = 20) -> list[tuple[int, str]]:
    """Finds classes whose names or synonyms contain every word of a query.

    Args:
        query: words to look for, case-insensitive; an index also matches.
        limit: most results to return.

    Returns:
        ``(index, name)`` pairs, exact name matches first.
    """
    words = query.lower().split()
    if not words:
        return []
    names = class_names()
    hits = [
        (i, names[i]) for i, c in enumerate(_classes())
        if all(w in c["lemmas"].lower() or w == str(i) for w in words)
    ]
    hits.sort(key=lambda hit: _rank(hit, query.lower(), words))
    return hits[:limit]


def _rank(hit: tuple[int, str], query: str, words: list[str]) -> tuple:
    """Sort key: exact name, then whole-word matches, then name prefix, then index."""
    name = hit[1].lower()
    whole = all(re.search(rf"\b{re.escape(w)}\b", _classes()[hit[0]]["lemmas"].lower()) for w in words)
    return (name != query, not whole, not name.startswith(words[0]), hit[0])
