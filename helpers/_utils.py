"""Small utilities shared by the course's modules (private: no notebook derives them)."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["check_positive_int", "describe_shape", "evaluating"]


def describe_shape(x: Any) -> str:
    """'(2, 3, 4)' for a tensor, an array or a shape, as Python writes a tuple ('(3,)', '()');
    nested for tuples of tensors."""
    if isinstance(x, tuple) and not all(isinstance(n, int) for n in x):
        return "(" + ", ".join(describe_shape(item) for item in x) + ")"
    return str(tuple(int(n) for n in getattr(x, "shape", x)))


def check_positive_int(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1 (not a bool); else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Run a block in eval mode without gradients, then restore the model's previous mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        model.train(was_training)
