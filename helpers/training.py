"""The pieces of a translation training loop, as derived in `05_training_translation`.

The loop itself stays in the notebook, where it can be read top to bottom; this module holds
what the loop calls: the label-smoothed loss, the warm-up learning-rate schedule of
"Attention Is All You Need", mixed precision that picks bf16 or fp16 for the GPU at hand,
switches for the fused attention kernel and ``torch.compile``, and a loss check that stops
training before a NaN reaches a checkpoint. Gradient clipping is
``torch.nn.utils.clip_grad_norm_``, used as it is.
"""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Literal

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from helpers.multi_head_attention import MultiHeadAttention

__all__ = [
    "MixedPrecision",
    "NonFiniteLossError",
    "check_finite",
    "inverse_sqrt_lr",
    "inverse_sqrt_schedule",
    "label_smoothed_cross_entropy",
    "maybe_compile",
    "set_fused_attention",
]


def label_smoothed_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    smoothing: float = 0.1,
    ignore_index: int = 0,
) -> torch.Tensor:
    """Cross-entropy against a smoothed target, averaged over the tokens that are not ignored.

    logits (B, T, V), target (B, T) ids -> a scalar. The target distribution is that of
    Szegedy et al. (2016) as used by Vaswani et al. (2017): ``1 - ε`` on the correct token plus
    ``ε / V`` on every token (the correct one included), so

        loss = (1 - ε) · (-log p[target]) + ε · mean_v(-log p[v]),

    the same variant as ``F.cross_entropy(..., label_smoothing=ε, ignore_index=...)``.
    Positions whose target is ``ignore_index`` (padding) count for nothing; a batch with no
    other token gives NaN, as ``F.cross_entropy`` does. Derived in `05_training_translation`.
    """
    if logits.ndim != 3 or target.shape != logits.shape[:2]:
        raise ValueError(
            "logits must have shape (B, T, V) and target (B, T); got logits "
            f"{tuple(logits.shape)} and target {tuple(target.shape)}"
        )
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1); got {smoothing}")
    log_probs = logits.float().log_softmax(dim=-1)  # (B, T, V)
    keep = target != ignore_index  # (B, T)
    safe_target = target.masked_fill(~keep, 0)  # ignore_index may be out of range, e.g. -100
    nll = -log_probs.gather(-1, safe_target.unsqueeze(-1)).squeeze(-1)  # (B, T)
    uniform = -log_probs.mean(dim=-1)  # (B, T): cross-entropy against ε / V everywhere
    loss = (1.0 - smoothing) * nll + smoothing * uniform
    return torch.where(keep, loss, 0.0).sum() / keep.sum()


def inverse_sqrt_lr(step: int, *, d_model: int, warmup_steps: int, factor: float = 1.0) -> float:
    """lr(step) = factor · D^-0.5 · min(step^-0.5, step · warmup^-1.5), for step >= 1.

    Rises linearly for ``warmup_steps`` steps, peaks at ``step = warmup_steps`` with
    ``factor · (D · warmup)^-0.5``, then decays as ``1 / sqrt(step)`` (Vaswani et al. 2017,
    section 5.3). Derived in `05_training_translation`.
    """
    if step < 1 or warmup_steps < 1 or d_model < 1:
        raise ValueError(
            "inverse_sqrt_lr needs step >= 1, warmup_steps >= 1 and d_model >= 1; got "
            f"step = {step}, warmup_steps = {warmup_steps}, d_model = {d_model}"
        )
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def inverse_sqrt_schedule(
    optimizer: torch.optim.Optimizer, *, d_model: int, warmup_steps: int, factor: float = 1.0
) -> LambdaLR:
    """A ``LambdaLR`` that sets the learning rate of optimizer step s (1, 2, ...) to
    ``inverse_sqrt_lr(s, ...)``; call ``scheduler.step()`` after every ``optimizer.step()``.

    ``LambdaLR`` multiplies each group's base learning rate by the schedule, so the optimizer
    must be built with ``lr=1.0`` (scale the schedule with ``factor`` instead); any other base
    learning rate raises ``ValueError`` rather than silently shrinking the schedule.
    Derived in `05_training_translation`.
    """
    base_lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
    if any(lr != 1.0 for lr in base_lrs):
        raise ValueError(
            "inverse_sqrt_schedule sets the learning rate itself: build the optimizer with "
            f"lr=1.0 and scale with factor=...; got base learning rates {base_lrs}"
        )
    inverse_sqrt_lr(1, d_model=d_model, warmup_steps=warmup_steps)  # validates the arguments
    return LambdaLR(
        optimizer,
        lambda index: inverse_sqrt_lr(
            index + 1, d_model=d_model, warmup_steps=warmup_steps, factor=factor
        ),
    )


