"""The widget of 00_start_here: one query against three fixed keys, its scores and weights."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.widgets import DEMO_KEY_NAMES, DEMO_KEYS, query_attention, query_attention_panels


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_scores_are_dot_products_and_weights_their_softmax():
    query, scores, weights = query_attention(30.0, 2.0)
    np.testing.assert_allclose(query, 2.0 * np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)]))
    np.testing.assert_allclose(scores, DEMO_KEYS @ query)
    np.testing.assert_allclose(weights, np.exp(scores) / np.exp(scores).sum())
    assert weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("key", range(3))
def test_the_key_the_query_points_at_gets_the_largest_weight(key):
    angle = np.degrees(np.arctan2(DEMO_KEYS[key, 1], DEMO_KEYS[key, 0]))
    _, scores, weights = query_attention(angle, 1.0)
    assert scores.argmax() == key and weights.argmax() == key


def test_a_zero_query_weighs_all_keys_equally():
    _, scores, weights = query_attention(123.0, 0.0)
    np.testing.assert_allclose(scores, 0.0, atol=1e-12)
    np.testing.assert_allclose(weights, 1 / 3)


def test_a_longer_query_keeps_the_ranking_and_sharpens_the_weights():
    largest = []
    for length in (0.5, 1.0, 2.0, 3.0):
        _, scores, weights = query_attention(30.0, length)
        assert list(np.argsort(weights)) == list(np.argsort(scores)) == [2, 1, 0]
        largest.append(weights.max())
    assert np.all(np.diff(largest) > 0)


def test_custom_keys_and_bad_inputs():
    _, scores, _ = query_attention(0.0, 1.0, keys=[[2.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(scores, [2.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="length must be"):
        query_attention(0.0, -1.0)
    with pytest.raises(ValueError, match=r"keys must be \(S, 2\)"):
        query_attention(0.0, 1.0, keys=np.ones((3, 3)))


def test_panels_draw_the_vectors_the_scores_and_the_weights():
    axes = query_attention_panels(30.0, 2.0)
    assert len(axes) == 3
    assert "30°" in axes[0].get_title() and "2.00" in axes[0].get_title()
    assert "scores" in axes[1].get_title() and "softmax" in axes[2].get_title()
    _, scores, weights = query_attention(30.0, 2.0)
    for ax, values in ((axes[1], scores), (axes[2], weights)):
        heights = [patch.get_height() for patch in ax.patches]
        np.testing.assert_allclose(heights, values)
        assert [t.get_text() for t in ax.get_xticklabels()] == list(DEMO_KEY_NAMES)
    assert {"query", *DEMO_KEY_NAMES} <= {t.get_text() for t in axes[0].texts}


def test_panels_draw_on_given_axes():
    fig, axes = plt.subplots(1, 3)
    assert list(query_attention_panels(200.0, 0.0, axes=axes)) == list(axes)
