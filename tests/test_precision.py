"""helpers.translation.precision: mixed precision choices, the fused-attention switch, the
torch.compile fallback and the loss check."""

from __future__ import annotations

import pytest
import torch

from helpers.transformer import Seq2SeqTransformer
from helpers.translation import precision as precision_module
from helpers.translation.precision import (
    MixedPrecision,
    NonFiniteLossError,
    check_finite,
    maybe_compile,
    native_bf16,
    set_fused_attention,
)


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


def test_fp16_needs_cuda_and_bf16_runs_on_the_cpu_too():
    with pytest.raises(ValueError, match="fp16 needs a CUDA device; got cpu"):
        MixedPrecision("cpu", "fp16")
    with pytest.raises(ValueError, match="bf16 needs a CUDA device or the CPU; got mps"):
        MixedPrecision("mps", "bf16")
    precision = MixedPrecision("cpu", "bf16")
    assert precision.dtype == torch.bfloat16 and not precision.scaler.is_enabled()
    x = torch.ones(2, 2)
    with precision.autocast():
        assert (x @ x).dtype == torch.bfloat16


def test_auto_picks_bf16_only_where_the_gpu_computes_it_natively(monkeypatch):
    """T4 and V100 emulate bf16: is_bf16_supported() says True, but only the question with
    including_emulation=False tells them apart, and they get fp16 with a loss scaler."""
    asked = []

    def emulating_card(including_emulation: bool = True) -> bool:
        asked.append(including_emulation)
        return including_emulation

    monkeypatch.setattr(precision_module.torch.cuda, "is_bf16_supported", emulating_card)
    assert not native_bf16("cuda") and asked == [False]
    assert precision_module._automatic_mode(torch.device("cuda")) == "fp16"
    monkeypatch.setattr(precision_module.torch.cuda, "is_bf16_supported", lambda **_: True)
    assert precision_module._automatic_mode(torch.device("cuda")) == "bf16"
    assert precision_module._automatic_mode(torch.device("cpu")) == "fp32"
    assert not native_bf16("cpu")


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
    expected = torch.bfloat16 if native_bf16("cuda") else torch.float16
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

    monkeypatch.setattr(precision_module.torch, "compile", unsupported)
    model = torch.nn.Linear(2, 2)
    same, message = maybe_compile(model, True)
    assert same is model
    assert "Dynamo is not supported" in message and "eagerly" in message


def test_maybe_compile_falls_back_on_windows(monkeypatch):
    monkeypatch.setattr(precision_module.sys, "platform", "win32")
    model = torch.nn.Linear(2, 2)
    same, message = maybe_compile(model, True)
    assert same is model and "Windows" in message


def test_maybe_compile_returns_the_compiled_module(monkeypatch):
    compiled = torch.nn.Identity()
    monkeypatch.setattr(precision_module.torch, "compile", lambda model: compiled)
    result, message = maybe_compile(torch.nn.Linear(2, 2), True)
    assert result is compiled and "on" in message


def test_check_finite_passes_finite_losses_and_names_step_and_value():
    check_finite(torch.tensor(2.5), step=3)
    check_finite(0.0, step=4)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(NonFiniteLossError, match=rf"is {bad} at step 17.*untouched"):
            check_finite(torch.tensor(bad), step=17)
    assert issubclass(NonFiniteLossError, RuntimeError)
