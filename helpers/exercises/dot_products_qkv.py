"""Checkers for the exercises of `01_dot_products_qkv` (NumPy).

- ``check_score_matrix``: ``score_matrix(Q, K)``, the scores Q Kᵀ for any leading batch dims.
- ``check_cosine_similarity``: ``cosine_similarity(X, Y)``, the (T, S) matrix of cosines.
- ``check_soft_lookup``: ``soft_lookup(query, keys, values)``, a softmax-weighted average
  of the values.
- ``check_predicted_scores``: a *prediction*, two rows of the projected scores Q Kᵀ of the
  notebook's sentence, written down before the notebook shows them.
- ``check_describing_words``: a *design*, hand-made W_Q and W_K that make *mice* attend to
  the words that describe it; checked by the attention weights they produce.

Each checker's ``mistakes`` attribute is its catalogue of common wrong answers, in the order
they are tried: the first one that reproduces a wrong result (for the design, the first one
whose effect it recognises) is the one that is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers.exercises.checking import Case, Checker, Mistake

__all__ = [
    "check_cosine_similarity",
    "check_describing_words",
    "check_predicted_scores",
    "check_score_matrix",
    "check_soft_lookup",
]


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
    forbidden=dict.fromkeys(
        [
            "torch.nn.functional.cosine_similarity",
        ],
        "divide the dot products by the lengths of both vectors, in NumPy (X @ Y.T, np.linalg.norm).",
    ),
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
    forbidden={
        "helpers.attention.scaled_dot_product_attention": "turn the scores into weights with np.exp and a sum, then blend the values, in NumPy.",
        "torch.nn.functional.scaled_dot_product_attention": "turn the scores into weights with np.exp and a sum, then blend the values, in NumPy.",
        "helpers.attention.softmax": "turn the scores into weights with np.exp and a sum, in NumPy.",
        "torch.softmax": "turn the scores into weights with np.exp and a sum, in NumPy.",
        "torch.nn.functional.softmax": "turn the scores into weights with np.exp and a sum, in NumPy.",
        "torch.Tensor.softmax": "turn the scores into weights with np.exp and a sum, in NumPy.",
    },
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


# ------------------------------------------------ the notebook's sentence and projections

SENTENCE = ["the", "cat", "chased", "two", "small", "mice"]
FEATURES = ["animal", "hunter", "action", "plural", "small", "modifier"]
EMBEDDINGS = np.array(  # X: (T, D), the embeddings of SENTENCE, one row per word
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.5, 1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.5],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.5],
        [1.0, 0.0, 0.0, 1.0, 0.5, 0.0],
    ]
)
_F = {feature: i for i, feature in enumerate(FEATURES)}
_W = {word: t for t, word in enumerate(SENTENCE)}


def _notebook_projections() -> tuple[np.ndarray, np.ndarray]:
    """The W_Q and W_K (D, 2) of section 5: modifiers and actions look for animals, animals
    for actions."""
    W_Q, W_K = np.zeros((6, 2)), np.zeros((6, 2))
    W_Q[_F["modifier"], 0] = W_Q[_F["action"], 0] = W_Q[_F["animal"], 1] = 3.0
    W_K[_F["animal"], 0] = W_K[_F["action"], 1] = 1.0
    return W_Q, W_K


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------- predicted_scores: two rows of Q Kᵀ, before they are shown


def _projected_row(X: np.ndarray, word: str, *, column: bool = False) -> np.ndarray:
    W_Q, W_K = _notebook_projections()
    scores = (X @ W_Q) @ (X @ W_K).T  # (T, T)
    return scores[:, _W[word]] if column else scores[_W[word]]


def predicted_scores_reference(word: str) -> np.ndarray:
    """The row of ``word`` in the notebook's projected scores Q Kᵀ: (S,) = (6,)."""
    return _projected_row(EMBEDDINGS, word)


def _raw_dot_products(word):
    return EMBEDDINGS @ EMBEDDINGS[_W[word]]


