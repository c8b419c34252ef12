"""The checkers of `01_dot_products_qkv`: references pass, correct variants pass, and every
catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.exercises.dot_products_qkv import (
    check_cosine_similarity,
    check_score_matrix,
    check_soft_lookup,
    cosine_similarity_reference,
    score_matrix_reference,
    soft_lookup_reference,
)

CHECKERS = {
    "score_matrix": (check_score_matrix, score_matrix_reference),
    "cosine_similarity": (check_cosine_similarity, cosine_similarity_reference),
    "soft_lookup": (check_soft_lookup, soft_lookup_reference),
}


@pytest.mark.parametrize("name", CHECKERS)
def test_a_wrong_answer_outside_the_catalogue_is_still_rejected(name):
    checker, reference = CHECKERS[name]
    with pytest.raises(AssertionError) as failure:
        checker(lambda *args: reference(*args) + 1.0)
    assert "Likely mistake" not in str(failure.value)
    assert "largest difference 1" in str(failure.value)


# ------------------------------------------------------------ correct alternatives pass


def score_matrix_einsum(Q, K):
    return np.einsum("...td,...sd->...ts", Q, K)


def score_matrix_loops(Q, K):
    *batch, T, _ = Q.shape
    S = K.shape[-2]
    out = np.zeros((*batch, T, S))
    for b in np.ndindex(*batch):
        for t in range(T):
            for s in range(S):
                out[b + (t, s)] = sum(q * k for q, k in zip(Q[b][t], K[b][s], strict=True))
    return out


def score_matrix_matmul_transpose(Q, K):
    axes = (*range(K.ndim - 2), K.ndim - 1, K.ndim - 2)
    return np.matmul(Q, K.transpose(axes))


def cosine_similarity_einsum(X, Y):
    dots = np.einsum("td,sd->ts", X, Y)
    x_len = np.sqrt(np.einsum("td,td->t", X, X))
    y_len = np.sqrt(np.einsum("sd,sd->s", Y, Y))
    return dots / np.outer(x_len, y_len)


def cosine_similarity_loops(X, Y):
    out = np.empty((len(X), len(Y)))
    for t, x in enumerate(X):
        for s, y in enumerate(Y):
            out[t, s] = np.dot(x, y) / (np.sqrt(np.dot(x, x)) * np.sqrt(np.dot(y, y)))
    return out


def soft_lookup_plain_exp(query, keys, values):
    weights = np.exp(keys @ query)
    weights = weights / weights.sum()
    return weights @ values


def soft_lookup_loops(query, keys, values):
    scores = [float(np.dot(query, key)) for key in keys]
    exps = [np.exp(s - max(scores)) for s in scores]
    total = sum(exps)
    return sum(e / total * value for e, value in zip(exps, values, strict=True))


def soft_lookup_float32(query, keys, values):
    scores = (keys @ query).astype(np.float32)
    weights = np.exp(scores) / np.exp(scores).sum()
    return (weights[:, None] * values.astype(np.float32)).sum(axis=0)


@pytest.mark.parametrize(
    ("checker", "solution"),
    [
        (check_score_matrix, score_matrix_einsum),
        (check_score_matrix, score_matrix_loops),
        (check_score_matrix, score_matrix_matmul_transpose),
        (check_cosine_similarity, cosine_similarity_einsum),
        (check_cosine_similarity, cosine_similarity_loops),
        (check_soft_lookup, soft_lookup_plain_exp),
        (check_soft_lookup, soft_lookup_loops),
        (check_soft_lookup, soft_lookup_float32),
    ],
    ids=lambda f: getattr(f, "__name__", None) or getattr(f, "exercise", "?"),
)
def test_correct_alternatives_pass(checker, solution, capsys):
    checker(solution)
    assert capsys.readouterr().out.startswith(f"✓ {checker.exercise}:")


# ------------------------------------------------------------ numpy, not torch


@pytest.mark.parametrize("name", CHECKERS)
def test_returning_a_tensor_says_the_exercise_is_numpy(name):
    checker, reference = CHECKERS[name]
    with pytest.raises(AssertionError, match="this exercise works in NumPy"):
        checker(lambda *args: torch.from_numpy(np.asarray(reference(*args))))


def test_passing_the_result_instead_of_the_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        check_score_matrix(np.zeros((3, 5)))
