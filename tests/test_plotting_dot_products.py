"""`query_scores_bar`, the figure behind the query widget of `01_dot_products_qkv`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from helpers.plotting import query_scores_bar

KEYS = ["the", "cat", "chased", "two", "small", "mice"]
SCORES = np.array([0.0, 1.0, -0.5, 0.25, 0.5, 1.0])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_bars_are_the_scores_with_key_labels_and_title():
    ax = query_scores_bar(SCORES, KEYS, "chased")
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, SCORES)
    assert [label.get_text() for label in ax.get_xticklabels()] == KEYS
    assert "chased" in ax.get_title()
    assert ax.get_xlabel() == "key"
    assert ax.get_ylabel() == "score"


def test_best_keys_are_highlighted_ties_included():
    ax = query_scores_bar(SCORES, KEYS, "chased")
    colours = [bar.get_facecolor() for bar in ax.patches]
    best = {to_rgba("tab:orange")}
    assert {colours[1], colours[5]} == best
    assert all(colours[j] not in best for j in (0, 2, 3, 4))


def test_values_are_written_on_the_bars():
    ax = query_scores_bar(SCORES, KEYS, "chased", fmt="{:.1f}")
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.0", "1.0", "-0.5", "0.2", "0.5", "1.0"]


def test_draws_on_a_given_axes_with_custom_title_and_label():
    _, (left, right) = plt.subplots(1, 2)
    ax = query_scores_bar(torch.tensor(SCORES), KEYS, "cat", ax=right, title="Custom", ylabel="q·k")
    assert ax is right
    assert not left.patches
    assert ax.get_title() == "Custom"
    assert ax.get_ylabel() == "q·k"
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], SCORES)


@pytest.mark.parametrize(
    ("scores", "keys", "message"),
    [
        (
            np.ones((2, 3)),
            KEYS[:3],
            r"scores must be a non-empty 1-D vector \(S,\).*got shape \(2, 3\)",
        ),
        (np.ones(0), [], r"got shape \(0,\)"),
        (SCORES, KEYS[:4], r"key_tokens must have one label per score, S=6; got 4"),
    ],
)
def test_bad_input_names_expected_and_received(scores, keys, message):
    with pytest.raises(ValueError, match=message):
        query_scores_bar(scores, keys, "cat")
