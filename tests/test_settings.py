"""The teacher's settings: modes, data folders and limits, with bad values named."""

import os

import pytest

from core.settings import CLASSROOM, PERSONAL, Limits, SettingsError, is_loopback, settings_from_env


@pytest.mark.parametrize(
    ("address", "mode"),
    [("localhost", PERSONAL), ("127.0.0.1", PERSONAL), ("::1", PERSONAL), ("0.0.0.0", CLASSROOM),
     ("", CLASSROOM), (None, CLASSROOM), ("192.168.1.10", CLASSROOM)],
)
def test_mode_follows_the_address_when_unset(address, mode):
    assert settings_from_env({}, address).mode == mode


def test_mode_variable_wins_over_the_address():
    assert settings_from_env({"TRANSFER_LAB_MODE": "classroom"}, "localhost").classroom
    assert not settings_from_env({"TRANSFER_LAB_MODE": " Personal "}, "0.0.0.0").classroom


def test_bad_mode_is_named():
    with pytest.raises(SettingsError, match="TRANSFER_LAB_MODE.*'teacher'"):
        settings_from_env({"TRANSFER_LAB_MODE": "teacher"}, "localhost")


def test_classroom_has_default_limits_and_personal_has_none():
    assert settings_from_env({}, "0.0.0.0").limits.max_epochs == 50
    assert settings_from_env({}, "localhost").limits == Limits()


def test_a_set_limit_applies_in_both_modes():
    env = {"TRANSFER_LAB_STEP_CAP": "16"}
    assert settings_from_env(env, "localhost").limits.max_ideal_steps == 16
    assert settings_from_env(env, "0.0.0.0").limits.max_ideal_steps == 16


@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5"])
def test_bad_limit_is_named(value):
    with pytest.raises(SettingsError, match=f"TRANSFER_LAB_STEP_CAP.*{value!r}"):
        settings_from_env({"TRANSFER_LAB_STEP_CAP": value}, "localhost")


def test_cap_never_exceeds_the_personal_range():
    limits = Limits(max_epochs=500, max_fine_tune_blocks=2)
    assert limits.cap("max_epochs", 200) == 200
    assert limits.cap("max_fine_tune_blocks", 10) == 2
    assert Limits().cap("max_epochs", 200) == 200


def test_data_dirs_are_checked_and_resolved(tmp_path):
    (tmp_path / "a").mkdir()
    env = {"TRANSFER_LAB_DATA_DIRS": f"{tmp_path / 'a'}{os.pathsep}"}
    assert settings_from_env(env, "0.0.0.0").data_dirs == ((tmp_path / "a").resolve(),)
    with pytest.raises(SettingsError, match="TRANSFER_LAB_DATA_DIRS.*missing"):
        settings_from_env({"TRANSFER_LAB_DATA_DIRS": str(tmp_path / "missing")}, "0.0.0.0")


def test_heavy_slots_default_to_one_per_gpu():
    assert settings_from_env({}, "0.0.0.0").heavy_slots == 1
    assert settings_from_env({}, "0.0.0.0", gpus=2).heavy_slots == 2
    assert settings_from_env({"TRANSFER_LAB_HEAVY_SLOTS": "3"}, "0.0.0.0").heavy_slots == 3


def test_loopback_names():
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("example.org")


def test_the_attack_has_its_own_step_limit_not_the_ideal_images():
    env = {"TRANSFER_LAB_MAX_ATTACK_STEPS": "7", "TRANSFER_LAB_STEP_CAP": "300"}
    limits = settings_from_env(env, "localhost").limits
    assert (limits.max_attack_steps, limits.max_ideal_steps) == (7, 300)
    assert settings_from_env({}, "0.0.0.0").limits.max_attack_steps == 50  # the classroom default


def test_the_readme_lists_every_limit_with_its_classroom_default():
    from core.settings import LIMIT_VARIABLES
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, (_, default) in LIMIT_VARIABLES.items() if f"| `{name}` | {default} |" not in readme]
    assert missing == []
