"""helpers.efficient_attention: tiled attention equals PyTorch's, sliding windows equal their
dense mask, linear attention equals its quadratic form, and memory grows as the lesson says."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.attention import causal_mask, padding_mask, scaled_dot_product_attention
from helpers.efficient_attention import (
    SDPA_BACKENDS,
    causal_linear_attention,
    elu_feature_map,
    linear_attention,
    peak_memory,
    sdpa_backend_costs,
    sliding_window_attention,
    sliding_window_mask,
    tiled_attention,
)


def _qkv(*shape_q, S=None, Dv=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    *batch, T, Dh = shape_q
    S = T if S is None else S
    q = torch.randn(*batch, T, Dh, generator=g)
    k = torch.randn(*batch, S, Dh, generator=g)
    v = torch.randn(*batch, S, Dv or Dh, generator=g)
    return q, k, v


# --- peak_memory ---------------------------------------------------------------------------


def test_peak_memory_counts_what_is_allocated_and_not_the_inputs():
    assert peak_memory(lambda: torch.empty(256, 256)) == 256 * 256 * 4
    x = torch.randn(512, 512)  # 1 MiB that exists before the call

    def two_temporaries():
        y = x * 2  # 1 MiB
        z = y + 1  # another MiB while y is alive
        return z.sum()

    assert peak_memory(two_temporaries) == pytest.approx(2 * 2**20, abs=1024)
    with pytest.raises(ValueError, match="measures the CPU or a CUDA device"):
        peak_memory(lambda: None, device="meta")


def test_sdpa_backend_costs_runs_the_gpu_cells_configuration_on_the_cpu_at_a_tiny_size():
    costs = sdpa_backend_costs(64, "cpu", heads=2, head_dim=8, min_run_time=0.01)
    assert list(costs) == list(SDPA_BACKENDS)
    seconds, peak = costs["MATH"]
    assert seconds > 0 and peak >= 2 * 64 * 64 * 2  # the math kernel holds (H, N, N) scores
    declined = [name for name, cost in costs.items() if isinstance(cost, str)]
    assert "CUDNN_ATTENTION" in declined  # a CUDA-only kernel says why it cannot run


# --- tiled attention -----------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [1, 5, 16, 64])
@pytest.mark.parametrize("is_causal", [False, True])
def test_tiled_attention_equals_pytorch_with_padding_and_causal_masks(block_size, is_causal):
    q, k, v = _qkv(3, 2, 23, 8, S=29, Dv=6)
    real = padding_mask(torch.tensor([29, 11, 1]), 29).unsqueeze(1)  # (B, 1, 1, S)
    mask = real & causal_mask(23, 29) if is_causal else real
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    got = tiled_attention(q, k, v, real, is_causal=is_causal, block_size=block_size)
    assert got.shape == (3, 2, 23, 6)
    assert torch.allclose(got, expected, atol=1e-5)


def test_tiled_attention_handles_large_scores_and_queries_that_see_nothing():
    q, k, v = _qkv(2, 40, 4)
    mask = torch.ones(40, 40, dtype=torch.bool)
    mask[7] = False  # query 7 may attend to nothing: zeros, as in the course's attention
    got = tiled_attention(q * 30, k, v, mask, block_size=8)
    expected, _ = scaled_dot_product_attention(q * 30, k, v, mask)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.equal(got[:, 7], torch.zeros(2, 4))


def test_tiled_attention_memory_is_the_output_plus_one_tile():
    """Past the output, what tiled attention holds does not grow with N; the course's grows as N²."""
    extra = {}
    for N in (256, 512):
        q, k, v = _qkv(1, 2, N, 16)
        output = 2 * N * 16 * 4
        extra[N] = (
            peak_memory(lambda q=q, k=k, v=v: tiled_attention(q, k, v, block_size=128)) - output
        )
        course = peak_memory(lambda q=q, k=k, v=v: scaled_dot_product_attention(q, k, v))
        assert course > 2 * 2 * N * N * 4  # scores and weights, two heads
    assert extra[512] < 1.1 * extra[256]
    assert extra[512] < 4 * 2 * 128 * 128 * 4  # a few (H, 128, 128) tiles


def test_tiled_attention_errors():
    q, k, v = _qkv(4, 8)
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        tiled_attention(q, k, v, block_size=0)
    with pytest.raises(ValueError, match="mask must broadcast"):
        tiled_attention(q, k, v, torch.ones(3, 4, dtype=torch.bool))


# --- sliding windows -----------------------------------------------------------------------


