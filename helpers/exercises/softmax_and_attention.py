"""Checkers for the exercises of `02_softmax_and_attention` (PyTorch).

- ``check_stable_softmax(stable_softmax)``: ``stable_softmax(x, dim=-1)``
- ``check_causal_mask(causal_mask)``: ``causal_mask(T)`` -> (T, T) bool, True where j <= i
- ``check_predicted_weights(predicted_weights)``: ``predicted_weights()`` -> the (4, 4)
  weights of a masked example, predicted by hand (scores ln(j + 1), causal mask, key 3
  padding); compared within 0.01, so 0.33 for 1/3 is fine
- ``check_scaled_dot_product_attention(attention)``: ``attention(q, k, v, mask=None)``
  -> ``(output, weights)``

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_softmax_and_attention.py`` proves it.
"""

from __future__ import annotations

import math

import torch

from helpers.attention import causal_mask, padding_mask, softmax
from helpers.exercises.checking import Case, Checker, Mistake

__all__ = [
    "check_causal_mask",
    "check_predicted_weights",
    "check_scaled_dot_product_attention",
    "check_stable_softmax",
]


# --- stable_softmax(x, dim=-1) ---------------------------------------------------------------


def _stable_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def _softmax_no_max(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def _softmax_global_max(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)


def _softmax_min(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x - x.amin(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def _softmax_whole_tensor(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x - x.max())
    return e / e.sum()


def _softmax_no_keepdim(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim)


def _softmax_dim0(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return _stable_softmax(x, dim=0)


def _softmax_ignores_dim(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return _stable_softmax(x, dim=-1)


def _softmax_dim1(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return _stable_softmax(x, dim=1)


check_stable_softmax = Checker(
    exercise="stable_softmax",
    library="torch",
    reference=_stable_softmax,
    forbidden=dict.fromkeys(
        [
            "helpers.attention.softmax",
            "torch.softmax",
            "torch.special.softmax",
            "torch.nn.functional.softmax",
            "torch.Tensor.softmax",
            "torch.log_softmax",
            "torch.nn.functional.log_softmax",
            "torch.Tensor.log_softmax",
        ],
        "subtract the maximum of each slice along dim, exponentiate, and divide by the sum (torch.exp, amax, sum).",
    ),
    cases=[
        Case(
            "a (2, 4) tensor of small scores",
            (torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0]]),),
        ),
        Case(
            "large scores, [[1000, 999, 998], [1001, 1000, 990]]",
            (torch.tensor([[1000.0, 999.0, 998.0], [1001.0, 1000.0, 990.0]]),),
        ),
        Case(
            "rows with very different ranges, [[1000, 999, 998], [0, -1, -2]]",
            (torch.tensor([[1000.0, 999.0, 998.0], [0.0, -1.0, -2.0]]),),
        ),
        Case(
            "one row spanning a wide range, [[60, -40, 0, 10]]",
            (torch.tensor([[60.0, -40.0, 0.0, 10.0]]),),
        ),
        Case(
            "a (2, 3, 4) batch, dim=-1",
            (torch.linspace(-3.0, 3.0, 24).reshape(2, 3, 4) ** 2,),
        ),
        Case(
            "a (3, 2) tensor with dim=0 (normalise each column)",
            (torch.tensor([[1.0, -2.0], [3.0, 0.0], [-1.0, 2.5]]),),
            {"dim": 0},
        ),
    ],
    mistakes=[
        Mistake(
            "no max-subtraction: exp overflows to inf on large scores and inf / inf = nan",
            "Subtract each row's maximum before exp: x - x.amax(dim=dim, keepdim=True). "
            "softmax(x - m) = softmax(x), and now every exponent is <= 0.",
            _softmax_no_max,
        ),
        Mistake(
            "subtracted the global maximum x.max() instead of the maximum of each row",
            "A row far below the global maximum underflows to exp(-1000) = 0 everywhere, so "
            "it becomes 0 / 0 = nan. Use x.amax(dim=dim, keepdim=True).",
            _softmax_global_max,
        ),
        Mistake(
            "subtracted the minimum instead of the maximum",
            "x - min is >= 0, so exp still overflows when a row spans a wide range. Subtract "
            "the maximum: then every exponent is <= 0 and the largest term is exactly 1.",
            _softmax_min,
        ),
        Mistake(
            "summed over the whole tensor instead of along dim",
            "Each row (each slice along dim) must sum to 1 on its own: "
            "e.sum(dim=dim, keepdim=True), not e.sum().",
            _softmax_whole_tensor,
        ),
        Mistake(
            "forgot keepdim=True in the sum, so it does not broadcast back against exp(x)",
            "e.sum(dim=dim) drops the axis; e.sum(dim=dim, keepdim=True) keeps it as size 1 so "
            "that e / total divides each row by its own total.",
            _softmax_no_keepdim,
        ),
        Mistake(
            "normalised over the first axis (dim=0) instead of dim",
            "Pass dim through to amax and sum: the weights along dim must sum to 1.",
            _softmax_dim0,
        ),
        Mistake(
            "ignored the dim argument and always normalised over the last axis",
            "Use the dim you are given in both x.amax(dim=dim, ...) and e.sum(dim=dim, ...).",
            _softmax_ignores_dim,
        ),
        Mistake(
            "normalised over axis 1, which is the last axis only for 2-D input",
            "Use dim (default -1, the last axis) rather than a fixed axis, so that batches "
            "with extra leading dimensions work too.",
            _softmax_dim1,
        ),
    ],
)


# --- causal_mask(T) --------------------------------------------------------------------------


def _causal_mask(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).tril()


def _causal_upper(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).triu()


def _causal_blocked(T: int) -> torch.Tensor:
    return ~torch.ones(T, T, dtype=torch.bool).tril()


def _causal_strict(T: int) -> torch.Tensor:
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)


def _causal_float(T: int) -> torch.Tensor:
    return torch.ones(T, T).tril()


def _causal_additive(T: int) -> torch.Tensor:
    return torch.full((T, T), float("-inf")).triu(diagonal=1)


check_causal_mask = Checker(
    exercise="causal_mask",
    library="torch",
    reference=_causal_mask,
    forbidden=dict.fromkeys(
        [
            "helpers.attention.causal_mask",
            "torch.nn.Transformer.generate_square_subsequent_mask",
        ],
        "compare every query position i with every key position j (broadcasting, or torch.tril) and return booleans.",
    ),
    cases=[Case("T = 5", (5,)), Case("T = 1", (1,)), Case("T = 8", (8,))],
    mistakes=[
        Mistake(
            "upper triangle: True where j >= i, so each token sees the future",
            "Query i (row) may attend to key j (column) when j <= i: the lower triangle, "
            "torch.tril, including the diagonal.",
            _causal_upper,
        ),
        Mistake(
            "inverted mask: True marks the blocked (future) positions",
            "This course follows torch.nn.functional.scaled_dot_product_attention: True = may "
            "attend. (nn.Transformer's boolean masks use the opposite meaning.)",
            _causal_blocked,
        ),
        Mistake(
            "strict lower triangle: a token cannot attend to itself",
            "Keep the diagonal: position i may attend to j <= i, j = i included "
            "(torch.tril with the default diagonal=0).",
            _causal_strict,
        ),
        Mistake(
            "a 0/1 numeric mask instead of a boolean one",
            "Return dtype torch.bool (e.g. torch.ones(T, T, dtype=torch.bool).tril()); "
            "masked_fill and scaled_dot_product_attention expect True/False.",
            _causal_float,
        ),
        Mistake(
            "an additive float mask (0 and -inf) instead of a boolean one",
            "An additive mask is another convention; here return the boolean mask, "
            "True where j <= i. The -inf is put in later by masked_fill.",
            _causal_additive,
        ),
    ],
)


# --- predicted_weights() -> (4, 4): a prediction made by hand --------------------------------
# "I like tea <pad>": every query gives key j the score ln(j + 1), so exp(score) = j + 1; the
# mask is causal & padding (length 3 of T = 4). The notebook prints these scores and this mask.

_PREDICTION_SCORES = torch.log(torch.arange(1.0, 5.0)).expand(4, 4)  # (T, S): s_ij = ln(j + 1)
_CAUSAL = causal_mask(4)
_REAL_KEYS = padding_mask(torch.tensor([3]), 4)[0]  # (1, S): keys 0..2 are real


def _weights_under(mask: torch.Tensor) -> torch.Tensor:
    """softmax of the example's scores under ``mask``; a row with no key gets zeros."""
    return softmax(_PREDICTION_SCORES.masked_fill(~mask, float("-inf")), dim=-1)


def _predicted_weights() -> torch.Tensor:
    return _weights_under(_CAUSAL & _REAL_KEYS)


def _prediction_no_padding() -> torch.Tensor:
    return _weights_under(_CAUSAL.clone())


def _prediction_no_causal() -> torch.Tensor:
    return _weights_under(_REAL_KEYS.expand(4, 4))


def _prediction_pad_query_silenced() -> torch.Tensor:
    weights = _predicted_weights()
    weights[3] = 0.0
    return weights


def _prediction_masked_after_softmax() -> torch.Tensor:
    return softmax(_PREDICTION_SCORES, dim=-1) * (_CAUSAL & _REAL_KEYS)


def _prediction_equal_weights() -> torch.Tensor:
    mask = (_CAUSAL & _REAL_KEYS).float()
    return mask / mask.sum(dim=-1, keepdim=True)


def _prediction_transposed_mask() -> torch.Tensor:
    return _weights_under(_CAUSAL.T & _REAL_KEYS)


check_predicted_weights = Checker(
    exercise="predicted_weights",
    library="torch",
    reference=_predicted_weights,
    cases=[Case("the (4, 4) example: scores ln(j + 1), causal mask, key 3 padding")],
    mistakes=[
        Mistake(
            "forgot the padding mask: the <pad> query's row gives weight to the <pad> key",
            "Key 3 is <pad>: no query may attend to it, so column 3 is 0 in every row, the "
            "<pad> query's row included.",
            _prediction_no_padding,
        ),
        Mistake(
            "forgot the causal mask: every query sees all three real keys",
            "Query i sees only keys j <= i: row 0 has one visible key, row 1 two, rows 2 "
            "and 3 three.",
            _prediction_no_causal,
        ),
        Mistake(
            "gave the <pad> query zero weights",
            "The padding mask blocks <pad> *keys*, not queries: query 3 still sees keys "
            "0, 1 and 2 (and its output is simply never used).",
            _prediction_pad_query_silenced,
        ),
        Mistake(
            "took the softmax over all four keys, then zeroed the blocked ones",
            "Blocked scores become -inf before the softmax, so each row is renormalised over "
            "its visible keys only: every row sums to 1.",
            _prediction_masked_after_softmax,
        ),
        Mistake(
            "equal weights on the visible keys: the scores were left out",
            "exp(score) = j + 1, so among the visible keys, key j gets weight proportional "
            "to j + 1: divide each by the sum over the visible keys.",
            _prediction_equal_weights,
        ),
        Mistake(
            "read the mask transposed: query i sees keys j >= i",
            "Row i is the query, column j the key, and causal means j <= i: the lower triangle.",
            _prediction_transposed_mask,
        ),
    ],
    atol=0.01,
    rtol=0.0,
)


# --- attention(q, k, v, mask=None) -> (output, weights) ------------------------------------


def _attention_variant(
    *,
    scores=lambda q, k: q @ k.transpose(-2, -1),
    scale=lambda d_k: 1 / math.sqrt(d_k),
    blocked=lambda mask: ~mask,
    fill: float = float("-inf"),
    softmax_dim: int = -1,
):
    """Attention built from parts; the defaults give the correct function, and each mistake
    below swaps exactly one part for its wrong version."""

    def attention(q, k, v, mask=None):
        s = scores(q, k) * scale(q.shape[-1])
        if mask is not None:
            s = s.masked_fill(blocked(mask), fill)
        weights = torch.softmax(s, dim=softmax_dim)
        return weights @ v, weights

    return attention


_attention = _attention_variant()
_attention_no_scale = _attention_variant(scale=lambda d_k: 1.0)
_attention_scale_dk = _attention_variant(scale=lambda d_k: 1 / d_k)
_attention_softmax_queries = _attention_variant(softmax_dim=-2)
_attention_2d_transpose = _attention_variant(scores=lambda q, k: q @ k.transpose(0, 1))
_attention_k_qt = _attention_variant(scores=lambda q, k: k @ q.transpose(-2, -1))
_attention_mask_zero = _attention_variant(fill=0.0)
_attention_mask_inverted = _attention_variant(blocked=lambda mask: mask)


def _attention_ignores_mask(q, k, v, mask=None):
    return _attention(q, k, v)


def _attention_mask_after_softmax(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ v, weights


def _qkv(*shapes: tuple[int, ...], seed: int) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=generator) for shape in shapes)


def _key_padding(lengths: list[int], S: int) -> torch.Tensor:
    """(B, 1, S): True for the first ``lengths[b]`` keys of sequence b."""
    return padding_mask(torch.tensor(lengths), S)


check_scaled_dot_product_attention = Checker(
    exercise="attention",
    library="torch",
    reference=_attention,
    forbidden=dict.fromkeys(
        [
            "helpers.attention.scaled_dot_product_attention",
            "torch.nn.functional.scaled_dot_product_attention",
        ],
        "scores q kᵀ / √d_k, -inf where the mask is False, softmax over the keys, then the weighted sum of v.",
    ),
    cases=[
        Case("2-D q, k, v with T = S = 4, Dh = 8, no mask", _qkv((4, 8), (4, 8), (4, 3), seed=1)),
        Case(
            "2-D q (T=3, Dh=8), k (S=5, Dh=8), v (S=5, Dv=2), no mask",
            _qkv((3, 8), (5, 8), (5, 2), seed=2),
        ),
        Case(
            "a batch: q (2, 3, 4), k (2, 5, 4), v (2, 5, 6), no mask",
            _qkv((2, 3, 4), (2, 5, 4), (2, 5, 6), seed=3),
        ),
        Case(
            "a batch with a key padding mask: q (2, 4, 8), k and v (2, 5, 8), "
            "mask (2, 1, 5) for lengths [3, 4]",
            _qkv((2, 4, 8), (2, 5, 8), (2, 5, 8), seed=4),
            {"mask": _key_padding([3, 4], 5)},
        ),
        Case(
            "heads: q, k, v (2, 3, 4, 8) with a (4, 4) causal mask",
            _qkv((2, 3, 4, 8), (2, 3, 4, 8), (2, 3, 4, 8), seed=5),
            {"mask": torch.ones(4, 4, dtype=torch.bool).tril()},
        ),
        Case(
            "causal and padding masks combined: q, k, v (2, 5, 4), mask (2, 5, 5)",
            _qkv((2, 5, 4), (2, 5, 4), (2, 5, 4), seed=6),
            {"mask": torch.ones(5, 5, dtype=torch.bool).tril() & _key_padding([5, 2], 5)},
        ),
    ],
    mistakes=[
        Mistake(
            "no scaling: forgot to divide the scores by √d_k",
            "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k), with d_k = q.shape[-1]. "
            "Without it the scores grow with d_k and the softmax saturates.",
            _attention_no_scale,
        ),
        Mistake(
            "divided the scores by d_k instead of √d_k",
            "The variance of q·k is d_k, so its standard deviation is √d_k: divide by "
            "math.sqrt(d_k) (or multiply by d_k ** -0.5).",
            _attention_scale_dk,
        ),
        Mistake(
            "softmax over the queries (dim=-2) instead of over the keys (dim=-1)",
            "Each query's weights over the S keys must sum to 1: softmax(scores, dim=-1) on "
            "scores of shape (..., T, S).",
            _attention_softmax_queries,
        ),
        Mistake(
            "a transpose that only works for 2-D tensors (k.T or k.transpose(0, 1))",
            "Swap only the last two axes, so leading batch and head dimensions stay put: "
            "k.transpose(-2, -1) (or k.mT).",
            _attention_2d_transpose,
        ),
        Mistake(
            "computed K Qᵀ instead of Q Kᵀ (it only runs when T = S)",
            "The scores are (..., T, S): one row per query, one column per key, so "
            "q @ k.transpose(-2, -1).",
            _attention_k_qt,
        ),
        Mistake(
            "ignored the mask",
            "Before the softmax, set the scores of blocked keys to -inf: "
            "scores.masked_fill(~mask, float('-inf')).",
            _attention_ignores_mask,
        ),
        Mistake(
            "masked with 0 instead of -inf",
            "A score of 0 still gets weight exp(0) = 1 in the softmax. Use float('-inf'), "
            "whose exp is exactly 0.",
            _attention_mask_zero,
        ),
        Mistake(
            "masked after the softmax (multiplied the weights by the mask), so rows no longer "
            "sum to 1",
            "Mask the scores before the softmax, with -inf; the softmax then renormalises "
            "over the keys that remain.",
            _attention_mask_after_softmax,
        ),
        Mistake(
            "inverted mask: treated True as blocked",
            "True = may attend (PyTorch's scaled_dot_product_attention convention), so fill "
            "where the mask is False: scores.masked_fill(~mask, float('-inf')).",
            _attention_mask_inverted,
        ),
    ],
)
