"""Checkers for the exercises of `01_dot_products_qkv` (NumPy).

- ``check_score_matrix``: ``score_matrix(Q, K)``, the scores Q Kᵀ for any leading batch dims.
- ``check_cosine_similarity``: ``cosine_similarity(X, Y)``, the (T, S) matrix of cosines.
- ``check_soft_lookup``: ``soft_lookup(query, keys, values)``, a softmax-weighted average
  of the values.

Each checker's ``mistakes`` attribute is its catalogue of common wrong answers, in the order
they are tried: the first one that reproduces a wrong result is the one that is named.
"""

from __future__ import annotations

import numpy as np

from helpers.exercises.checking import Case, Checker, Mistake

__all__ = ["check_cosine_similarity", "check_score_matrix", "check_soft_lookup"]


def _swap_last_two(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


# ---------------------------------------------------------------- score_matrix(Q, K)


def score_matrix_reference(Q: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Q (..., T, D), K (..., S, D) -> scores Q Kᵀ (..., T, S)."""
    return Q @ _swap_last_two(K)


def _keys_times_queries(Q, K):
    return K @ _swap_last_two(Q)


def _dot_T_attribute(Q, K):
    return Q @ K.T


def _no_transpose(Q, K):
    return Q @ K


def _np_dot_batched(Q, K):
    return np.dot(Q, _swap_last_two(K))


def _sum_over_keys(Q, K):
    return (Q[..., :, None, :] * K[..., None, :, :]).sum(axis=-2)


def _score_cases() -> list[Case]:
    rng = np.random.default_rng(101)
    return [
        Case(
            "2-D inputs Q (T=3, D=4) and K (S=5, D=4)",
            (rng.normal(size=(3, 4)), rng.normal(size=(5, 4))),
        ),
        Case(
            "a batch: Q (B=2, T=3, D=4) and K (B=2, S=5, D=4)",
            (rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))),
        ),
        Case(
            "two batch dimensions: Q (B=2, H=3, T=2, D=4) and K (B=2, H=3, S=5, D=4)",
            (rng.normal(size=(2, 3, 2, 4)), rng.normal(size=(2, 3, 5, 4))),
        ),
    ]


check_score_matrix = Checker(
    exercise="score_matrix",
    library="numpy",
    reference=score_matrix_reference,
    cases=_score_cases(),
    mistakes=[
        Mistake(
            "the transposed result, K Qᵀ instead of Q Kᵀ",
            "Row i of the result belongs to query i: put Q on the left, Q @ (K with its last "
            "two axes swapped), so the result is (..., T, S), not (..., S, T).",
            _keys_times_queries,
        ),
        Mistake(
            "K.T on a batched input",
            "NumPy's .T reverses ALL axes, so it only works for 2-D arrays: a (B, S, D) array "
            "becomes (D, S, B). Swap only the last two axes: np.swapaxes(K, -1, -2).",
            _dot_T_attribute,
        ),
        Mistake(
            "forgot to transpose K (Q @ K)",
            "Q is (..., T, D) and K is (..., S, D): their last axes are both D, so compare rows "
            "with rows by transposing K's last two axes: Q @ np.swapaxes(K, -1, -2).",
            _no_transpose,
        ),
        Mistake(
            "np.dot on batched inputs",
            "For arrays with more than two axes np.dot pairs every batch of Q with every batch "
            "of K, giving (B, T, B, S). Use @ (np.matmul), which treats leading axes as a batch.",
            _np_dot_batched,
        ),
        Mistake(
            "the elementwise products summed over the keys instead of the features",
            "A dot product sums over the feature axis D: with Q[..., :, None, :] * "
            "K[..., None, :, :] of shape (..., T, S, D), sum over axis=-1, not axis=-2.",
            _sum_over_keys,
        ),
    ],
)


# ------------------------------------------------------------ cosine_similarity(X, Y)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cosine_similarity_reference(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """X (T, D), Y (S, D) -> (T, S) cosines of the angles between rows of X and rows of Y."""
    return _unit_rows(X) @ _unit_rows(Y).T


def _plain_dot(X, Y):
    return X @ Y.T


def _only_x_normalised(X, Y):
    return _unit_rows(X) @ Y.T


def _only_y_normalised(X, Y):
    return X @ _unit_rows(Y).T


def _normalised_columns(X, Y):
    return (X / np.linalg.norm(X, axis=0, keepdims=True)) @ (
        Y / np.linalg.norm(Y, axis=0, keepdims=True)
    ).T


def _squared_norms(X, Y):
    x_sq = (X**2).sum(axis=-1, keepdims=True)
    y_sq = (Y**2).sum(axis=-1, keepdims=True)
    return (X @ Y.T) / (x_sq * y_sq.T)


def _whole_matrix_norms(X, Y):
    return (X @ Y.T) / (np.linalg.norm(X) * np.linalg.norm(Y))


def _cosine_cases() -> list[Case]:
    rng = np.random.default_rng(202)
    row_lengths = np.array([[0.5], [1.0], [3.0]])
    parallel = np.array([[1.0, 2.0], [-3.0, 1.0]])
    return [
        Case(
            "X (T=3, D=4) and Y (S=5, D=4), rows of different lengths",
            (rng.normal(size=(3, 4)) * row_lengths, rng.normal(size=(5, 4)) * 2.0),
        ),
        Case(
            "vectors pointing the same way but 10x longer (their cosine is 1)",
            (parallel, np.vstack([10.0 * parallel, [[0.0, 0.5]]])),
        ),
        Case(
            "one query row (T=1) against S=6 keys in D=3",
            (rng.normal(size=(1, 3)), rng.normal(size=(6, 3)) * 4.0),
        ),
    ]


check_cosine_similarity = Checker(
    exercise="cosine_similarity",
    library="numpy",
    reference=cosine_similarity_reference,
    cases=_cosine_cases(),
    mistakes=[
        Mistake(
            "no normalisation at all (plain dot products)",
            "The cosine is the dot product divided by both lengths: "
            "x·y / (‖x‖ ‖y‖). np.linalg.norm(X, axis=-1, keepdims=True) gives the lengths.",
            _plain_dot,
        ),
        Mistake(
            "only the rows of X normalised",
            "Divide the rows of Y by their lengths too; the cosine ignores both lengths.",
            _only_x_normalised,
        ),
        Mistake(
            "only the rows of Y normalised",
            "Divide the rows of X by their lengths too; the cosine ignores both lengths.",
            _only_y_normalised,
        ),
        Mistake(
            "normalised over the wrong axis (the columns instead of the rows)",
            "Each row is one vector, so take its length across the features: "
            "np.linalg.norm(X, axis=-1, keepdims=True), not axis=0.",
            _normalised_columns,
        ),
        Mistake(
            "divided by the squared lengths",
            "‖x‖² = x·x is the squared length; the cosine divides by the lengths ‖x‖ = √(x·x).",
            _squared_norms,
        ),
        Mistake(
            "np.linalg.norm without an axis (one norm for the whole matrix)",
            "Without axis=, np.linalg.norm returns one number for the whole matrix. Give each "
            "row its own length: np.linalg.norm(X, axis=-1, keepdims=True).",
            _whole_matrix_norms,
        ),
    ],
)


# ------------------------------------------------------ soft_lookup(query, keys, values)


def soft_lookup_reference(query: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """query (D,), keys (S, D), values (S, Dv) -> (Dv,): values averaged with softmax weights."""
    scores = keys @ query  # (S,)
    e = np.exp(scores - scores.max())
    return (e / e.sum()) @ values


def _softmax_weights(query, keys):
    e = np.exp(keys @ query)
    return e / e.sum()


def _raw_scores_as_weights(query, keys, values):
    return (keys @ query) @ values


def _exp_not_normalised(query, keys, values):
    return np.exp(keys @ query) @ values


def _scores_over_their_sum(query, keys, values):
    scores = keys @ query
    return (scores / scores.sum()) @ values


def _hard_argmax_lookup(query, keys, values):
    return values[np.argmax(keys @ query)]


def _weights_on_keys(query, keys, values):
    return _softmax_weights(query, keys) @ keys


def _summed_over_values_axis(query, keys, values):
    return (_softmax_weights(query, keys)[:, None] * values).sum(axis=1)


def _soft_lookup_cases() -> list[Case]:
    rng = np.random.default_rng(303)
    return [
        Case(
            "a query (D=4) against S=5 keys with values of width Dv=3",
            (rng.normal(size=4), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))),
        ),
        Case(
            "one key that matches the query much better than the others (S=3, D=2, Dv=4)",
            (
                np.array([2.0, 0.0]),
                np.array([[1.5, 0.0], [0.0, 1.0], [-0.5, 0.5]]),
                rng.normal(size=(3, 4)),
            ),
        ),
        Case(
            "negative scores only (S=4, D=3, Dv=2)",
            (
                np.array([-1.0, -0.5, 0.0]),
                np.abs(rng.normal(size=(4, 3))),
                rng.normal(size=(4, 2)),
            ),
        ),
    ]


check_soft_lookup = Checker(
    exercise="soft_lookup",
    library="numpy",
    reference=soft_lookup_reference,
    cases=_soft_lookup_cases(),
    mistakes=[
        Mistake(
            "the raw scores used as weights (no softmax)",
            "Raw scores can be negative and need not add up to 1. Turn them into weights "
            "first: w = np.exp(scores) / np.exp(scores).sum().",
            _raw_scores_as_weights,
        ),
        Mistake(
            "exp of the scores, but not normalised",
            "After np.exp, divide by the sum so the weights add up to 1: "
            "the result must be a weighted *average* of the values.",
            _exp_not_normalised,
        ),
        Mistake(
            "the scores divided by their sum (no exp)",
            "Dividing by the sum does not make negative scores positive. Take np.exp of the "
            "scores first, then divide by the sum of the exponentials.",
            _scores_over_their_sum,
        ),
        Mistake(
            "a hard lookup: only the best-matching value",
            "That is the dictionary-style lookup. A soft lookup blends every value, weighted "
            "by the softmax of the scores.",
            _hard_argmax_lookup,
        ),
        Mistake(
            "the weights applied to the keys instead of the values",
            "The keys are only for matching; what comes back is a weighted average of the "
            "values: weights @ values, of shape (Dv,).",
            _weights_on_keys,
        ),
        Mistake(
            "the weighted values summed over the wrong axis",
            "weights[:, None] * values is (S, Dv): sum over the S keys (axis=0) to get one "
            "vector of width Dv, or simply write weights @ values.",
            _summed_over_values_axis,
        ),
    ],
)