def test_sliding_window_mask_pattern():
    mask = sliding_window_mask(6, 1, global_tokens=1)
    assert mask.int().tolist() == [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [1, 0, 1, 1, 1, 0],
        [1, 0, 0, 1, 1, 1],
        [1, 0, 0, 0, 1, 1],
    ]
    assert torch.equal(sliding_window_mask(6, 1, global_tokens=1, causal=True), mask.tril())


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    ("N", "window", "global_tokens"), [(1, 2, 0), (17, 1, 0), (40, 3, 2), (33, 8, 5), (9, 20, 1)]
)
def test_sliding_window_attention_equals_the_dense_mask(N, window, global_tokens, causal):
    q, k, v = _qkv(2, 3, N, 8, Dv=5)
    mask = sliding_window_mask(N, window, global_tokens=global_tokens, causal=causal)
    expected, _ = scaled_dot_product_attention(q, k, v, mask)
    got = sliding_window_attention(q, k, v, window, global_tokens=global_tokens, causal=causal)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5)


def test_sliding_window_gradients_are_finite_and_equal_to_the_dense_ones():
    q, k, v = (t.requires_grad_() for t in _qkv(1, 30, 4))
    sliding_window_attention(q, k, v, 4, global_tokens=1, causal=True).square().sum().backward()
    ours = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    mask = sliding_window_mask(30, 4, global_tokens=1, causal=True)
    scaled_dot_product_attention(q, k, v, mask)[0].square().sum().backward()
    for mine, theirs in zip(ours, (q.grad, k.grad, v.grad), strict=True):
        assert torch.isfinite(mine).all() and torch.allclose(mine, theirs, atol=1e-5)


def test_sliding_window_memory_grows_linearly():
    peaks = {}
    for N in (1024, 2048):
        q, k, v = _qkv(1, N, 16)
        peaks[N] = peak_memory(lambda q=q, k=k, v=v: sliding_window_attention(q, k, v, 16))
    assert 1.8 < peaks[2048] / peaks[1024] < 2.2
    assert peaks[2048] < 2048 * 2048 * 4  # less than one dense (N, N) matrix


def test_sliding_window_errors():
    q, k, v = _qkv(10, 4)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        sliding_window_attention(q, k, v, 0)
    with pytest.raises(ValueError, match="global_tokens must be an integer >= 0"):
        sliding_window_mask(10, 2, global_tokens=-1)
    with pytest.raises(ValueError, match="same length N"):
        sliding_window_attention(q, k[:5], v[:5], 2)


# --- linear attention ----------------------------------------------------------------------


def _quadratic_kernel_attention(q, k, v, causal):
    weights = elu_feature_map(q) @ elu_feature_map(k).transpose(-2, -1)  # (..., T, S)
    if causal:
        weights = weights.tril()
    return (weights / weights.sum(-1, keepdim=True)) @ v


def test_linear_attention_equals_its_quadratic_form():
    q, k, v = _qkv(2, 2, 13, 6, S=21, Dv=3)
    assert torch.allclose(
        linear_attention(q, k, v), _quadratic_kernel_attention(q, k, v, False), atol=1e-5
    )


@pytest.mark.parametrize("chunk_size", [1, 4, 7, 64])
def test_causal_linear_attention_equals_the_masked_quadratic_form_and_the_recurrence(chunk_size):
    q, k, v = _qkv(2, 19, 5, Dv=3)
    got = causal_linear_attention(q, k, v, chunk_size=chunk_size)
    assert torch.allclose(got, _quadratic_kernel_attention(q, k, v, True), atol=1e-5)
    state, z, outputs = torch.zeros(2, 5, 3), torch.zeros(2, 5), []
    for i in range(19):  # the same thing as a recurrent network: one fixed-size state
        phi_q, phi_k = elu_feature_map(q[:, i]), elu_feature_map(k[:, i])
        state = state + phi_k[:, :, None] * v[:, i, None, :]
        z = z + phi_k
        outputs.append((phi_q[:, None] @ state).squeeze(1) / (phi_q * z).sum(-1, keepdim=True))
    assert torch.allclose(got, torch.stack(outputs, dim=1), atol=1e-5)


def test_causal_linear_attention_gradients_stay_finite_when_n_is_not_a_multiple_of_the_chunk():
    q, k, v = (t.requires_grad_() for t in _qkv(1, 10, 4))
    causal_linear_attention(q, k, v, chunk_size=4).sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_linear_attention_errors():
    q, k, v = _qkv(6, 4)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        causal_linear_attention(q, k, v, chunk_size=0)
    with pytest.raises(ValueError, match="one length N"):
        causal_linear_attention(q, k[:3], v[:3])
    with pytest.raises(ValueError, match="must share their last dimension"):
        linear_attention(q, k[:, :3], v)
