"""The architecture holds: import-linter's contracts (pyproject.toml) are kept, and every
module is in one of their layers, so a new module cannot slip past them unplaced."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
REASON = "imported here:"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _layered() -> set[str]:
    (layers,) = [c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers"]
    return {name.strip().strip("()") for layer in layers for name in re.split(r"[:|]", layer)}


def test_the_import_contracts_are_kept():
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_every_module_is_in_a_layer():
    graph = grimp.build_graph(*CONFIG["root_packages"], include_external_packages=False)
    layered = _layered()
    unplaced = []
    for module in sorted(graph.modules):
        parts = module.split(".")
        if any(".".join(parts[:n]) in layered for n in range(1, len(parts) + 1)):
            continue
        if graph.find_children(module):  # a package split across layers: its __init__ is a docstring
            assert not graph.find_modules_directly_imported_by(module), f"{module}/__init__.py imports"
            continue
        unplaced.append(module)
    assert not unplaced, f"put these in a layer of pyproject.toml's import contracts: {unplaced}"


def _function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each import inside a function that has no written reason beside it."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                here = lines[inner.lineno - 1]
                above = lines[inner.lineno - 2] if inner.lineno > 1 else ""
                if REASON not in here and REASON not in above:
                    found.append((inner.lineno, here.strip()))
    return sorted(set(found))


def test_imports_inside_functions_say_why():
    """An import inside a function is there for a reason written beside it ("# imported
    here: ..."): an optional heavy dependency, or a process that must not load it. None is
    there to dodge an import circle (the contracts above forbid circles)."""
    files = [path for package in CONFIG["root_packages"]
             for path in sorted((ROOT / package).rglob("*.py"))]
    files += [ROOT / "wsgi.py", ROOT / "gunicorn.conf.py"]
    unexplained = [f"{path.relative_to(ROOT)}:{line}: {text}"
                   for path in files for line, text in _function_imports(path)]
    assert not unexplained, "\n".join(unexplained)
