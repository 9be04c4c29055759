"""The path through the lab: the four steps, what this session has done in each, and where to go next.

Pages call ``next_step_ui(page)`` once, as their last line; Home also calls ``lab_path_ui()``. What a
learner has done is read from the session state the pages already keep (runs, gallery, attack result);
only "has seen Feature maps" needs a record of its own (``ui.state.visited_pages``), kept here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from ui.i18n import current_language, t, translate
from ui.state import ADVERSARIAL, IDEAL, TRANSFER, VISITED, progress, visited_pages
from ui.text import plain


@dataclass(frozen=True)
class Step:
    """One page of the lab: its name in ``app_pages`` and its icon (title and lesson: ``titles()``, ``teaches()``)."""

    page: str
    icon: str

    @property
    def path(self) -> str:
        return f"app_pages/{self.page}.py"


HOME = Step("home", "🏠")
STEPS = (Step("feature_maps", "🔍"), Step("transfer_training", "🎓"), Step("ideal_cat", "🐱"),
         Step("adversarial_dog", "🐶"))


def titles() -> dict[str, str]:
    """Each step's title in the learner's language (the sidebar's page titles)."""
    return {"home": t("app.page.home"), "feature_maps": t("app.page.feature_maps"),
            "transfer_training": t("app.page.transfer_training"), "ideal_cat": t("app.page.ideal_cat"),
            "adversarial_dog": t("app.page.adversarial_dog")}


def teaches() -> dict[str, str]:
    """What each step teaches, in the learner's language."""
    return {"home": t("path.teaches_home"), "feature_maps": t("path.teaches_feature_maps"),
            "transfer_training": t("path.teaches_transfer_training"), "ideal_cat": t("path.teaches_ideal_cat"),
            "adversarial_dog": t("path.teaches_adversarial_dog")}


def done_so_far(state: Mapping, lang: str = "en") -> dict[str, str]:
    """What this session has done on each step, in words of ``lang`` ('' where nothing yet).

    Args:
        state: ``ui.state.progress()``, or any mapping with the same keys.
        lang: the learner's language.

    Returns:
        Step page name -> a short description of what was done.
    """
    accuracies, gallery, attack = _run_accuracies(state), _gallery(state), _attack(state)
    runs, best = accuracies, max(accuracies, default=0.0)
    if not runs:
        trained = ""
    elif len(runs) == 1:
        trained = translate("path.done_one_run", lang, accuracy=best)
    else:
        trained = translate("path.done_runs", lang, count=len(runs), accuracy=best)
    return {
        "feature_maps": translate("path.done_seen", lang) if "feature_maps" in (state.get(VISITED) or ()) else "",
        "transfer_training": trained,
        "ideal_cat": "" if not gallery else (translate("path.done_one_image", lang) if len(gallery) == 1
                                              else translate("path.done_images", lang, count=len(gallery))),
        "adversarial_dog": translate("path.done_attack", lang, photo=plain(attack[0]), eps=attack[1]) if attack else "",
    }


# Each page's state, read through ui/state.py's keys.
def _run_accuracies(state: Mapping) -> list[float]:
    page = state.get(TRANSFER)
    return [run.accuracy for run in page.runs] if page is not None else []


def _gallery(state: Mapping) -> list:
    page = state.get(IDEAL)
    return page.gallery if page is not None else []


def _attack(state: Mapping) -> tuple[str, float] | None:
    page = state.get(ADVERSARIAL)
    if page is not None and getattr(page, "result", None) is not None:
        return page.result.photo, page.result.config.eps
    return None


def lab_path_ui() -> None:
    """Home's map of the lab: each step as a link, with what this session has done there."""
    done, names, what = done_so_far(progress(), current_language()), titles(), teaches()
    st.subheader(t("path.title"))
    for number, step in enumerate(STEPS, start=1):
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.page_link(step.path, label=f"{number}. {names[step.page]}", icon=step.icon)
        right.markdown(f"✅ {done[step.page]}" if done[step.page] else f"*{what[step.page]}*")


def next_step_ui(page: str) -> None:
    """The end of a page: a link to the next step (or back Home after the last); remembers the visit."""
    order = [HOME.page, *(step.page for step in STEPS)]
    if page not in order:
        raise ValueError(f"page must be one of {', '.join(order)}, got {page!r}")
    visited_pages().add(page)
    position = order.index(page)
    st.divider()
    if position < len(STEPS):
        step = STEPS[position]
        st.page_link(step.path, label=t("path.next", title=titles()[step.page], teaches=teaches()[step.page]),
                     icon="👉")
    else:
        st.page_link(HOME.path, label=t("path.back_home"), icon="🏠")
