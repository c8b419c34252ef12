"""The label-smoothed loss and the warm-up learning-rate schedule, as derived in
`05_training_translation`.

Two pieces of the training recipe of "Attention Is All You Need": the cross-entropy against a
smoothed target (Szegedy et al. 2016) and the learning rate that rises linearly for a warm-up
and then decays as the inverse square root of the step (Vaswani et al. 2017, section 5.3).
The training step that uses them, with gradient clipping and mixed precision, is
``helpers.translation.loop.train_step``.
"""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["inverse_sqrt_lr", "inverse_sqrt_schedule", "label_smoothed_cross_entropy"]


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
    other token gives NaN, as ``F.cross_entropy`` does.
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
    section 5.3).
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