def _column_not_row(word):
    return _projected_row(EMBEDDINGS, word, column=True)


def _halves_counted_as_ones(word):
    return _projected_row((EMBEDDINGS > 0).astype(float), word)


def _weights_not_scores(word):
    return _softmax(predicted_scores_reference(word))


class _PredictionChecker(Checker):
    """Checks predicted rows: pass ``{word: [S numbers]}`` (or a function of the word)."""

    def __call__(self, prediction) -> None:
        if callable(prediction):
            super().__call__(prediction)
            return
        words = [case.args[0] for case in self.cases]
        if not isinstance(prediction, dict) or sorted(prediction) != sorted(words):
            raise TypeError(
                f"write your prediction as a dict with the keys {words}, each a list of "
                f"{len(SENTENCE)} scores in sentence order; got {prediction!r}"
            )
        super().__call__(lambda word: np.asarray(prediction[word], dtype=float))


check_predicted_scores = _PredictionChecker(
    exercise="predicted_scores",
    library="numpy",
    reference=predicted_scores_reference,
    cases=[
        Case('the row of "small" (its query against the six keys)', ("small",)),
        Case('the row of "cat" (its query against the six keys)', ("cat",)),
    ],
    mistakes=[
        Mistake(
            "the raw dot products x_t · x_s (the projections left out)",
            "These scores compare queries with keys: q_t = x_t W_Q and k_s = x_s W_K. Work out "
            "the query first (which features of the word does W_Q pick up, times 3?), then its "
            "dot product with each key.",
            _raw_dot_products,
        ),
        Mistake(
            "the column instead of the row (how much each word looks at it)",
            "Row t of Q Kᵀ is what word t looks at: its query against every key. In M, read the "
            "rows of the word's own features and the columns of the other words' features.",
            _column_not_row,
        ),
        Mistake(
            "features of 0.5 counted as 1",
            "The embeddings are not all 0 or 1: 'small' has modifier 0.5, so its query is "
            "0.5 × 3 = 1.5, not 3.",
            _halves_counted_as_ones,
        ),
        Mistake(
            "the softmax weights instead of the scores",
            "Predict the scores q_t · k_s themselves, before any softmax: they need not be "
            "between 0 and 1 nor add up to 1.",
            _weights_not_scores,
        ),
    ],
    atol=0.02,
    rtol=0.0,
)


# --------------------------- describing_words: design W_Q, W_K so "mice" finds "two small"

DESCRIBED, DESCRIBERS = "mice", ("two", "small")
TOGETHER, EACH = 0.8, 0.25  # the share of the described word's attention the design must reach


def _weights_of(word: str, W_Q: np.ndarray, W_K: np.ndarray) -> np.ndarray:
    """(S,) attention weights of ``word`` over the sentence with the given projections."""
    X = EMBEDDINGS
    return _softmax((X[_W[word]] @ W_Q) @ (X @ W_K).T)


def _shape_problem(W_Q: np.ndarray, W_K: np.ndarray) -> str | None:
    D = len(FEATURES)
    if W_Q.ndim == 2 and W_Q.shape[0] == D and W_K.shape == W_Q.shape:
        return None
    return (
        f"W_Q and W_K must both be (D, Dh) = ({D}, Dh), one row per feature; "
        f"got W_Q {W_Q.shape} and W_K {W_K.shape}"
    )


def _weights_text(weights: np.ndarray) -> str:
    pairs = ", ".join(f"{word} {w:.2f}" for word, w in zip(SENTENCE, weights, strict=True))
    return f'"{DESCRIBED}" attends with weights: {pairs}'


def _together_problem(W_Q, W_K) -> str | None:
    weights = _weights_of(DESCRIBED, W_Q, W_K)
    share = sum(weights[_W[word]] for word in DESCRIBERS)
    if share >= TOGETHER:
        return None
    return f"two and small get {share:.0%} together, below {TOGETHER:.0%}. {_weights_text(weights)}"


