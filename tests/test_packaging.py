"""The project installs with pip: its metadata and console script match the code."""

import importlib
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_dependencies_are_read_from_requirements():
    project = pyproject()
    assert "dependencies" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]


def test_console_script_is_the_cli():
    module, _, name = pyproject()["project"]["scripts"]["transfer-lab"].partition(":")
    main = getattr(importlib.import_module(module), name)
    from core.cli import main as cli_main

    assert main is cli_main


@pytest.mark.slow
def test_editable_install_gives_a_working_console_script(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The new venv sees this interpreter's packages (pip, setuptools, numpy...), so nothing is downloaded.
    child_site = next((venv / "lib").glob("python3*/site-packages"))
    (child_site / "parent.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "--no-deps", "--no-build-isolation", "-e", str(ROOT)]
    subprocess.run(pip, check=True, cwd=tmp_path)
    done = subprocess.run([str(venv / "bin" / "transfer-lab"), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout and "attack" in done.stdout
