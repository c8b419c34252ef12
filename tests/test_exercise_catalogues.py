"""Every checker the course exports, whatever its notebook: the reference passes with one
success line, the mistake catalogue has at least three distinct mistakes, and each of them
is rejected with its own name and hint. New checkers are covered as soon as
`helpers.exercises` exports them."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import helpers.exercises as exercises
from helpers.exercises.checking import Checker

CHECKERS = {
    name: getattr(exercises, name)
    for name in exercises.__all__
    if name.startswith("check_") and isinstance(getattr(exercises, name), Checker)
}
MISTAKES = [
    pytest.param(checker, mistake, id=f"{name}: {mistake.name}")
    for name, checker in CHECKERS.items()
    for mistake in checker.mistakes
]


def test_every_exported_checker_is_a_checker():
    exported = [name for name in exercises.__all__ if name.startswith("check_")]
    assert exported and sorted(CHECKERS) == sorted(exported)


def test_every_checker_module_exports_its_checkers_from_the_package():
    defined = {
        f"{info.name}.{name}": value
        for info in pkgutil.iter_modules(exercises.__path__)
        for name, value in vars(importlib.import_module(f"helpers.exercises.{info.name}")).items()
        if isinstance(value, Checker)
    }
    missing = [name for name, checker in defined.items() if checker not in CHECKERS.values()]
    assert len(defined) >= 9 and not missing, f"not exported by helpers.exercises: {missing}"


@pytest.mark.parametrize("name", CHECKERS)
def test_reference_passes_with_one_success_line(name, capsys):
    checker = CHECKERS[name]
    checker(checker.reference)
    assert capsys.readouterr().out == (
        f"✓ {checker.exercise}: your answer passed "
        + ("the check.\n" if len(checker.cases) == 1 else f"all {len(checker.cases)} checks.\n")
    )


@pytest.mark.parametrize("name", CHECKERS)
def test_catalogue_has_at_least_three_distinct_mistakes(name):
    names = [mistake.name for mistake in CHECKERS[name].mistakes]
    assert len(names) >= 3
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(("checker", "mistake"), MISTAKES)
def test_each_mistake_is_rejected_with_its_own_hint(checker, mistake):
    with pytest.raises(AssertionError) as failure:
        checker(mistake.implementation)
    message = str(failure.value)
    assert f"Likely mistake: {mistake.name}." in message
    assert f"Hint: {mistake.hint}" in message
