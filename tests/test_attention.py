"""helpers.attention agrees with PyTorch and fails clearly on bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.attention import causal_mask, padding_mask, scaled_dot_product_attention, softmax

SHAPES = [  # (leading batch dims, T, S, Dh, Dv)
    ((), 5, 5, 8, 8),
    ((3,), 4, 7, 16, 5),
    ((2, 4), 6, 3, 32, 32),
    ((2, 3, 2), 1, 9, 4, 6),
]


@pytest.mark.parametrize(("lead", "T", "S", "Dh", "Dv"), SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torch_with_random_boolean_masks(lead, T, S, Dh, Dv, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, T, Dh, generator=g)
    k = torch.randn(*lead, S, Dh, generator=g)
    v = torch.randn(*lead, S, Dv, generator=g)
    mask = torch.rand(*lead, T, S, generator=g) > 0.3
    mask[..., 0] = True  # keep every row attending somewhere: PyTorch's NaN rules differ
    for m in (None, mask, mask[..., :1, :]):  # full mask, and one broadcast over queries
        ours, weights = scaled_dot_product_attention(q, k, v, m)
        theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        assert ours.shape == (*lead, T, Dv) and weights.shape == (*lead, T, S)
        assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)
        assert torch.allclose(weights.sum(-1), torch.ones(*lead, T), atol=1e-6)


def test_broadcast_batch_dims_and_explicit_scale():
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(1, 4, 6, 8), torch.randn(1, 4, 6, 8)
    ours, _ = scaled_dot_product_attention(q, k, v, scale=0.5)
    theirs = F.scaled_dot_product_attention(q, k, v, scale=0.5)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_weights_are_softmax_of_scaled_scores():
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    _, weights = scaled_dot_product_attention(q, k, v)
    assert torch.allclose(weights, torch.softmax(q @ k.T / math.sqrt(4), dim=-1), atol=1e-6)


def test_masked_keys_get_exactly_zero_weight():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    mask = padding_mask(torch.tensor([2, 6]))
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights[0, :, 2:] == 0)
    assert torch.all(weights[1] > 0)


def test_fully_masked_row_gives_zeros_not_nan_and_gradients_stay_finite():
    q = torch.randn(1, 3, 4, requires_grad=True)
    k, v = torch.randn(1, 5, 4), torch.randn(1, 5, 2)
    mask = torch.ones(1, 3, 5, dtype=torch.bool)
    mask[0, 1] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(out[0, 1] == 0) and torch.all(weights[0, 1] == 0)
    assert not torch.isnan(out).any()
    out.sum().backward()
    assert torch.isfinite(q.grad).all()
    assert torch.all(q.grad[0, 1] == 0)


def test_softmax_is_stable_and_matches_torch():
    x = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    assert torch.allclose(softmax(x), torch.softmax(x, dim=-1))
    assert torch.allclose(softmax(x, dim=0), torch.softmax(x, dim=0))
    assert torch.equal(softmax(torch.full((2, 3), float("-inf"))), torch.zeros(2, 3))


def test_softmax_rejects_non_float():
    with pytest.raises(ValueError, match="floating-point"):
        softmax(torch.arange(3))


def test_causal_mask_matches_torch_is_causal():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).bool())
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    ours, _ = scaled_dot_product_attention(q, k, v, causal_mask(4, 6))
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_causal_mask_means_no_information_from_the_future():
    q = torch.randn(1, 5, 4)
    k, v = torch.randn(1, 5, 4), torch.randn(1, 5, 4)
    out, _ = scaled_dot_product_attention(q, k, v, causal_mask(5))
    k2, v2 = k.clone(), v.clone()
    k2[0, 3:] += 10
    v2[0, 3:] -= 10
    out2, _ = scaled_dot_product_attention(q, k2, v2, causal_mask(5))
    assert torch.equal(out[0, :3], out2[0, :3])
    assert not torch.allclose(out[0, 3:], out2[0, 3:])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_causal_mask_rejects_bad_lengths(bad):
    with pytest.raises(ValueError, match="positive integer"):
        causal_mask(bad)


def test_padding_mask_shape_and_values():
    mask = padding_mask(torch.tensor([1, 3, 0]), S=4)
    assert mask.shape == (3, 1, 4) and mask.dtype == torch.bool
    assert mask[:, 0].tolist() == [
        [True, False, False, False],
        [True, True, True, False],
        [False, False, False, False],
    ]


@pytest.mark.parametrize(
    ("lengths", "S", "message"),
    [
        (
            torch.tensor([[1, 2]]),
            None,
            r"1-D integer tensor of shape \(B,\); got torch.int64 tensor of shape \(1, 2\)",
        ),
        (torch.tensor([1.0, 2.0]), None, "1-D integer tensor"),
        ([1, 2], None, "got list"),
        (torch.tensor([1, 5]), 4, r"lengths must lie in \[0, S=4\]"),
    ],
)
def test_padding_mask_rejects_bad_lengths(lengths, S, message):
    with pytest.raises(ValueError, match=message):
        padding_mask(lengths, S)


def test_dropout_zeroes_weights_and_is_off_by_default():
    torch.manual_seed(0)
    q, k, v = torch.randn(4, 16, 8), torch.randn(4, 16, 8), torch.randn(4, 16, 8)
    _, plain = scaled_dot_product_attention(q, k, v)
    _, dropped = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    zero_share = (dropped == 0).float().mean().item()
    assert 0.4 < zero_share < 0.6
    kept = dropped != 0
    assert torch.allclose(dropped[kept], plain[kept] * 2)


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (
            ((2, 3, 8), (2, 5, 4), (2, 5, 4)),
            r"share their last dimension Dh.*q \(2, 3, 8\) and k \(2, 5, 4\)",
        ),
        (
            ((2, 3, 8), (2, 5, 8), (2, 4, 8)),
            r"same number of keys S.*k \(2, 5, 8\) and v \(2, 4, 8\)",
        ),
        (((2, 3, 8), (3, 5, 8), (3, 5, 8)), r"leading \(batch\) dimensions .* must broadcast"),
        (((8,), (5, 8), (5, 8)), r"q must have shape \(..., L, Dh\); got \(8,\)"),
    ],
)
def test_shape_errors_name_expected_and_received(shapes, message):
    q, k, v = (torch.randn(*s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(q, k, v)


def test_mask_errors_name_expected_and_received():
    q, k, v = torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    with pytest.raises(
        ValueError,
        match=r"broadcast to the scores' shape \(..., T, S\) = \(2, 3, 5\); got \(2, 5, 3\)",
    ):
        scaled_dot_product_attention(q, k, v, torch.ones(2, 5, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"= \(2, 3, 5\); got \(4, 2, 3, 5\)"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 2, 3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="boolean tensor .True = may attend.; got torch.float32"):
        scaled_dot_product_attention(q, k, v, torch.ones(2, 3, 5))
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    with pytest.raises(TypeError, match="q must be a torch.Tensor; got ndarray"):
        scaled_dot_product_attention(q.numpy(), k, v)
