"""The README's quick-start and test commands, run as written in a fresh copy of the project whose first
``python3`` on PATH is Debian's own, which refuses pip installs (PEP 668).

Installing TensorFlow into a new environment takes minutes, so each test bounds it honestly: one lets
pip run inside the new ``.venv`` with no package source at all (PEP 668 no longer stops it; it stops
at "no matching distribution" instead), the others start from a ``.venv`` whose packages are already
in place, as on a second start, and run the commands to the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port

SYSTEM_PYTHON = Path("/usr/bin/python3")


def readme_commands() -> list[str]:
    """The one-line commands of the README's Quick start and Tests sections, in that order."""
    readme = (ROOT / "README.md").read_text()
    sections = [readme.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0] for title in ("Quick start", "Tests")]
    return [re.search(r"```bash\n(.+?)\n```", section, re.S)[1].strip() for section in sections]


@pytest.fixture
def fresh_copy(tmp_path) -> Path:
    """The project's files as a fresh clone has them (tracked and new, nothing ignored such as .venv)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    copy = tmp_path / "transfer-lab"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.fixture
def pep668_env(tmp_path) -> dict:
    """An environment whose first python3 is Debian's, with no venv or conda active."""
    marker = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert (Path(marker) / "EXTERNALLY-MANAGED").is_file(), "this test needs Debian's PEP 668 /usr/bin/python3"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(SYSTEM_PYTHON)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")}
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}"}


def seed_venv(project: Path) -> None:
    """A .venv of Debian's python3 that already sees this interpreter's installed packages (a second start)."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", "--system-site-packages",
                    str(project / ".venv")], check=True)
    site = next((project / ".venv" / "lib").glob("python3*/site-packages"))
    ours = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    (site / "installed.pth").write_text("\n".join(ours) + "\n")


def test_the_readme_commands_are_the_scripts_ci_runs():
    assert readme_commands() == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("\nbash scripts/test.sh")


@pytest.mark.slow  # a copy of the project and a new virtual environment
def test_quick_start_gets_past_pep668_into_a_new_venv(fresh_copy, pep668_env, tmp_path):
    refused = subprocess.run("python3 -m pip install -r requirements.txt", shell=True, cwd=fresh_copy,
                             env=pep668_env, capture_output=True, text=True, timeout=120)
    assert "externally-managed-environment" in refused.stderr  # the old quick start, on this python3
    no_source = tmp_path / "no-wheels"
    no_source.mkdir()
    env = {**pep668_env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(no_source)}
    done = subprocess.run(readme_commands()[0], shell=True, cwd=fresh_copy, env=env, capture_output=True,
                          text=True, timeout=150)
    output = done.stdout + done.stderr
    assert "externally-managed-environment" not in output
    assert "No matching distribution found" in output  # pip ran, inside the venv, and only lacked packages
    assert (fresh_copy / ".venv" / "bin" / "python").resolve() == SYSTEM_PYTHON.resolve()


@pytest.mark.slow  # a copy of the project and a new virtual environment
def test_quick_start_serves_the_app_from_the_venv(fresh_copy, pep668_env, tmp_path):
    seed_venv(fresh_copy)
    port = _free_port()
    env = {**pep668_env, "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "TRANSFER_LAB_CACHE": str(tmp_path / "cache")}
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen(readme_commands()[0], shell=True, cwd=fresh_copy, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    assert answer.read() == b"ok"
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the app did not start:\n{(tmp_path / 'run.log').read_text()[-3000:]}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    assert "externally-managed-environment" not in (tmp_path / "run.log").read_text()


@pytest.mark.slow  # a copy of the project and a new virtual environment
def test_test_command_runs_pytest_from_the_venv(fresh_copy, pep668_env):
    seed_venv(fresh_copy)
    done = subprocess.run(f"{readme_commands()[1]} -p no:cacheprovider tests/test_architecture.py", shell=True,
                          cwd=fresh_copy, env=pep668_env, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout)
    version = subprocess.run([str(SYSTEM_PYTHON), "--version"], capture_output=True, text=True).stdout.split()[1]
    assert f"Python {version}, pytest" in done.stdout  # pytest ran on the .venv made from Debian's python3
