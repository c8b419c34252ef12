"""`edited_projection_attention`, the function behind the W_Q / W_K widget of
`01_dot_products_qkv`: one edited entry moves exactly the rows (W_Q) or columns (W_K) of the
scores it should, and the weights are a softmax of each row."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.widgets import edited_projection_attention

# The notebook's sentence: the cat chased two small mice, features
# animal, hunter, action, plural, small, modifier.
X = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.5, 1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.5],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.5],
        [1.0, 0.0, 0.0, 1.0, 0.5, 0.0],
    ]
)
ANIMAL, ACTION, PLURAL, MODIFIER = 0, 2, 3, 5
W_Q = np.zeros((6, 2))
W_Q[MODIFIER, 0] = W_Q[ACTION, 0] = W_Q[ANIMAL, 1] = 3.0
W_K = np.zeros((6, 2))
W_K[ANIMAL, 0] = W_K[ACTION, 1] = 1.0


def _unedited():
    return (X @ W_Q) @ (X @ W_K).T


def test_setting_an_entry_to_its_own_value_changes_nothing():
    scores, weights = edited_projection_attention(
        X, W_Q, W_K, matrix="W_Q", feature=MODIFIER, column=0, value=3.0
    )
    np.testing.assert_allclose(scores, _unedited())
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    expected = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(weights, expected)


def test_a_w_q_entry_moves_only_the_rows_of_words_with_that_feature():
    scores, weights = edited_projection_attention(
        X, W_Q, W_K, matrix="W_Q", feature=PLURAL, column=0, value=3.0
    )
    changed_rows = np.flatnonzero(~np.isclose(scores, _unedited()).all(axis=-1))
    assert changed_rows.tolist() == [3, 5]  # two, mice: the plural words
    # "two" now looks for animals: cat and mice share most of its weight.
    assert weights[3, [1, 5]].sum() > 0.8


def test_a_w_k_entry_moves_only_the_columns_of_words_with_that_feature():
    scores, _ = edited_projection_attention(
        X, W_Q, W_K, matrix="W_K", feature=PLURAL, column=0, value=1.0
    )
    changed_columns = np.flatnonzero(~np.isclose(scores, _unedited()).all(axis=0))
    assert changed_columns.tolist() == [3, 5]


def test_inputs_are_not_modified():
    W_Q_before, W_K_before = W_Q.copy(), W_K.copy()
    edited_projection_attention(X, W_Q, W_K, matrix="W_K", feature=ANIMAL, column=1, value=-2.0)
    np.testing.assert_array_equal(W_Q, W_Q_before)
    np.testing.assert_array_equal(W_K, W_K_before)


def test_large_scores_give_finite_weights():
    _, weights = edited_projection_attention(
        X, W_Q, W_K, matrix="W_Q", feature=ANIMAL, column=1, value=1000.0
    )
    assert np.isfinite(weights).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)


def test_misuse_gets_a_clear_error():
    with pytest.raises(ValueError, match='matrix must be "W_Q" or "W_K"'):
        edited_projection_attention(X, W_Q, W_K, matrix="W_V", feature=0, column=0, value=1.0)
    with pytest.raises(ValueError, match=r"W_Q, W_K both \(D, Dh\)"):
        edited_projection_attention(X, W_Q.T, W_K, matrix="W_Q", feature=0, column=0, value=1.0)
