"""The map in helpers/__init__.py and the notebooks that modules say they come from stay true."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MAP_ROW = re.compile(r"^\| ``([\w.]+)`` .*\| `(\d\d)(_\w+)?`")
DERIVED = re.compile(r"(?:derived|introduced) in\s+`(\d\d_\w+)`", re.IGNORECASE)


def _map() -> dict[str, str]:
    """module -> notebook prefix or slug, from the tables of helpers/__init__.py."""
    rows = {}
    for line in helpers.__doc__.splitlines():
        match = MAP_ROW.match(line)
        if match:
            rows[match[1]] = match[2] + (match[3] or "")
    return rows


def _all_modules() -> list[str]:
    return sorted(
        name.removeprefix("helpers.")
        for _, name, _ in pkgutil.walk_packages(helpers.__path__, "helpers.")
    )


@cache
def _notebook_source(slug: str) -> str:
    path = NOTEBOOKS / f"{slug}.ipynb"
    assert path.is_file(), f"{slug} names no notebook in notebooks/"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def test_the_map_names_modules_that_exist_and_notebooks_that_exist():
    rows = _map()
    assert len(rows) >= 12, "the map in helpers/__init__.py lost its rows"
    for module, notebook in rows.items():
        importlib.import_module(f"helpers.{module}")
        matches = sorted(NOTEBOOKS.glob(f"{notebook}*.ipynb"))
        assert matches, f"the map says {module} belongs to {notebook}: no such notebook"


def test_every_module_is_on_the_map():
    rows = _map()
    for module in _all_modules():
        covered = any(module == row or module.startswith(row + ".") for row in rows)
        assert covered or module == "_utils", f"helpers.{module} is not on the map"


@pytest.mark.parametrize("module", _all_modules())
def test_module_docstring_names_its_notebook_and_the_names_really_appear_there(module):
    mod = importlib.import_module(f"helpers.{module}")
    if module == "_utils":
        return
    doc = mod.__doc__ or ""
    assert doc.strip(), f"helpers.{module} has no docstring"
    row = _map().get(module)
    if row is not None and "_" in row:
        assert f"`{row}" in doc.split("\n\n")[0], (
            f"the map puts helpers.{module} in {row}, but its docstring's first paragraph "
            "does not name that notebook"
        )
    derived = DERIVED.search(doc.split("\n\n")[0])
    if derived:
        source = _notebook_source(derived[1])
        missing = [n for n in getattr(mod, "__all__", []) if not re.search(rf"\b{n}\b", source)]
        assert not missing, (
            f"helpers.{module} says it is derived in {derived[1]}, which never mentions {missing}"
        )


@pytest.mark.parametrize(
    "module",
    [m for m in _all_modules() if m.startswith("exercises.") and m != "exercises.checking"],
)
def test_every_checker_is_called_in_the_notebook_its_module_is_named_after(module):
    mod = importlib.import_module(f"helpers.{module}")
    slug = re.search(r"`(\d\d_\w+)`", mod.__doc__)[1]
    assert slug.endswith(module.removeprefix("exercises.")), (
        f"helpers.{module} should be named after its notebook {slug}"
    )
    checkers = [name for name in dir(mod) if name.startswith("check_")]
    assert checkers, f"helpers.{module} defines no checker"
    source = _notebook_source(slug)
    for name in checkers:
        assert f"{name}(" in source, f"{name} is never called in {slug}"


def test_no_per_function_provenance_tags():
    """Provenance lives in module docstrings, where a test can keep it true."""
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node) or ""
                assert not DERIVED.search(doc), (
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: per-function "
                    "'derived in' tag; say it once in the module docstring"
                )
