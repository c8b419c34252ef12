"""environment.yml (conda, Binder) and pyproject.toml (pip) must describe the same course."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch-gpu": "torch", "pytorch": "torch"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*([^;]*?)\s*(;.*)?$")


def _split(requirement: str) -> tuple[str, str, str | None]:
    match = REQUIREMENT.match(requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    name, spec, marker = match.groups()
    return name.lower().replace("_", "-"), spec.replace(" ", ""), marker


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_requirements(pyproject: dict) -> dict[str, str]:
    project = pyproject["project"]
    requirements = {}
    for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name, spec, marker = _split(line)
        if marker is None:  # marker-only shims (tomli on 3.10) have no conda counterpart
            requirements[name] = spec
    return requirements


def _conda_requirements(environment: dict) -> dict[str, str]:
    requirements = {}
    for item in environment["dependencies"]:
        if isinstance(item, str):
            # conda's exact pin `python=3.11` is pip's `python==3.11`
            name, spec, _ = _split(re.sub(r"(?<![<>=!])=(?!=)", "==", item))
            requirements[CONDA_TO_PYPI.get(name, name)] = spec
    return requirements


def test_same_packages_and_ranges(pyproject, environment):
    pip = _pip_requirements(pyproject)
    conda = _conda_requirements(environment)
    conda.pop("python")
    conda.pop("pip")
    assert set(conda) == set(pip), (
        f"only in environment.yml: {sorted(set(conda) - set(pip))}; "
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}"
    )
    differing = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert not differing, f"version ranges differ (pyproject, environment.yml): {differing}"


def test_binder_python_pin_is_exact_and_allowed(pyproject, environment):
    pins = [d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pins) == 1 and re.fullmatch(r"python=3\.\d+", pins[0]), (
        f"Binder needs exactly one pin of the form python=3.X; got {pins}"
    )
    minor = int(pins[0].split(".")[1])
    lowest = int(re.search(r">=3\.(\d+)", pyproject["project"]["requires-python"]).group(1))
    assert minor >= lowest


def test_environment_installs_the_course_itself(environment):
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-e ."]]
    assert environment["channels"] == ["conda-forge"]


def test_constraints_pin_every_direct_dependency(pyproject):
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.lower().replace("_", "-")] = version
    assert pinned.get("torch") == "2.13.0"
    missing = set(_pip_requirements(pyproject)) - set(pinned)
    assert not missing, f"constraints.txt pins no version of {sorted(missing)}"
