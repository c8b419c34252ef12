"""Small utilities shared by the course's modules (private: no notebook derives them)."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = [
    "SDPA_BACKENDS",
    "check_positive_int",
    "describe_shape",
    "evaluating",
    "first_sentence",
]

# PyTorch's scaled_dot_product_attention kernels, as torch.nn.attention.SDPBackend names them.
SDPA_BACKENDS = ("MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION")


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


def first_sentence(error: BaseException) -> str:
    """The first sentence of an error's first line (its type's name if it has no message):
    enough to say why, for instance, an attention kernel declined."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return first_line.split(". ")[0]
