"""Class names in the learner's language: ImageNet-1k classes and Oxford-IIIT Pet breeds.

English names and their search come from ``core.models.imagenet`` (the one source of the class table); this module
adds the reviewed Chinese names and a search over both languages.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from core.models import imagenet

ASSETS = Path(__file__).resolve().parents[2] / "assets"
LANGUAGES = ("en", "zh")


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")


@functools.lru_cache(maxsize=1)
def _imagenet_zh() -> dict[int, str]:
    """Reads the reviewed Chinese names once; index -> name."""
    rows = json.loads((ASSETS / "imagenet_classes_zh.json").read_text(encoding="utf-8"))
    return {int(row["index"]): row["zh"] for row in rows}


@functools.lru_cache(maxsize=1)
def _breeds_zh() -> dict[str, str]:
    return json.loads((ASSETS / "pet_breeds_zh.json").read_text(encoding="utf-8"))


def class_name(index: int, lang: str = "en") -> str:
    """Returns the display name of ImageNet class ``index`` in ``lang`` ("en" or "zh")."""
    _check_lang(lang)
    english = imagenet.class_name(index)  # also checks the index
    return _imagenet_zh()[int(index)] if lang == "zh" else english


def breed_name(breed: str, lang: str = "en") -> str:
    """Returns a pet breed (file-name form, e.g. ``shiba_inu``) or species in ``lang``."""
    _check_lang(lang)
    if lang == "zh":
        return _breeds_zh().get(breed, breed)
    return breed.replace("_", " ")


def search_classes(query: str, lang: str = "en") -> list[int]:
    """Returns class indices whose English name (or synonym) or Chinese name matches ``query``.

    Both languages are searched whatever ``lang`` is, so a learner can type either; ``lang``
    only orders the hits (matches in the display language first). English hits come in
    ``core.models.imagenet.search_classes``'s order (exact name first), Chinese ones in index order.
    """
    _check_lang(lang)
    needle = query.strip().casefold()
    if not needle:
        return []
    english = [i for i, _ in imagenet.search_classes(needle, limit=imagenet.NUM_CLASSES)]
    chinese = [i for i, name in sorted(_imagenet_zh().items()) if needle in name.casefold()]
    first, second = (chinese, english) if lang == "zh" else (english, chinese)
    seen = set(first)
    return first + [i for i in second if i not in seen]
