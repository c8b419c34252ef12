"""`attention_heads_grid`, the figure behind the head widget of `03_multi_head_attention`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.plotting import attention_heads_grid

TOKENS = ["a3", "B1", "b7", "A0", "c2"]
WEIGHTS = torch.softmax(torch.randn(3, 5, 5, generator=torch.Generator().manual_seed(0)), dim=-1)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def heatmaps(fig: plt.Figure) -> list[plt.Axes]:
    """The axes that hold a heatmap (the colour bar's axes hold none)."""
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def test_one_map_per_head_with_its_weights_titles_and_labels():
    fig = attention_heads_grid(WEIGHTS, TOKENS, TOKENS, title="Three heads")
    axes = heatmaps(fig)
    assert [ax.get_title() for ax in axes] == ["head 0", "head 1", "head 2"]
    for h, ax in enumerate(axes):
        np.testing.assert_allclose(ax.images[0].get_array(), WEIGHTS[h].numpy())
        assert [label.get_text() for label in ax.get_xticklabels()] == TOKENS
        assert [label.get_text() for label in ax.get_yticklabels()] == TOKENS
        assert ax.get_xlabel() == "key (attended to)"
    assert fig.get_suptitle() == "Three heads"


def test_all_maps_share_one_colour_scale_and_one_colour_bar():
    fig = attention_heads_grid(WEIGHTS, TOKENS, TOKENS)
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in heatmaps(fig))
    assert len(fig.axes) == len(heatmaps(fig)) + 1  # the maps and one colour bar
    assert fig.get_suptitle() == ""


def test_picked_heads_are_drawn_in_the_order_given_and_the_grid_wraps():
    fig = attention_heads_grid(WEIGHTS.numpy(), heads=[2, 0], ncols=1)
    axes = heatmaps(fig)
    assert [ax.get_title() for ax in axes] == ["head 2", "head 0"]
    np.testing.assert_allclose(axes[0].images[0].get_array(), WEIGHTS[2].numpy())
    assert axes[0].get_position().y0 > axes[1].get_position().y0  # one column: stacked
    assert [label.get_text() for label in axes[0].get_xticklabels()] == ["0", "1", "2", "3", "4"]


def test_unused_cells_of_the_grid_are_removed():
    fig = attention_heads_grid(WEIGHTS, TOKENS, TOKENS, ncols=2)  # 3 maps on a 2 x 2 grid
    assert len(heatmaps(fig)) == 3
    assert len(fig.axes) == 4


def test_cross_attention_maps_have_their_own_query_and_key_labels():
    weights = torch.softmax(torch.randn(2, 3, 5), dim=-1)  # (H, T, S), T != S
    fig = attention_heads_grid(weights, ["x", "y", "z"], TOKENS, annotate=True)
    ax = heatmaps(fig)[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["x", "y", "z"]
    assert len(ax.texts) == 3 * 5


@pytest.mark.parametrize(
    ("weights", "kwargs", "message"),
    [
        (WEIGHTS[0], {}, r"3-D \(H, T, S\) stack, one map per head; got shape \(5, 5\)"),
        (
            WEIGHTS,
            {"query_tokens": TOKENS[:4]},
            "query_tokens must have one label per row of T=5; got 4",
        ),
        (
            WEIGHTS,
            {"key_tokens": TOKENS * 2},
            "key_tokens must have one label per row of S=5; got 10",
        ),
        (WEIGHTS, {"heads": [0, 3]}, r"indices in \[0, H=3\); got \[0, 3\]"),
        (WEIGHTS, {"heads": []}, r"non-empty list of indices in \[0, H=3\); got \[\]"),
        (WEIGHTS, {"heads": [-1]}, r"got \[-1\]"),
        (WEIGHTS, {"ncols": 0}, "ncols must be a positive integer; got 0"),
    ],
)
def test_bad_input_names_expected_and_received(weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        attention_heads_grid(weights, **kwargs)
    assert not plt.get_fignums(), "no half-drawn figure is left behind"
