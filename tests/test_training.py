"""helpers.training: the label-smoothed loss against PyTorch's, the warm-up schedule, mixed
precision choices, the fused-attention switch, the torch.compile fallback and the loss check."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from helpers import training
from helpers.training import (
    MixedPrecision,
    NonFiniteLossError,
    check_finite,
    inverse_sqrt_lr,
    inverse_sqrt_schedule,
    label_smoothed_cross_entropy,
    maybe_compile,
    set_fused_attention,
)
from helpers.transformer import Seq2SeqTransformer


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


def test_mixed_precision_on_cpu_is_fp32_with_a_disabled_scaler():
    precision = MixedPrecision("cpu")
    assert precision.mode == "fp32" and precision.dtype is None
    assert not precision.scaler.is_enabled()
    assert "fp32" in precision.description and "\n" not in precision.description
    x = torch.ones(2, 2)
    with precision.autocast():
        assert (x @ x).dtype == torch.float32
    loss = (x * torch.nn.Parameter(torch.ones(2, 2))).sum()
    assert precision.scaler.scale(loss) is loss  # disabled: passes through


@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_mixed_precision_refuses_half_precision_without_cuda(mode):
    with pytest.raises(ValueError, match=f"{mode} needs a CUDA device; got cpu"):
        MixedPrecision("cpu", mode)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_mixed_precision_refuses_cuda_where_there_is_none():
    with pytest.raises(ValueError, match="device cuda was given but no CUDA GPU"):
        MixedPrecision("cuda")


def test_mixed_precision_refuses_unknown_modes():
    with pytest.raises(ValueError, match=r"mode must be one of .*got 'half'"):
        MixedPrecision("cpu", "half")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_mixed_precision_auto_on_cuda_autocasts_matmuls():
    precision = MixedPrecision("cuda")
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert precision.dtype == expected
    assert precision.scaler.is_enabled() == (expected == torch.float16)
    x = torch.ones(2, 2, device="cuda")
    with precision.autocast():
        assert (x @ x).dtype == expected


def _model(**kwargs) -> Seq2SeqTransformer:
    torch.manual_seed(0)
    return Seq2SeqTransformer(
        13, 11, d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
        dim_feedforward=32, dropout=0.1, pad_id=0, **kwargs,
    )  # fmt: skip


def test_fused_and_course_attention_give_the_same_outputs():
    model = _model().eval()
    src = torch.tensor([[5, 6, 7, 2, 0, 0], [4, 8, 9, 10, 11, 2]])  # padded batch
    tgt = torch.tensor([[1, 3, 4, 0], [1, 5, 6, 7]])
    # 2 encoder layers x 1 self-attention + 1 decoder layer x (self + cross)
    assert set_fused_attention(model, False) == 4
    course = model(src, tgt)
    assert set_fused_attention(model, True) == 4
    assert all(m.fused for m in model.modules() if hasattr(m, "fused"))
    fused = model(src, tgt)
    assert torch.allclose(course, fused, atol=1e-5)


def test_set_fused_attention_needs_course_attention_modules():
    with pytest.raises(ValueError, match="Linear contains no .*MultiHeadAttention"):
        set_fused_attention(torch.nn.Linear(2, 2), True)


def test_maybe_compile_off_returns_the_model():
    model = torch.nn.Linear(2, 2)
    same, message = maybe_compile(model, False)
    assert same is model and "off" in message


def test_maybe_compile_falls_back_when_torch_compile_raises(monkeypatch):
    def unsupported(model):
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(training.torch, "compile", unsupported)
    model = torch.nn.Linear(2, 2)
    same, message = maybe_compile(model, True)
    assert same is model
    assert "Dynamo is not supported" in message and "eagerly" in message


def test_maybe_compile_falls_back_on_windows(monkeypatch):
    monkeypatch.setattr(training.sys, "platform", "win32")
    model = torch.nn.Linear(2, 2)
    same, message = maybe_compile(model, True)
    assert same is model and "Windows" in message


def test_maybe_compile_returns_the_compiled_module(monkeypatch):
    compiled = torch.nn.Identity()
    monkeypatch.setattr(training.torch, "compile", lambda model: compiled)
    result, message = maybe_compile(torch.nn.Linear(2, 2), True)
    assert result is compiled and "on" in message


def test_check_finite_passes_finite_losses_and_names_step_and_value():
    check_finite(torch.tensor(2.5), step=3)
    check_finite(0.0, step=4)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(NonFiniteLossError, match=rf"is {bad} at step 17.*untouched"):
            check_finite(torch.tensor(bad), step=17)
    assert issubclass(NonFiniteLossError, RuntimeError)
