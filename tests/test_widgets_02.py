"""`dk_saturation` and `dk_saturation_bars`, the d_k widget of `02_softmax_and_attention`."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.widgets import dk_saturation, dk_saturation_bars

WIDTHS = [1, 4, 16, 64, 256, 512]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("d_k", [1, 7, 512])
def test_sorted_mean_weights_are_a_distribution(d_k):
    result = dk_saturation(d_k)
    for kind in ("unscaled", "scaled"):
        weights = result[kind]
        assert weights.shape == (8,)
        assert weights.sum() == pytest.approx(1.0)
        assert np.all(np.diff(weights) <= 0), "sorted from largest to smallest"
        assert result[f"max_{kind}"] == pytest.approx(weights[0])
        assert 0.0 <= result[f"entropy_{kind}"] <= math.log2(8)


def test_matches_a_direct_torch_computation():
    """Same vectors, computed independently: softmax of q·k and of q·k / √d_k."""
    d_k, n_queries, n_keys = 16, 500, 8
    vectors = torch.from_numpy(np.random.default_rng(0).standard_normal((n_queries, 9, 512)))
    q, k = vectors[:, :1, :d_k], vectors[:, 1:, :d_k]
    scores = (q @ k.transpose(-2, -1)).squeeze(1)  # (n_queries, n_keys)
    result = dk_saturation(d_k, n_keys=n_keys, n_queries=n_queries)
    for kind, s in (("unscaled", scores), ("scaled", scores / math.sqrt(d_k))):
        weights = torch.softmax(s, dim=-1)
        entropy = -(weights * weights.clamp_min(1e-300).log2()).sum(-1)
        sorted_mean = weights.sort(dim=-1, descending=True).values.mean(0)
        np.testing.assert_allclose(result[kind], sorted_mean.numpy(), rtol=1e-9, atol=1e-12)
        assert result[f"max_{kind}"] == pytest.approx(weights.amax(-1).mean().item())
        assert result[f"entropy_{kind}"] == pytest.approx(entropy.mean().item())


def test_at_width_one_scaling_changes_nothing():
    result = dk_saturation(1)
    np.testing.assert_allclose(result["unscaled"], result["scaled"])


def test_unscaled_softmax_saturates_and_scaled_does_not():
    results = [dk_saturation(d_k) for d_k in WIDTHS]
    unscaled = [r["max_unscaled"] for r in results]
    scaled = [r["max_scaled"] for r in results]
    assert np.all(np.diff(unscaled) > 0), unscaled
    assert unscaled[-1] > 0.9 and results[-1]["entropy_unscaled"] < 0.3
    assert max(scaled) - min(scaled) < 0.1, scaled
    assert min(r["entropy_scaled"] for r in results) > 2.0


def test_seed_makes_it_reproducible():
    a, b, c = dk_saturation(32, seed=3), dk_saturation(32, seed=3), dk_saturation(32, seed=4)
    np.testing.assert_array_equal(a["unscaled"], b["unscaled"])
    assert not np.array_equal(a["unscaled"], c["unscaled"])


@pytest.mark.parametrize("d_k", [0, 513, 2.5, True, "64"])
def test_bad_width_is_refused(d_k):
    with pytest.raises(ValueError, match="d_k must be an integer in"):
        dk_saturation(d_k)


def test_too_few_keys_is_refused():
    with pytest.raises(ValueError, match="n_keys >= 2"):
        dk_saturation(8, n_keys=1)


def test_bars_draw_the_numbers_and_say_them_in_the_titles():
    axes = dk_saturation_bars(256)
    result = dk_saturation(256)
    assert len(axes) == 2
    for ax, kind in zip(axes, ("unscaled", "scaled"), strict=True):
        heights = np.array([bar.get_height() for bar in ax.patches])
        np.testing.assert_allclose(heights, result[kind])
        assert f"largest weight {result[f'max_{kind}']:.2f}" in ax.get_title()
        assert f"entropy {result[f'entropy_{kind}']:.2f}" in ax.get_title()
    assert "256" in axes[0].figure._suptitle.get_text()


def test_bars_use_the_axes_they_are_given():
    fig, given = plt.subplots(1, 2)
    axes = dk_saturation_bars(4, axes=given)
    assert list(axes) == list(given) and axes[0].figure is fig
