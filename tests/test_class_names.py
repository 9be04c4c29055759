"""Chinese class names: complete, reviewed-shape translations and a search that takes either language."""

import collections
import json
import re

import pytest

from core.models.class_names import ASSETS, breed_name, class_name, search_classes
from core.models.imagenet import class_names

CJK = re.compile(r"[\u4e00-\u9fff]")


def _zh_rows():
    return json.loads((ASSETS / "imagenet_classes_zh.json").read_text(encoding="utf-8"))


def test_every_imagenet_class_has_a_chinese_name_in_index_order():
    rows = _zh_rows()
    assert [row["index"] for row in rows] == list(range(1000))
    assert [row["name"] for row in rows] == class_names()
    assert all(CJK.search(row["zh"]) for row in rows)


def test_chinese_names_are_duplicated_only_where_english_ones_are():
    by_zh = collections.defaultdict(set)
    for row in _zh_rows():
        by_zh[row["zh"]].add(row["name"])
    assert {zh: names for zh, names in by_zh.items() if len(names) > 1} == {}


def test_class_name_in_both_languages():
    assert class_name(281, "zh") == "虎斑猫"
    assert class_name(207, "zh") == "金毛寻回犬"
    assert class_name(284, "en") == "Siamese cat"
    assert class_name(134, "zh") != class_name(517, "zh")


@pytest.mark.parametrize("bad", [(-1, "zh"), (1000, "en"), (3, "fr")])
def test_class_name_rejects_bad_index_or_language(bad):
    with pytest.raises(ValueError):
        class_name(*bad)


def test_every_pet_breed_in_the_data_has_a_chinese_name():
    breeds = json.loads((ASSETS / "pet_breeds_zh.json").read_text(encoding="utf-8"))
    assert len(breeds) == 37 + 2
    assert all(CJK.search(name) for name in breeds.values())
    assert breed_name("shiba_inu", "zh") == "柴犬"
    assert breed_name("cat", "zh") == "猫"
    assert breed_name("great_pyrenees", "en") == "great pyrenees"


def test_search_takes_chinese_or_english_whatever_the_language():
    assert 281 in search_classes("虎斑", "en")
    assert 281 in search_classes("TABBY", "zh")
    cats = search_classes("猫", "zh")
    assert {281, 282, 283, 284, 285} <= set(cats)
    assert search_classes("   ", "zh") == []
    assert search_classes("zzzz-no-such", "en") == []


def test_search_lists_display_language_matches_first():
    # "cat" matches English names; in Chinese mode the Chinese hits (none for "cat") come first,
    # so the order equals the English order: a learner still finds the class.
    assert search_classes("cat", "zh") == search_classes("cat", "en")
    assert search_classes("猫", "zh")[0] in search_classes("猫", "en")
