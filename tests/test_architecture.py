"""House rules that keep the layers apart."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.joinpath("core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == [], f"core/ must stay free of Streamlit: {offenders}"


def test_core_never_imports_torch():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.joinpath("core").rglob("*.py") if "torch" in _imports(p)]
    assert offenders == [], f"no torch at run time: {offenders}"


def test_the_import_check_sees_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from streamlit import session_state\n")
    assert "streamlit" in _imports(bad)


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
