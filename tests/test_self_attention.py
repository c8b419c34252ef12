"""`helpers.attention.SelfAttention`, the layer derived in `02_softmax_and_attention`."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.attention import SelfAttention, causal_mask, padding_mask


@pytest.fixture
def layer() -> SelfAttention:
    torch.manual_seed(0)
    return SelfAttention(6, 4)


def test_shapes(layer):
    output, weights = layer(torch.randn(2, 5, 6))
    assert output.shape == (2, 5, 4)
    assert weights.shape == (2, 5, 5)


def test_d_head_defaults_to_d_model_and_leading_dims_work():
    layer = SelfAttention(8)
    output, weights = layer(torch.randn(3, 2, 7, 8))  # (..., T, D)
    assert output.shape == (3, 2, 7, 8)
    assert weights.shape == (3, 2, 7, 7)
    assert layer.w_q.weight.shape == (8, 8)


def test_equals_a_manual_computation_with_its_own_weights(layer):
    x = torch.randn(2, 5, 6)
    W_Q, W_K, W_V = layer.w_q.weight.T, layer.w_k.weight.T, layer.w_v.weight.T  # (D, Dh)
    q, k, v = x @ W_Q, x @ W_K, x @ W_V
    expected_weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1)
    output, weights = layer(x)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(output, expected_weights @ v)


def test_learned_parameters_are_the_three_projections(layer):
    names = {name for name, _ in layer.named_parameters()}
    assert names == {"w_q.weight", "w_k.weight", "w_v.weight"}
    assert sum(p.numel() for p in layer.parameters()) == 3 * 6 * 4
    assert len(list(SelfAttention(6, 4, bias=True).parameters())) == 6
    assert "d_model=6, d_head=4" in repr(layer)


def test_causal_mask_is_respected(layer):
    x = torch.randn(2, 5, 6)
    output, weights = layer(x, causal_mask(5))
    assert (weights[:, ~causal_mask(5)] == 0).all()
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 5))
    # Changing a later token cannot change an earlier output.
    changed = x.clone()
    changed[:, 3:] = torch.randn(2, 2, 6)
    changed_output, _ = layer(changed, causal_mask(5))
    torch.testing.assert_close(changed_output[:, :3], output[:, :3])


def test_padding_mask_is_respected(layer):
    x = torch.randn(2, 5, 6)
    output, weights = layer(x, padding_mask(torch.tensor([5, 3])))
    assert (weights[1, :, 3:] == 0).all()
    changed = x.clone()
    changed[1, 3:] = 100.0  # the padding of sequence 2 must not matter to its real tokens
    changed_output, _ = layer(changed, padding_mask(torch.tensor([5, 3])))
    torch.testing.assert_close(changed_output[1, :3], output[1, :3])


def test_gradients_reach_all_three_projections(layer):
    output, _ = layer(torch.randn(2, 5, 6), causal_mask(5))
    output.square().sum().backward()
    for projection in (layer.w_q, layer.w_k, layer.w_v):
        assert projection.weight.grad is not None
        assert projection.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((2, 5, 7), r"D = d_model = 6; got \(2, 5, 7\)"), ((6,), r"got \(6,\)")],
)
def test_wrong_input_shape_names_expected_and_received(layer, shape, expected):
    with pytest.raises(ValueError, match=expected):
        layer(torch.randn(*shape))


def test_non_tensor_input_is_a_type_error(layer):
    with pytest.raises(TypeError, match="x must be a torch.Tensor; got list"):
        layer([[0.0] * 6])


def test_bad_mask_is_a_value_error(layer):
    with pytest.raises(ValueError, match="mask must be a boolean tensor"):
        layer(torch.randn(2, 5, 6), causal_mask(5).float())
    with pytest.raises(ValueError, match=r"mask must broadcast"):
        layer(torch.randn(2, 5, 6), causal_mask(4))


@pytest.mark.parametrize(
    ("d_model", "d_head", "expected"),
    [(0, None, "d_model must be a positive integer; got 0"), (4, 2.5, "d_head .* got 2.5")],
)
def test_bad_sizes_are_value_errors(d_model, d_head, expected):
    with pytest.raises(ValueError, match=expected):
        SelfAttention(d_model, d_head)
