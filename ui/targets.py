"""What a page aims at: ImageNet classes, a named group of them, one of the learner's own classes, or nothing.

Ideal cat makes an image a classifier calls its target; Adversarial dog changes a photo until the classifier calls
it the target, or anything but what it first saw (untargeted: no classes). Both pages choose a ``Target``; each
says its name in the learner's language itself (``ui.ideal_cat.target_name``, ``ui.adversarial.target_label``), so
this module needs no Streamlit and no catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.imagenet import CAT_CLASSES, NUM_CLASSES

SIAMESE = 284
GROUPS: dict[str, tuple[int, ...]] = {"any_cat": CAT_CLASSES}  # named groups of ImageNet classes


@dataclass(frozen=True)
class Target:
    """The classes aimed at, and whose they are.

    ``classes`` are ImageNet class numbers, or (``trained``) numbers of the learner's own classifier; none:
    untargeted. ``group`` names a group of ImageNet classes (``GROUPS``); ``name`` is one own class as the learner
    read it when choosing (Ideal cat's gallery keeps it, whatever the model is later).
    """

    classes: tuple[int, ...] = (SIAMESE,)
    trained: bool = False
    group: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        _check_classes(self.classes, imagenet=not self.trained)
        if self.group and (self.trained or GROUPS.get(self.group) != self.classes):
            raise ValueError(f"a target group is one of {sorted(GROUPS)} with its ImageNet classes, "
                             f"not {self.group!r} with {self.classes}")
        if self.name and not (self.trained and len(self.classes) == 1):
            raise ValueError("only a target of one of the learner's own classes has a name")

    @classmethod
    def imagenet(cls, *classes: int) -> Target:
        """ImageNet classes, e.g. ``Target.imagenet(284)``; none: untargeted."""
        return cls(tuple(classes))

    @classmethod
    def of_group(cls, group: str) -> Target:
        """A named group of ImageNet classes, e.g. ``Target.of_group("any_cat")``."""
        return cls(GROUPS.get(group, ()), group=group)

    @classmethod
    def own(cls, index: int | None, name: str = "") -> Target:
        """One class of the learner's classifier by its number (``None``: untargeted), perhaps with its name."""
        return cls(() if index is None else (index,), trained=True, name=name)

    @property
    def untargeted(self) -> bool:
        """No class aimed at: anything but what the classifier first saw."""
        return not self.classes


def _check_classes(classes: tuple[int, ...], imagenet: bool) -> None:
    """Class numbers: a tuple of distinct whole numbers from 0 (below ImageNet's count for ImageNet classes)."""
    if not isinstance(classes, tuple) or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        raise ValueError(f"a target's classes are a tuple of class numbers, not {classes!r}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"a target names each class once, not {classes}")
    if any(c < 0 for c in classes):
        raise ValueError(f"class numbers start at 0, not {min(classes)}")
    if imagenet and any(c >= NUM_CLASSES for c in classes):
        raise ValueError(f"ImageNet has classes 0 to {NUM_CLASSES - 1}, not {max(classes)}")