class MixedPrecision:
    """Which number format the forward pass runs in, and the loss scaler that goes with it.

    mode "auto" picks bf16 on a CUDA GPU that supports it, else fp16 with loss scaling
    (``torch.amp.GradScaler``), and fp32 on the CPU or Apple's MPS; "bf16", "fp16" and "fp32"
    ask for one explicitly (bf16 and fp16 need CUDA). Weights and optimizer state stay fp32
    either way. Use it as::

        with precision.autocast():
            loss = loss_fn(model(src, tgt_in), tgt_out)
        precision.scaler.scale(loss).backward()
        precision.scaler.unscale_(optimizer)  # before clipping
        precision.scaler.step(optimizer)
        precision.scaler.update()

    The scaler is disabled (its methods pass through) except for fp16, so the same loop runs
    in every mode. Derived in `05_training_translation`.
    """

    MODES = ("auto", "bf16", "fp16", "fp32")
    DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}

    def __init__(
        self,
        device: torch.device | str,
        mode: Literal["auto", "bf16", "fp16", "fp32"] = "auto",
    ) -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}; got {mode!r}")
        self.device = torch.device(device)
        on_cuda = self.device.type == "cuda"
        if on_cuda and not torch.cuda.is_available():
            raise ValueError(f"device {self.device} was given but no CUDA GPU is available here")
        if mode == "auto":
            if not on_cuda:
                mode = "fp32"
            else:
                mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            chosen = "chosen automatically"
        else:
            chosen = "requested"
        if mode != "fp32" and not on_cuda:
            raise ValueError(
                f"mixed precision {mode} needs a CUDA device; got {self.device}. "
                "Use mode='fp32' (or 'auto') here"
            )
        if mode == "bf16" and not torch.cuda.is_bf16_supported():
            raise ValueError(
                f"bf16 was requested but {torch.cuda.get_device_name(self.device)} does not "
                "support it; use mode='fp16' (or 'auto')"
            )
        self.mode, self.dtype = mode, self.DTYPES[mode]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=mode == "fp16")
        details = {
            "bf16": "bfloat16 autocast, no loss scaling needed",
            "fp16": "float16 autocast with dynamic loss scaling (GradScaler)",
            "fp32": "no autocast, everything in float32",
        }
        self.description = f"{mode} on {self.device} ({chosen}): {details[mode]}"

    def __repr__(self) -> str:
        return f"MixedPrecision(device={str(self.device)!r}, mode={self.mode!r})"

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context to run the forward pass and the loss in; a no-op for fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


def set_fused_attention(model: nn.Module, fused: bool) -> int:
    """Switch every course ``MultiHeadAttention`` in ``model`` to PyTorch's fused kernel
    (``fused=True``) or to the course's own attention; returns how many were switched.

    Both paths compute the same function (within float tolerance), so this only changes
    speed and memory. Derived in `05_training_translation`.
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
    checkpoints from either (``helpers.translation.checkpoint`` unwraps it). Derived in
    `05_training_translation`.
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

    Call it after computing the loss and before ``backward`` and any checkpoint write, so a
    diverged run never overwrites the last good checkpoint. Derived in
    `05_training_translation`.
    """
    value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"the loss is {value} at step {step}; training stopped before this step was "
            "applied or saved, so the last good checkpoint is untouched. Common causes: a "
            "learning rate too high (or a warm-up too short), fp16 overflow (try bf16 or "
            "fp32), or a batch with no target tokens"
        )