def _each_problem(W_Q, W_K) -> str | None:
    weights = _weights_of(DESCRIBED, W_Q, W_K)
    low = [
        f"{word} gets {weights[_W[word]]:.0%}" for word in DESCRIBERS if weights[_W[word]] < EACH
    ]
    if not low:
        return None
    return f"{' and '.join(low)}, below {EACH:.0%}. {_weights_text(weights)}"


_CRITERIA = {
    "the shapes: W_Q and W_K both (D, Dh)": _shape_problem,
    f'"{DESCRIBED}" puts at least {TOGETHER:.0%} of its attention on two and small together': (
        _together_problem
    ),
    f"each of two and small gets at least {EACH:.0%} of it": _each_problem,
}


def _passes(W_Q, W_K) -> bool:
    return all(problem(W_Q, W_K) is None for problem in _CRITERIA.values())


def describing_words_reference() -> tuple[np.ndarray, np.ndarray]:
    """One design that works: animals look for words that are plural or small but no animal."""
    W_Q, W_K = np.zeros((6, 1)), np.zeros((6, 1))
    W_Q[_F["animal"], 0] = 3.0
    W_K[_F["plural"], 0] = W_K[_F["small"], 0] = 1.0
    W_K[_F["animal"], 0] = -1.0
    return W_Q, W_K


def _transposed_shapes():
    W_Q, W_K = describing_words_reference()
    return W_Q.T, W_K.T


def _swapped():
    W_Q, W_K = describing_words_reference()
    return W_K, W_Q


def _finds_itself():
    W_Q, W_K = np.zeros((6, 1)), np.zeros((6, 1))
    W_Q[_F["animal"], 0] = 3.0
    W_K[_F["plural"], 0] = W_K[_F["small"], 0] = 1.0
    return W_Q, W_K


def _finds_the():
    W_Q, W_K = np.zeros((6, 1)), np.zeros((6, 1))
    W_Q[_F["animal"], 0] = 3.0
    W_K[_F["modifier"], 0] = 1.0
    return W_Q, W_K


def _finds_only_small():
    W_Q, W_K = np.zeros((6, 1)), np.zeros((6, 1))
    W_Q[_F["animal"], 0] = 3.0
    W_K[_F["small"], 0] = 1.0
    W_K[_F["animal"], 0] = -1.0
    return W_Q, W_K


def _too_weak():
    W_Q, W_K = describing_words_reference()
    return W_Q / 3.0, W_K


def _zero_query():
    W_Q, W_K = np.zeros((6, 1)), np.zeros((6, 1))
    W_Q[_F["modifier"], 0] = 3.0
    W_K[_F["plural"], 0] = W_K[_F["small"], 0] = 1.0
    return W_Q, W_K


def _all_equal(W_Q, W_K) -> bool:
    weights = _weights_of(DESCRIBED, W_Q, W_K)
    return bool(np.allclose(weights, weights[0]))


def _winners(W_Q, W_K, n: int) -> set[str]:
    """The n words with the largest weights, if they beat every other word; else empty."""
    weights = _weights_of(DESCRIBED, W_Q, W_K)
    order = np.argsort(weights)
    if n < len(order) and weights[order[-n]] <= weights[order[-n - 1]] + 1e-9:
        return set()
    return {SENTENCE[t] for t in order[-n:]}


def _one_describer_only(W_Q, W_K) -> bool:
    weights = _weights_of(DESCRIBED, W_Q, W_K)
    shares = [weights[_W[word]] for word in DESCRIBERS]
    return min(shares) < EACH and bool(_winners(W_Q, W_K, 1) & set(DESCRIBERS))


@dataclass(frozen=True)
class DesignMistake(Mistake):
    """A wrong design and a test that recognises its effect: ``recognise(W_Q, W_K) -> bool``."""

    recognise: Callable[[np.ndarray, np.ndarray], bool]


