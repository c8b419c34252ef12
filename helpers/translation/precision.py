"""Mixed precision, the fused-attention switch, ``torch.compile`` and the loss check, used in
`05_training_translation`.

What a training step needs beyond the loss and the schedule: ``MixedPrecision`` picks bf16 or
fp16 (with loss scaling) for the GPU at hand and plain float32 elsewhere;
``set_fused_attention`` switches the course's attention modules to PyTorch's fused kernel;
``maybe_compile`` applies ``torch.compile`` where it is dependable; ``check_finite`` stops
training before a NaN reaches a checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Literal

import torch
from torch import nn

from helpers.multi_head_attention import MultiHeadAttention

__all__ = [
    "MixedPrecision",
    "NonFiniteLossError",
    "check_finite",
    "maybe_compile",
    "native_bf16",
    "set_fused_attention",
]


class MixedPrecision:
    """Which number format the forward pass runs in, and the loss scaler that goes with it.

    mode "auto" picks bf16 on a CUDA GPU that computes in bf16 natively (Ampere and newer),
    else fp16 with loss scaling (``torch.amp.GradScaler``), and fp32 on the CPU or Apple's
    MPS. "bf16", "fp16" and "fp32" ask for one explicitly: bf16 runs on CUDA and on the CPU
    (PyTorch autocasts CPU matrix products to bf16 too), fp16 needs CUDA. Weights and
    optimizer state stay fp32 either way. Use it as::

        with precision.autocast():
            loss = loss_fn(model(src, tgt_in), tgt_out)
        precision.scaler.scale(loss).backward()
        precision.scaler.unscale_(optimizer)  # before clipping
        precision.scaler.step(optimizer)
        precision.scaler.update()

    The scaler is disabled (its methods pass through) except for fp16, so the same loop runs
    in every mode.
    """

    MODES = ("auto", "bf16", "fp16", "fp32")
    DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    DETAILS = {
        "bf16": "bfloat16 autocast, no loss scaling needed",
        "fp16": "float16 autocast with dynamic loss scaling (GradScaler)",
        "fp32": "no autocast, everything in float32",
    }

    def __init__(
        self,
        device: torch.device | str,
        mode: Literal["auto", "bf16", "fp16", "fp32"] = "auto",
    ) -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}; got {mode!r}")
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {self.device} was given but no CUDA GPU is available here")
        chosen = "chosen automatically" if mode == "auto" else "requested"
        if mode == "auto":
            mode = _automatic_mode(self.device)
        _check_supported(mode, self.device)
        self.mode, self.dtype = mode, self.DTYPES[mode]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=mode == "fp16")
        self.description = f"{mode} on {self.device} ({chosen}): {self.DETAILS[mode]}"

    def __repr__(self) -> str:
        return f"MixedPrecision(device={str(self.device)!r}, mode={self.mode!r})"

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context to run the forward pass and the loss in; a no-op for fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` is a CUDA GPU that computes in bf16 natively (compute capability 8.0,
    Ampere, and newer). Older cards (T4, V100) emulate bf16 slowly, though
    ``torch.cuda.is_bf16_supported()`` says True for them."""
    device = torch.device(device)
    return device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False)


def _automatic_mode(device: torch.device) -> str:
    if device.type != "cuda":
        return "fp32"
    return "bf16" if native_bf16(device) else "fp16"


def _check_supported(mode: str, device: torch.device) -> None:
    if mode == "fp16" and device.type != "cuda":
        raise ValueError(
            f"mixed precision fp16 needs a CUDA device; got {device}. Use mode='bf16' or "
            "'fp32' (or 'auto') here"
        )
    if mode == "bf16" and device.type not in ("cuda", "cpu"):
        raise ValueError(
            f"mixed precision bf16 needs a CUDA device or the CPU; got {device}. Use "
            "mode='fp32' (or 'auto') here"
        )
    if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"bf16 was requested but {torch.cuda.get_device_name(device)} does not support "
            "it; use mode='fp16' (or 'auto')"
        )


def set_fused_attention(model: nn.Module, fused: bool) -> int:
    """Switch every course ``MultiHeadAttention`` in ``model`` to PyTorch's fused kernel
    (``fused=True``) or to the course's own attention; returns how many were switched.

    Both paths compute the same function (within float tolerance), so this only changes
    speed and memory.
    """
    modules = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    if not modules:
        raise ValueError(
            f"{type(model).__name__} contains no helpers.multi_head_attention.MultiHeadAttention "
            "to switch"
        )
    for module in modules:
        module.fused = fused
    return len(modules)


def maybe_compile(model: nn.Module, enabled: bool) -> tuple[nn.Module, str]:
    """``(torch.compile(model), message)`` when enabled and supported here, otherwise
    ``(model, reason)``; the message is one line for printing.

    ``torch.compile`` is skipped on Windows and Apple's MPS, where its default backend is not
    dependably available, and whenever ``torch.compile`` itself raises (e.g. a Python version
    it does not support yet). The compiled module shares its parameters with ``model``; save
    checkpoints from either (``helpers.translation.checkpoint`` unwraps it).
    """
    if not enabled:
        return model, "torch.compile off"
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    if sys.platform == "win32":
        return model, "torch.compile skipped: not dependable on Windows; running eagerly"
    if device.type == "mps":
        return model, "torch.compile skipped: not dependable on Apple MPS; running eagerly"
    try:
        compiled = torch.compile(model)
    except Exception as error:  # torch.compile raises RuntimeError, ImportError, ... by platform
        return (
            model,
            f"torch.compile unavailable ({type(error).__name__}: {error}); running eagerly",
        )
    return compiled, f"torch.compile on (compiles on the first batches, {device})"


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; raised by ``check_finite`` before anything is saved."""


def check_finite(loss: torch.Tensor | float, step: int) -> None:
    """Raise ``NonFiniteLossError`` if ``loss`` is NaN or ±inf, saying the step and the value.

    Call it before any checkpoint write, so a diverged run never overwrites the last good
    checkpoint. Reading a loss that lives on a GPU makes the host wait for the GPU (a sync):
    the training loop keeps its losses on the device and checks them every few steps.
    """
    value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"the loss is {value} at step {step}; training stopped before any checkpoint "
            "was written after it, so the last good checkpoint is untouched. Common causes: a "
            "learning rate too high (or a warm-up too short), fp16 overflow (try bf16 or "
            "fp32), or a batch with no target tokens"
        )
