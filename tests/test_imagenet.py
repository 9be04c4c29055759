"""ImageNet class names and groups."""

import pytest

from core.models.imagenet import CAT_CLASSES, DOG_CLASSES, class_name, class_names, search_classes


def test_imagenet_has_1000_unique_names_and_the_cat_and_dog_groups():
    names = class_names()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert class_name(284) == "Siamese cat" and class_name(340) == "zebra" and class_name(0) == "tench"
    assert len(CAT_CLASSES) == 5 and len(DOG_CLASSES) == 118
    assert CAT_CLASSES == tuple(range(281, 286)) and DOG_CLASSES == tuple(range(151, 269))
    with pytest.raises(ValueError, match="0 to 999"):
        class_name(1000)


def test_search_prefers_whole_words_and_exact_names():
    assert [i for i, _ in search_classes("cat")[:5]] == [281, 282, 283, 284, 285]
    assert search_classes("siamese") == [(284, "Siamese cat")]
    assert search_classes("zebra")[0] == (340, "zebra")
    assert search_classes("   ") == []