class _DesignChecker(Checker):
    """Checks a design by its effect: pass ``(W_Q, W_K)``, or a function returning them.

    Each case is one criterion on the attention weights the design produces; a failing design
    is matched against the catalogue by what it does, not by its numbers.
    """

    def __call__(self, *design) -> None:
        if len(design) == 1 and callable(design[0]):
            super().__call__(design[0])
        elif len(design) == 2:
            super().__call__(lambda: design)
        else:
            raise TypeError("pass your two matrices: check_describing_words(W_Q, W_K)")

    def _check_case(self, fn: Callable, case: Case) -> None:
        W_Q, W_K = (np.asarray(m, dtype=float) for m in fn())
        problem = _CRITERIA[case.description](W_Q, W_K)
        if problem is None:
            return
        mistake = next((m for m in self.mistakes if _recognises(m, W_Q, W_K)), None)
        raise self._fail(case, problem, mistake)


def _recognises(mistake: DesignMistake, W_Q: np.ndarray, W_K: np.ndarray) -> bool:
    try:
        return bool(mistake.recognise(W_Q, W_K))
    except ValueError:  # a design of the wrong shape cannot be multiplied out
        return False


check_describing_words = _DesignChecker(
    exercise="describing_words",
    library="numpy",
    reference=describing_words_reference,
    cases=[Case(description) for description in _CRITERIA],
    mistakes=[
        DesignMistake(
            "W_Q and W_K built as (Dh, D) instead of (D, Dh)",
            "Q = X W_Q multiplies each embedding (a row of D = 6 features) by W_Q, so W_Q has "
            "one row per feature: np.zeros((D, Dh)). The same holds for W_K.",
            _transposed_shapes,
            lambda W_Q, W_K: W_Q.ndim == 2 and W_Q.shape[1] == len(FEATURES) != W_Q.shape[0],
        ),
        DesignMistake(
            "W_Q and W_K swapped: two and small look at mice, not mice at them",
            "W_Q turns the word that asks (mice) into its query, so it must pick up a feature "
            "mice has; W_K turns the words to be found (two and small) into keys. Swapping them "
            "transposes the score matrix: (X W_K)(X W_Q)ᵀ = ((X W_Q)(X W_K)ᵀ)ᵀ.",
            _swapped,
            lambda W_Q, W_K: _passes(W_K, W_Q),
        ),
        DesignMistake(
            "every word gets the same weight: mice's query (or every key) is zero",
            "x W_Q adds up the rows of W_Q of the features x has, so mice's query is zero "
            "unless W_Q has a non-zero row for a feature of mice (animal, plural or small). "
            "W_K likewise needs rows for features of two and small.",
            _zero_query,
            _all_equal,
        ),
        DesignMistake(
            "mice finds itself: its own key matches its query best",
            "mice is plural and small too, so a key that rewards plural and small finds mice "
            "before two and small. Give the key a feature that mice has and they lack, with a "
            "negative weight.",
            _finds_itself,
            lambda W_Q, W_K: _winners(W_Q, W_K, 1) == {DESCRIBED},
        ),
        DesignMistake(
            'the key rewards "modifier", and "the" has the most of it',
            '"the" is a modifier at full strength (1.0), two and small only at 0.5, and "the" '
            "describes the cat, not the mice. Build the key from features two and small have "
            'and "the" lacks.',
            _finds_the,
            lambda W_Q, W_K: _winners(W_Q, W_K, 1) == {"the"},
        ),
        DesignMistake(
            "only one of two and small is found",
            "two and small share no feature except a half 'modifier': two is plural, small is "
            "small. The key must reward both features, so that both words score high.",
            _finds_only_small,
            _one_describer_only,
        ),
        DesignMistake(
            "the right words win, but the scores are too small to be decisive",
            "two and small have the largest weights, yet the softmax of small scores is nearly "
            "uniform. Multiply W_Q (or W_K) by 2 or 3: the order stays, the weights sharpen "
            "(as the hamster's query × 4 did in section 4).",
            _too_weak,
            lambda W_Q, W_K: _winners(W_Q, W_K, 2) == set(DESCRIBERS),
        ),
    ],
)
