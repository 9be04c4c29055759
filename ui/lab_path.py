"""The path through the lab: the four steps, what this session has done in each, and where to go next.

Pages call ``next_step_ui(page)`` once, as their last line; Home also calls ``lab_path_ui()``. What a
learner has done is read from the session state the pages already keep (runs, gallery, attack result);
only "has seen Feature maps" needs a key of its own, set here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

VISITED_KEY = "lab_visited"


@dataclass(frozen=True)
class Step:
    """One page of the lab: its name in ``app_pages``, title, icon and what it teaches."""

    page: str
    title: str
    icon: str
    teaches: str

    @property
    def path(self) -> str:
        return f"app_pages/{self.page}.py"


HOME = Step("home", "Home", "🏠", "try the network on a photo")
STEPS = (
    Step("feature_maps", "Feature maps", "🔍", "what each stage of the network extracts from a photo"),
    Step("transfer_training", "Transfer training", "🎓", "train a small classifier on top of the frozen network"),
    Step("ideal_cat", "Ideal cat", "🐱", 'the image the network finds most "cat"'),
    Step("adversarial_dog", "Adversarial dog", "🐶", "an invisible change that turns a dog into a cat"),
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def done_so_far(state: Mapping) -> dict[str, str]:
    """What this session has done on each step, in words ('' where nothing yet).

    Args:
        state: ``st.session_state`` or any mapping with the same keys.

    Returns:
        Step page name -> a short description of what was done.
    """
    runs = state.get("tt_runs") or []
    best = max((run["evaluation"].accuracy for run in runs), default=0.0)
    gallery = state.get("ideal_gallery") or []
    attack = state.get("adv_result")
    return {
        "feature_maps": "seen" if "feature_maps" in (state.get(VISITED_KEY) or ()) else "",
        "transfer_training": f"{_plural(len(runs), 'run')}, best validation accuracy {best:.0%}" if runs else "",
        "ideal_cat": f"{_plural(len(gallery), 'image')} made" if gallery else "",
        "adversarial_dog": (f"attacked {attack['photo']} (epsilon {attack['config'].eps})" if attack else ""),
    }


def lab_path_ui() -> None:
    """Home's map of the lab: each step as a link, with what this session has done there."""
    done = done_so_far(st.session_state)
    st.subheader("The path through the lab")
    for number, step in enumerate(STEPS, start=1):
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.page_link(step.path, label=f"{number}. {step.title}", icon=step.icon)
        right.markdown(f"✅ {done[step.page]}" if done[step.page] else f"*{step.teaches}*")


def next_step_ui(page: str) -> None:
    """The end of a page: a link to the next step (or back Home after the last); remembers the visit."""
    order = [HOME.page, *(step.page for step in STEPS)]
    if page not in order:
        raise ValueError(f"page must be one of {', '.join(order)}, got {page!r}")
    st.session_state.setdefault(VISITED_KEY, set()).add(page)
    position = order.index(page)
    st.divider()
    if position < len(STEPS):
        step = STEPS[position]
        st.page_link(step.path, label=f"Next: {step.title}, {step.teaches}", icon="👉")
    else:
        st.page_link(HOME.path, label="Back to Home: see the whole path and what you have done", icon="🏠")
