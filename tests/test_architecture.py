"""House rules that keep the layers apart."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_each_layer_imports_only_the_layers_below_it():
    """app.py > app_pages/ > ui/ > core/: a page may call core/ directly (a pure computation), never the reverse."""
    below = {"core": {"core"}, "ui": {"ui", "core"}, "app_pages": {"app_pages", "ui", "core"}}
    ours = {"core", "ui", "app_pages", "app"}
    offenders = {}
    for layer, allowed in below.items():
        for path in ROOT.joinpath(layer).rglob("*.py"):
            wrong = (_imports(path) & ours) - allowed
            if wrong:
                offenders[str(path.relative_to(ROOT))] = sorted(wrong)
    assert offenders == {}


def test_the_import_check_sees_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from streamlit import session_state\n")
    assert "streamlit" in _imports(bad)


@pytest.mark.slow
def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _core_package(module: str) -> str | None:
    """The core package a module belongs to: ``core.data.images`` -> ``core.data``; ``core.jobs`` stays itself."""
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def core_package_imports() -> dict[str, set[str]]:
    """Which core packages each core package imports, counting imports inside functions too."""
    graph: dict[str, set[str]] = {}
    for path in ROOT.joinpath("core").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        source = _core_package(module) if module != "core" else None
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            targets.update(p for p in map(_core_package, names) if p and p != source)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle through the graph, each once, as the packages along it."""
    cycles = set()

    def walk(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt):]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            else:
                walk(nxt, path + [nxt])

    for node in sorted(graph):
        walk(node, [node])
    return [list(c) for c in sorted(cycles)]


def test_core_packages_form_no_import_cycle():
    graph = core_package_imports()
    assert {"core.data", "core.transfer", "core.models"} <= set(graph)  # the walk sees the packages
    assert import_cycles(graph) == []


def test_the_cycle_check_sees_a_cycle_and_a_function_local_import(tmp_path):
    assert import_cycles({"core.a": {"core.b"}, "core.b": {"core.c"}, "core.c": {"core.a"}}) == [
        ["core.a", "core.b", "core.c"]]
    assert import_cycles({"core.a": {"core.b"}, "core.b": set()}) == []
    hidden = tmp_path / "hidden.py"
    hidden.write_text("def f():\n    from core.transfer.pipeline import train_steps\n")
    assert "core" in _imports(hidden)
