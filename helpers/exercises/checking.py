"""The machinery behind every exercise checker, introduced in `00_start_here`.

A checker runs a student's function on its own test cases and compares the result with a
reference solution. When the result is wrong it does not just say "wrong": it runs a
catalogue of *known mistakes* (small wrong implementations) on the same inputs, and if the
student's result matches one of them, the ``AssertionError`` names that mistake and gives a
hint. Because it compares behaviour, any correct solution passes: einsum or matmul, a loop
or vectorised code.

An exercise that asks for a function the course or PyTorch already provides names those
functions in ``forbidden``: while the student's function runs they raise, so a solution that
merely calls ``torch.softmax`` or ``helpers.attention.scaled_dot_product_attention`` is
refused with a message that says so, even if the student caught the exception. Forbid only
what the exercise asks the learner to write, never a building block they may use.

Writing a new checker (for instructors)::

    check_foo = Checker(
        exercise="foo",
        library="torch",                 # or "numpy": the type the exercise asks for
        reference=foo_reference,
        cases=[Case("a 2x3 input", (x,))],
        mistakes=[Mistake("forgot the scale", "Divide by √d_k before the softmax.", wrong_foo)],
        forbidden={                       # dotted name -> what to do instead
            "torch.nn.functional.scaled_dot_product_attention": "scores, mask, softmax, blend.",
            # "name(keyword)": refused only when called with a true value of that keyword
            "torch.nn.functional.cross_entropy(label_smoothing)": "smooth the target yourself.",
        },
    )
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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


class ForbiddenCall(AssertionError):
    """The student's function called something the exercise asks them to write themselves."""


# "torch.softmax", "torch.Tensor.softmax", or "torch.nn.functional.cross_entropy(label_smoothing)"
_FORBIDDEN_NAME = re.compile(
    r"^(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\((?P<keyword>\w+)\))?$"
)
_MISSING = object()


def _resolve(dotted: str) -> tuple[Any, str, Any]:
    """(owner, attribute, object) for a dotted name: the longest importable module prefix,
    then attributes (``torch.Tensor.softmax`` is attribute ``softmax`` of class ``torch.Tensor``)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"forbidden name {dotted!r} does not start with an importable module")


def _describe(dotted: str) -> str:
    if dotted.startswith("helpers."):
        return "the course's reference implementation"
    if dotted.startswith("torch."):
        return "PyTorch's own implementation"
    return "a library's implementation"


def _bindings(owner: Any, attribute: str, obj: Any, student: Callable) -> Iterator[tuple[Any, str]]:
    """Every place the student's code could reach ``obj`` by: its owner, the packages above a
    module that re-export it (``helpers.inspection`` for ``helpers.inspection.alignment``), and
    the names it has in the student's own globals (``from … import …``, ``as`` aliases)."""
    yield owner, attribute
    if inspect.ismodule(owner):
        parents = owner.__name__.split(".")[:-1]
        for depth in range(len(parents), 0, -1):
            package = sys.modules.get(".".join(parents[:depth]))
            if package is not None and getattr(package, attribute, None) is obj:
                yield package, attribute
    student = inspect.unwrap(student)
    namespace = getattr(student, "__globals__", {})
    for name, value in list(namespace.items()):
        if value is obj:
            yield namespace, name
    for cell in getattr(student, "__closure__", None) or ():  # names of an enclosing function
        if cell.cell_contents is obj:
            yield cell, "cell_contents"


def _replace(target: Any, name: str, replacement: Callable) -> Callable[[], None]:
    """Put ``replacement`` at ``target.name`` (``target[name]`` for a globals dict, the contents
    for a closure cell) and return the function that puts back what was there."""
    if isinstance(target, dict):
        original = target[name]
        target[name] = replacement
        return lambda: target.__setitem__(name, original)
    if isinstance(target, types.CellType):
        original = target.cell_contents
        target.cell_contents = replacement
        return lambda: setattr(target, "cell_contents", original)
    raw = vars(target).get(name, _MISSING)  # a class may inherit it: then delete on restore
    if isinstance(raw, property):
        replacement = property(replacement)
    elif isinstance(raw, staticmethod | classmethod):
        replacement = staticmethod(replacement)
    setattr(target, name, replacement)
    if raw is _MISSING:
        return lambda: delattr(target, name)
    return lambda: setattr(target, name, raw)


