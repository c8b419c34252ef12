"""The checkers of `01_dot_products_qkv`: references pass, correct variants pass, and every
catalogued mistake is rejected with its own name and hint (the catalogues themselves are
covered by test_exercise_catalogues.py). The prediction and the design exercise are checked
on the notebook's own sentence, which a test keeps in step with the notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from helpers.exercises.dot_products_qkv import (
    EMBEDDINGS,
    FEATURES,
    SENTENCE,
    check_cosine_similarity,
    check_describing_words,
    check_predicted_scores,
    check_score_matrix,
    check_soft_lookup,
    cosine_similarity_reference,
    describing_words_reference,
    predicted_scores_reference,
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


# ------------------------------------------------------------ the prediction


def test_a_prediction_is_passed_as_a_dict_of_rows(capsys):
    check_predicted_scores(
        {"small": [0, 1.5, 0, 0, 0, 1.5], "cat": np.array([0.0, 0.0, 3.0, 0.0, 0.0, 0.0])}
    )
    assert capsys.readouterr().out.startswith("✓ predicted_scores:")


def test_a_prediction_rounded_to_two_decimals_passes():
    check_predicted_scores({"small": [0, 1.49, 0, 0, 0, 1.51], "cat": [0, 0, 3.01, 0, 0, 0]})


def test_a_prediction_with_the_wrong_words_is_a_type_error():
    with pytest.raises(TypeError, match=r"a dict with the keys \['small', 'cat'\]"):
        check_predicted_scores({"small": [0, 1.5, 0, 0, 0, 1.5]})
    with pytest.raises(TypeError, match="a dict"):
        check_predicted_scores([[0, 1.5, 0, 0, 0, 1.5], [0, 0, 3, 0, 0, 0]])


def test_a_wrong_prediction_outside_the_catalogue_is_rejected_without_a_name():
    with pytest.raises(AssertionError) as failure:
        check_predicted_scores({"small": [1.0] * 6, "cat": [0, 0, 3, 0, 0, 0]})
    assert 'the row of "small"' in str(failure.value)
    assert "Likely mistake" not in str(failure.value)


# ------------------------------------------------------------ the design


def _design(dh=1):
    return np.zeros((len(FEATURES), dh)), np.zeros((len(FEATURES), dh))


def design_two_dimensions():
    """One query/key dimension per describing feature, the animal penalised in both."""
    W_Q, W_K = _design(2)
    W_Q[FEATURES.index("animal")] = [3.0, 3.0]
    W_K[FEATURES.index("plural"), 0] = W_K[FEATURES.index("small"), 1] = 1.0
    W_K[FEATURES.index("animal")] = [-1.0, -1.0]
    return W_Q, W_K


def design_modifier_and_number():
    """Modifiers, plural and small rewarded; animals penalised twice; a plural query."""
    W_Q, W_K = _design()
    W_Q[FEATURES.index("plural"), 0] = 3.0
    for feature, weight in [("plural", 1), ("small", 1), ("modifier", 1), ("animal", -2)]:
        W_K[FEATURES.index(feature), 0] = weight
    return W_Q, W_K


def design_strong():
    W_Q, W_K = describing_words_reference()
    return 10.0 * W_Q, W_K


@pytest.mark.parametrize(
    "design", [design_two_dimensions, design_modifier_and_number, design_strong]
)
def test_other_designs_that_work_pass(design, capsys):
    check_describing_words(design)
    check_describing_words(*design())
    assert capsys.readouterr().out.count("✓ describing_words:") == 2


def test_a_design_is_passed_as_two_matrices_lists_allowed(capsys):
    W_Q, W_K = describing_words_reference()
    check_describing_words(W_Q.tolist(), W_K)
    assert capsys.readouterr().out.startswith("✓ describing_words: ")


def test_a_design_is_judged_by_its_weights_and_the_message_shows_them():
    W_Q, W_K = describing_words_reference()
    with pytest.raises(AssertionError) as failure:
        check_describing_words(W_Q / 3.0, W_K)
    message = str(failure.value)
    assert "two and small get 58% together, below 80%" in message
    assert '"mice" attends with weights: the 0.11, cat 0.04' in message


def test_a_wrong_design_outside_the_catalogue_is_rejected_without_a_name():
    W_Q, W_K = _design()
    W_Q[FEATURES.index("animal"), 0] = 3.0
    W_K[FEATURES.index("hunter"), 0] = 1.0  # mice finds the cat (and a little of chased)
    with pytest.raises(AssertionError) as failure:
        check_describing_words(W_Q, W_K)
    assert "Likely mistake" not in str(failure.value)


def test_a_design_called_wrongly_is_a_type_error():
    with pytest.raises(TypeError, match=r"check_describing_words\(W_Q, W_K\)"):
        check_describing_words(describing_words_reference())


# ------------------------------------------------------------ the notebook's sentence


def _notebook_namespace():
    """Runs the notebook's cells that define the sentence and section 5's W_Q, W_K."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "01_dot_products_qkv.ipynb"
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    namespace = {"np": np, "print_table": lambda *args: None}
    for start in ("features = [", "W_Q = np.zeros((D, 2))"):
        (cell,) = [c for c in cells if c.source.startswith(start)]
        exec(cell.source, namespace)  # noqa: S102 - the course's own notebook
    return namespace


def test_the_checkers_use_the_notebooks_sentence_and_projections():
    namespace = _notebook_namespace()
    assert namespace["tokens"] == SENTENCE and namespace["features"] == FEATURES
    np.testing.assert_array_equal(namespace["X"], EMBEDDINGS)
    scores = namespace["Q"] @ namespace["K"].T
    for t, word in enumerate(SENTENCE):
        np.testing.assert_allclose(predicted_scores_reference(word), scores[t])
