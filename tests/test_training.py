"""helpers.training: the label-smoothed loss against PyTorch's and the warm-up schedule."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.training import inverse_sqrt_lr, inverse_sqrt_schedule, label_smoothed_cross_entropy


def _logits_and_target(pad_id: int = 0):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=generator) * 3
    target = torch.randint(1, 11, (3, 5), generator=generator)
    target[0, 3:] = pad_id
    target[2, 1:] = pad_id
    return logits, target


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("ignore_index", [0, -100])
def test_label_smoothing_matches_torch_cross_entropy(smoothing, ignore_index):
    logits, target = _logits_and_target(ignore_index)
    ours = label_smoothed_cross_entropy(
        logits, target, smoothing=smoothing, ignore_index=ignore_index
    )
    theirs = F.cross_entropy(
        logits.transpose(1, 2), target, label_smoothing=smoothing, ignore_index=ignore_index
    )
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_label_smoothing_follows_the_written_out_target_distribution():
    logits, target = _logits_and_target()
    eps, V = 0.2, logits.shape[-1]
    q = torch.full_like(logits, eps / V).scatter_add(
        -1, target.unsqueeze(-1), torch.full(target.shape + (1,), 1 - eps)
    )  # (1 - ε) on the target + ε / V everywhere
    per_token = -(q * logits.log_softmax(-1)).sum(-1)
    keep = target != 0
    expected = per_token[keep].mean()
    assert torch.allclose(label_smoothed_cross_entropy(logits, target, smoothing=eps), expected)


def test_label_smoothing_ignores_padding_and_checks_shapes():
    logits, target = _logits_and_target()
    changed = logits.clone()
    changed[2, 1:] = 1e4  # logits at padded positions must not matter
    assert torch.equal(
        label_smoothed_cross_entropy(logits, target), label_smoothed_cross_entropy(changed, target)
    )
    with pytest.raises(ValueError, match=r"\(B, T, V\) and target \(B, T\); got logits"):
        label_smoothed_cross_entropy(logits, target[:, :4])
    with pytest.raises(ValueError, match="smoothing must be in"):
        label_smoothed_cross_entropy(logits, target, smoothing=1.0)


def test_inverse_sqrt_lr_peaks_at_warmup_and_follows_the_formula():
    D, warmup = 64, 10
    lrs = [inverse_sqrt_lr(s, d_model=D, warmup_steps=warmup) for s in range(1, 41)]
    peak = max(range(40), key=lambda i: lrs[i]) + 1
    assert peak == warmup
    assert math.isclose(lrs[warmup - 1], (D * warmup) ** -0.5)
    for s in range(1, warmup + 1):  # linear rise
        assert math.isclose(lrs[s - 1], s * lrs[0])
    for s in (10, 20, 40):  # 1 / sqrt decay after the peak
        assert math.isclose(lrs[s - 1] * math.sqrt(s), lrs[warmup - 1] * math.sqrt(warmup))
    assert math.isclose(inverse_sqrt_lr(7, d_model=D, warmup_steps=warmup, factor=2.0), 2 * lrs[6])
    with pytest.raises(ValueError, match="step >= 1"):
        inverse_sqrt_lr(0, d_model=D, warmup_steps=warmup)


def test_inverse_sqrt_schedule_sets_the_lr_of_each_optimizer_step():
    D, warmup = 32, 4
    parameter = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = inverse_sqrt_schedule(optimizer, d_model=D, warmup_steps=warmup, factor=2.0)
    seen = []
    for _ in range(12):
        seen.append(optimizer.param_groups[0]["lr"])  # the lr optimizer.step() would use
        optimizer.step()
        scheduler.step()
    expected = [
        inverse_sqrt_lr(s, d_model=D, warmup_steps=warmup, factor=2.0) for s in range(1, 13)
    ]
    assert seen == pytest.approx(expected)
    assert max(range(12), key=lambda i: seen[i]) + 1 == warmup


def test_inverse_sqrt_schedule_refuses_a_base_lr_other_than_one():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    with pytest.raises(ValueError, match=r"lr=1.0.*got base learning rates \[0.0003\]"):
        inverse_sqrt_schedule(optimizer, d_model=8, warmup_steps=4)
