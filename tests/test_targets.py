"""One ``Target`` for both pages: ImageNet classes, a named group, one of the learner's own classes, or untargeted,
checked when it is made (a bad one is a ValueError before any work starts)."""

from __future__ import annotations

import pytest

from core.models.imagenet import CAT_CLASSES
from ui.targets import SIAMESE, Target


def test_each_kind_of_target_says_what_it_aims_at():
    assert Target() == Target.imagenet(SIAMESE) == Target((SIAMESE,))
    cats = Target.of_group("any_cat")
    assert cats.classes == CAT_CLASSES and not cats.trained and not cats.untargeted
    own = Target.own(1, "Bengal")
    assert own.trained and own.classes == (1,) and own.name == "Bengal"
    assert Target.imagenet().untargeted and not Target.imagenet().trained
    assert Target.own(None).untargeted and Target.own(None).trained


def test_targets_are_frozen_values_that_key_a_result():
    target = Target.imagenet(281, 282)
    assert target == Target.imagenet(281, 282) and hash(target) == hash(Target.imagenet(281, 282))
    assert Target.own(0) != Target.imagenet(0)  # the same number names another network's class
    with pytest.raises(AttributeError):
        target.classes = (1,)


@pytest.mark.parametrize(("made", "words"), [
    (lambda: Target([284]), "tuple of class numbers"),
    (lambda: Target(("284",)), "tuple of class numbers"),
    (lambda: Target((True,)), "tuple of class numbers"),
    (lambda: Target.imagenet(284, 284), "each class once"),
    (lambda: Target.imagenet(-1), "start at 0"),
    (lambda: Target.imagenet(1000), "ImageNet has classes 0 to 999, not 1000"),
    (lambda: Target.own(-2), "start at 0"),
    (lambda: Target.of_group("any_dog"), "'any_dog'"),
    (lambda: Target((SIAMESE,), group="any_cat"), "group"),
    (lambda: Target(CAT_CLASSES, trained=True, group="any_cat"), "group"),
    (lambda: Target((SIAMESE,), name="cat"), "own classes has a name"),
    (lambda: Target((0, 1), trained=True, name="cat"), "own classes has a name"),
])
def test_a_target_that_cannot_be_is_refused_when_made(made, words):
    with pytest.raises(ValueError, match=words):
        made()


def test_own_classes_are_not_bounded_by_imagenet():
    assert Target.own(1500, "class 1500").classes == (1500,)
