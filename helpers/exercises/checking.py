"""The machinery behind every exercise checker, introduced in `00_start_here`.

A checker runs a student's function on its own test cases and compares the result with a
reference solution. When the result is wrong it does not just say "wrong": it runs a
catalogue of *known mistakes* (small wrong implementations) on the same inputs, and if the
student's result matches one of them, the ``AssertionError`` names that mistake and gives a
hint. Because it compares behaviour, any correct solution passes: einsum or matmul, a loop
or vectorised code.

Writing a new checker (for instructors)::

    check_foo = Checker(
        exercise="foo",
        library="torch",                 # or "numpy": the type the exercise asks for
        reference=foo_reference,
        cases=[Case("a 2x3 input", (x,))],
        mistakes=[Mistake("forgot the scale", "Divide by √d_k before the softmax.", wrong_foo)],
    )
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from helpers._utils import describe_shape

__all__ = ["Case", "Checker", "Mistake"]

Library = Literal["numpy", "torch"]


@dataclass(frozen=True)
class Case:
    """One input to try: ``fn(*args, **kwargs)``, described in words for error messages."""

    description: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer: its name, the hint to show, and an implementation of it."""

    name: str
    hint: str
    implementation: Callable[..., Any]


def _type_name(x: Any) -> str:
    return f"{type(x).__module__}.{type(x).__qualname__}".replace("builtins.", "")


def _as_array(x: Any) -> np.ndarray:
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _same(result: Any, expected: Any, atol: float, rtol: float) -> bool:
    """Same structure, shapes, kind (bool or number) and values; NaN equals NaN."""
    if isinstance(expected, tuple):
        return (
            isinstance(result, tuple)
            and len(result) == len(expected)
            and all(_same(r, e, atol, rtol) for r, e in zip(result, expected, strict=True))
        )
    if isinstance(result, tuple):
        return False
    r, e = _as_array(result), _as_array(expected)
    if r.shape != e.shape or (r.dtype == bool) != (e.dtype == bool):
        return False
    if e.dtype == bool:
        return bool(np.array_equal(r, e))
    if not (np.issubdtype(r.dtype, np.number) and np.issubdtype(e.dtype, np.number)):
        return False
    return bool(np.allclose(r, e, atol=atol, rtol=rtol, equal_nan=True))


def _shape_of(x: Any) -> str:
    if isinstance(x, tuple):
        return "(" + ", ".join(_shape_of(item) for item in x) + ")"
    if torch.is_tensor(x) or isinstance(x, np.ndarray):
        return f"{describe_shape(x)} {str(x.dtype).replace('torch.', '')}"
    return _type_name(x)


class Checker:
    """Callable that checks a student's function against a reference and a mistake catalogue."""

    def __init__(
        self,
        exercise: str,
        library: Library,
        reference: Callable[..., Any],
        cases: Sequence[Case],
        mistakes: Sequence[Mistake],
        *,
        atol: float = 1e-5,
        rtol: float = 1e-4,
    ) -> None:
        if library not in ("numpy", "torch"):
            raise ValueError(f"library must be 'numpy' or 'torch'; got {library!r}")
        self.exercise = exercise
        self.library = library
        self.reference = reference
        self.cases = list(cases)
        self.mistakes = list(mistakes)
        self.atol = atol
        self.rtol = rtol

    def __call__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(
                f"pass your function itself, e.g. check(my_function); got {_type_name(fn)}"
            )
        for case in self.cases:
            self._check_case(fn, case)
        print(f"✓ {self.exercise}: {_passed(len(self.cases))}")

    def _run(self, fn: Callable[..., Any], case: Case) -> Any:
        # Deep copies: a function that modifies its inputs in place must not spoil later runs.
        return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))

    def _matching_mistake(self, case: Case, *, result: Any = None, error: Exception | None = None):
        for mistake in self.mistakes:
            try:
                wrong = self._run(mistake.implementation, case)
            except Exception as mistake_error:  # noqa: BLE001 - a mistake may crash; that is its signature
                if error is not None and type(mistake_error) is type(error):
                    return mistake
                continue
            if error is None and _same(result, wrong, self.atol, self.rtol):
                return mistake
        return None

    def _fail(self, case: Case, what: str, mistake: Mistake | None) -> AssertionError:
        message = f"{self.exercise}, on {case.description}: {what}"
        if mistake is not None:
            message += f"\nLikely mistake: {mistake.name}.\nHint: {mistake.hint}"
        return AssertionError(message)

    def _check_type(self, result: Any, expected: Any, case: Case) -> None:
        parts = (
            zip(result, expected, strict=True)
            if isinstance(expected, tuple)
            else [(result, expected)]
        )
        for r, e in parts:
            if self.library == "numpy" and torch.is_tensor(r) and isinstance(e, np.ndarray):
                raise self._fail(
                    case,
                    "this exercise works in NumPy, so return an np.ndarray; you returned a "
                    "torch.Tensor. Use NumPy functions (np.exp, @, .sum) on the NumPy inputs.",
                    None,
                )
            if self.library == "torch" and not torch.is_tensor(r) and torch.is_tensor(e):
                raise self._fail(
                    case,
                    f"this exercise works in PyTorch, so return a torch.Tensor; you returned "
                    f"{_type_name(r)}. Use torch functions (torch.exp, @, .sum) on the tensor "
                    "inputs, so that gradients can flow through them.",
                    None,
                )

    def _check_case(self, fn: Callable[..., Any], case: Case) -> None:
        expected = self._run(self.reference, case)
        try:
            result = self._run(fn, case)
        except NotImplementedError:
            raise
        except Exception as error:
            mistake = self._matching_mistake(case, error=error)
            raise self._fail(
                case, f"your function raised {type(error).__name__}: {error}", mistake
            ) from error
        if isinstance(expected, tuple) and not (
            isinstance(result, tuple) and len(result) == len(expected)
        ):
            mistake = self._matching_mistake(case, result=result)
            raise self._fail(
                case,
                f"expected a tuple of {len(expected)} results; got {_shape_of(result)}",
                mistake,
            )
        self._check_type(result, expected, case)
        if not _same(result, expected, self.atol, self.rtol):
            mistake = self._matching_mistake(case, result=result)
            if _shape_of(result) == _shape_of(expected):
                what = "the shape is right but the values are wrong" + _difference(result, expected)
            else:
                what = f"expected {_shape_of(expected)}, got {_shape_of(result)}"
            raise self._fail(case, what, mistake)


def _passed(n: int) -> str:
    return "your answer passed the check." if n == 1 else f"your answer passed all {n} checks."


def _difference(result: Any, expected: Any) -> str:
    """A short description of how two results differ, when their shapes agree."""
    pairs = (
        zip(result, expected, strict=True) if isinstance(expected, tuple) else [(result, expected)]
    )
    notes = []
    for r, e in pairs:
        r, e = _as_array(r), _as_array(e)
        if r.shape != e.shape or e.dtype == bool or r.dtype == bool:
            continue
        if np.isnan(r).any() and not np.isnan(e).any():
            notes.append("your result contains NaN")
        elif np.allclose(r, e, equal_nan=True):
            continue
        else:
            with np.errstate(invalid="ignore"):
                notes.append(f"largest difference {np.nanmax(np.abs(r - e)):.3g}")
    return " (" + "; ".join(notes) + ")" if notes else " (values differ)"