@contextmanager
def _refusing(forbidden: Mapping[str, str], student: Callable, calls: list[str]) -> Iterator[None]:
    """While active, every forbidden name raises ``ForbiddenCall`` and is recorded in ``calls``."""
    restores: list[Callable[[], None]] = []
    try:
        for key in forbidden:
            match = _FORBIDDEN_NAME.match(key)
            dotted, keyword = match["name"], match["keyword"]
            owner, attribute, obj = _resolve(dotted)
            replacement = _refuser(key, obj, keyword, calls)
            for target, name in _bindings(owner, attribute, obj, student):
                restores.append(_replace(target, name, replacement))
        yield
    finally:
        for restore in reversed(restores):
            restore()


def _refuser(key: str, original: Any, keyword: str | None, calls: list[str]) -> Callable:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        if keyword is not None and not kwargs.get(keyword):
            return original(*args, **kwargs)
        calls.append(key)
        raise ForbiddenCall(f"{key} is not allowed in this exercise")

    return refuse


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
        forbidden: Mapping[str, str] | None = None,
    ) -> None:
        if library not in ("numpy", "torch"):
            raise ValueError(f"library must be 'numpy' or 'torch'; got {library!r}")
        bad = [key for key in forbidden or {} if not _FORBIDDEN_NAME.match(key)]
        if bad:
            raise ValueError(
                f"forbidden names must be dotted paths such as 'torch.softmax', optionally "
                f"with a keyword: 'torch.nn.functional.cross_entropy(label_smoothing)'; got {bad}"
            )
        self.exercise = exercise
        self.library = library
        self.reference = reference
        self.cases = list(cases)
        self.mistakes = list(mistakes)
        self.atol = atol
        self.rtol = rtol
        self.forbidden = dict(forbidden or {})

    def __call__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(
                f"pass your function itself, e.g. check(my_function); got {_type_name(fn)}"
            )
        if self.forbidden:
            fn = self._guarded(fn)
        try:
            for case in self.cases:
                self._check_case(fn, case)
        except NotImplementedError as error:
            if str(error):  # raised by something your function calls
                raise
            raise NotImplementedError(  # your function is still the stub of the exercise
                f"{self.exercise} is not answered yet: replace `raise NotImplementedError()` "
                "in your function by your solution, run that cell, then this check again."
            ) from None
        print(f"✓ {self.exercise}: {_passed(len(self.cases))}")

    def _guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` run with the forbidden names refusing; a refused call fails the check even
        when ``fn`` caught the exception."""

        inner = inspect.unwrap(fn.func if isinstance(fn, functools.partial) else fn)
        for key in self.forbidden:
            if _resolve(_FORBIDDEN_NAME.match(key)["name"])[2] is inner:
                raise self._refused(key)  # `attention = scaled_dot_product_attention`

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            calls: list[str] = []
            try:
                with _refusing(self.forbidden, fn, calls):
                    result = fn(*args, **kwargs)
            finally:
                if calls:
                    raise self._refused(calls[0]) from None
            return result

        return guarded

    def _refused(self, key: str) -> ForbiddenCall:
        match = _FORBIDDEN_NAME.match(key)
        dotted, keyword = match["name"], match["keyword"]
        called = f"{dotted} with {keyword}" if keyword else dotted
        return ForbiddenCall(
            f"{self.exercise}: your function calls {called}, {_describe(dotted)}; "
            f"write it yourself: {self.forbidden[key]}"
        )

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
        except (NotImplementedError, ForbiddenCall):
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
