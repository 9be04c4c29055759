"""Classroom limits are the widgets' ranges; personal mode keeps today's ranges."""

from __future__ import annotations

from tests.conftest import open_page

PAGE = "app_pages/transfer_training.py"


def test_the_teachers_limits_bound_epochs_and_photos_per_class(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MODE", "classroom")
    monkeypatch.setenv("TRANSFER_LAB_MAX_EPOCHS", "5")
    monkeypatch.setenv("TRANSFER_LAB_MAX_PHOTOS_PER_CLASS", "30")
    at = open_page(PAGE)
    assert not at.exception
    epochs, per_class = at.number_input(key="tt_epochs"), at.number_input(key="tt_per_class")
    assert (epochs.max, epochs.value) == (5, 5)
    assert (per_class.min, per_class.max, per_class.value) == (1, 30, 30)


def test_personal_mode_keeps_todays_ranges(monkeypatch):
    monkeypatch.delenv("TRANSFER_LAB_MODE", raising=False)
    at = open_page(PAGE)
    epochs, per_class = at.number_input(key="tt_epochs"), at.number_input(key="tt_per_class")
    assert (epochs.max, epochs.value) == (500, 20)
    assert (per_class.min, per_class.max, per_class.value) == (0, 10_000, 0)
