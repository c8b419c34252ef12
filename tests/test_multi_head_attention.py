"""helpers.multi_head_attention: the reshapes, agreement with torch.nn.MultiheadAttention,
the fused path, and clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.attention import causal_mask, padding_mask
from helpers.multi_head_attention import (
    MultiHeadAttention,
    mask_from_torch,
    merge_heads,
    split_heads,
)


def test_split_heads_gives_each_head_its_own_feature_slice():
    x = torch.arange(2 * 3 * 8.0).view(2, 3, 8)  # (B, T, D)
    heads = split_heads(x, 4)  # (B, H, T, Dh)
    assert heads.shape == (2, 4, 3, 2)
    for h in range(4):
        assert torch.equal(heads[:, h], x[..., 2 * h : 2 * h + 2])
    assert torch.equal(merge_heads(heads), x)


def test_reshape_without_transpose_would_mix_positions():
    x = torch.arange(1 * 4 * 6.0).view(1, 4, 6)
    wrong = x.reshape(1, 3, 4, 2)  # (B, H, T, Dh) by reshape alone
    assert not torch.equal(wrong, split_heads(x, 3))


@pytest.mark.parametrize(("bad", "message"), [(5, "divisible"), (0, "divisible")])
def test_split_heads_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        split_heads(torch.randn(2, 3, 8), bad)
    with pytest.raises(ValueError, match=r"\(B, T, D\); got \(3, 8\)"):
        split_heads(torch.randn(3, 8), 2)
    with pytest.raises(ValueError, match=r"\(B, H, T, Dh\); got \(3, 8\)"):
        merge_heads(torch.randn(3, 8))


def _torch_mha(D=16, H=4, bias=True, seed=0):
    torch.manual_seed(seed)
    module = nn.MultiheadAttention(D, H, bias=bias, batch_first=True).eval()
    with torch.no_grad():  # PyTorch initialises biases to 0: make them count in the comparison
        for p in module.parameters():
            if p.ndim == 1:
                p.normal_()
    return module


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_from_torch_matches_outputs_and_average_weights_with_masks(bias, fused):
    B, T, S, D, H = 3, 5, 7, 16, 4
    theirs = _torch_mha(D, H, bias)
    ours = MultiHeadAttention.from_torch(theirs, fused=fused).eval()
    g = torch.Generator().manual_seed(1)
    query, key = torch.randn(B, T, D, generator=g), torch.randn(B, S, D, generator=g)
    value = torch.randn(B, S, D, generator=g)
    key_padding = torch.tensor([[False] * 7, [False] * 4 + [True] * 3, [False] * 2 + [True] * 5])
    attn_mask = ~causal_mask(T, S)  # PyTorch: True = may NOT attend
    cases = [
        ({}, None),
        ({"key_padding_mask": key_padding}, mask_from_torch(key_padding_mask=key_padding)),
        ({"attn_mask": attn_mask}, mask_from_torch(attn_mask)),
        (
            {"attn_mask": attn_mask, "key_padding_mask": key_padding},
            mask_from_torch(attn_mask, key_padding),
        ),
    ]
    for torch_masks, mask in cases:
        expected, expected_weights = theirs(query, key, value, **torch_masks)
        output, weights = ours(query, key, value, mask, need_weights=True)
        assert torch.allclose(output, expected, atol=1e-5), torch_masks.keys()
        assert torch.allclose(weights.mean(dim=1), expected_weights, atol=1e-5)
        fast, none = ours(query, key, value, mask, need_weights=False)
        assert none is None and torch.allclose(fast, expected, atol=1e-5)


def test_self_attention_matches_torch_fast_path():
    theirs = _torch_mha()
    ours = MultiHeadAttention.from_torch(theirs).eval()
    x = torch.randn(2, 6, 16)
    expected, _ = theirs(x, x, x, need_weights=False)
    assert torch.allclose(ours(x, x, x)[0], expected, atol=1e-5)


def test_fused_module_returns_no_weights_unless_asked():
    mha = MultiHeadAttention(8, 2, fused=True).eval()
    x = torch.randn(2, 3, 8)
    out, weights = mha(x, x, x)
    assert weights is None and out.shape == (2, 3, 8)
    out2, weights2 = mha(x, x, x, need_weights=True)
    assert weights2.shape == (2, 2, 3, 3) and torch.allclose(out, out2, atol=1e-6)


def test_masks_broadcast_over_heads_in_every_documented_shape():
    mha = MultiHeadAttention(8, 2).eval()
    x, y = torch.randn(2, 3, 8), torch.randn(2, 4, 8)
    full = causal_mask(3, 4) & padding_mask(torch.tensor([4, 2]))  # (B, T, S)
    reference, weights = mha(x, y, y, full[:, None].expand(2, 2, 3, 4))
    for mask in (full, full[:, None]):
        out, w = mha(x, y, y, mask)
        assert torch.allclose(out, reference) and torch.equal(w, weights)
    _, w = mha(x, y, y, padding_mask(torch.tensor([4, 2])))  # (B, 1, S)
    assert torch.all(w[1, :, :, 2:] == 0)
    _, w = mha(x, y, y, causal_mask(3, 4))  # (T, S)
    assert torch.all(w[..., 0, 1:] == 0)


def test_heads_are_independent_before_the_output_projection():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, bias=False).eval()
    x = torch.randn(1, 4, 8)
    _, w = mha(x, x, x)
    with torch.no_grad():  # change only head 1's query projection rows
        mha.w_q.weight[4:] += 1.0
    _, w2 = mha(x, x, x)
    assert torch.equal(w[:, 0], w2[:, 0]) and not torch.allclose(w[:, 1], w2[:, 1])


def test_parameter_count_equals_one_wide_head():
    for heads in (1, 2, 4, 8):
        mha = MultiHeadAttention(32, heads)
        assert sum(p.numel() for p in mha.parameters()) == 4 * (32 * 32 + 32)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 8, 16)
    mha.eval()
    assert torch.equal(mha(x, x, x)[0], mha(x, x, x)[0])
    mha.train()
    _, w = mha(x, x, x)
    assert (w == 0).float().mean() > 0.3


def test_gradients_flow_on_both_paths():
    for fused in (False, True):
        mha = MultiHeadAttention(8, 2, fused=fused)
        x = torch.randn(2, 3, 8, requires_grad=True)
        mha(x, x, x)[0].sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
        assert all(p.grad is not None for p in mha.parameters())


def test_construction_errors():
    with pytest.raises(ValueError, match="d_model = 10, num_heads = 3"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        MultiHeadAttention(8, 2, dropout=1.0)


def test_forward_shape_errors_name_expected_and_received():
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(
        ValueError, match=r"query must have shape \(B, L, D\) with D = d_model = 8; got \(2, 3, 6\)"
    ):
        mha(torch.randn(2, 3, 6), x, x)
    with pytest.raises(ValueError, match=r"must share B.*key \(2, 4, 8\), value \(2, 5, 8\)"):
        mha(x, torch.randn(2, 4, 8), torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"must share B.*query \(2, 3, 8\), key \(3, 4, 8\)"):
        mha(x, torch.randn(3, 4, 8), torch.randn(3, 4, 8))
    with pytest.raises(
        ValueError, match=r"mask must be a boolean tensor.*got torch.float32 of shape \(3, 3\)"
    ):
        mha(x, x, x, torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"mask must broadcast"):
        mha(x, x, x, torch.ones(2, 5, 3, dtype=torch.bool))


def test_from_torch_rejects_what_it_cannot_copy():
    with pytest.raises(ValueError, match="batch_first=False"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match="add_bias_kv=True"):
        MultiHeadAttention.from_torch(
            nn.MultiheadAttention(8, 2, add_bias_kv=True, batch_first=True)
        )
    with pytest.raises(TypeError, match="expected torch.nn.MultiheadAttention; got Linear"):
        MultiHeadAttention.from_torch(nn.Linear(2, 2))


def test_mask_from_torch_conventions():
    assert mask_from_torch() is None
    pad = torch.tensor([[False, True]])
    assert mask_from_torch(key_padding_mask=pad).tolist() == [[[[True, False]]]]
    with pytest.raises(ValueError, match="key_padding_mask must be a 2-D boolean tensor"):
        mask_from_torch(key_padding_mask=pad.float())


@pytest.mark.parametrize("fused", [False, True])
def test_head_mask_zeroes_one_head_before_the_output_projection(fused):
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, fused=fused).eval()
    x = torch.randn(2, 3, 8)
    reference, _ = mha(x, x, x)
    mha.head_mask = torch.ones(2)
    assert torch.allclose(mha(x, x, x)[0], reference, atol=1e-6)
    mha.head_mask = torch.tensor([True, False])
    ablated, _ = mha(x, x, x)
    # By hand: the heads' outputs with head 1 set to 0, then the output projection.
    q, k, v = (split_heads(w(x), 2) for w in (mha.w_q, mha.w_k, mha.w_v))
    heads = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1) @ v  # (B, H, T, Dh), Dh = 4
    heads[:, 1] = 0.0
    assert torch.allclose(ablated, mha.w_o(merge_heads(heads)), atol=1e-5)
    assert not torch.allclose(ablated, reference, atol=1e-3)
    assert "head_mask" not in mha.state_dict()


def test_head_mask_of_the_wrong_shape_is_an_error():
    mha = MultiHeadAttention(8, 2)
    mha.head_mask = torch.ones(3)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match=r"head_mask must have shape \(H,\) .* = 2; got \(3,\)"):
        mha(x, x, x)
