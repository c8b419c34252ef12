"""The checkers of `02_softmax_and_attention`: references pass, correct variants pass, and
every catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from helpers.attention import causal_mask, padding_mask, softmax
from helpers.exercises.checking import ForbiddenCall
from helpers.exercises.softmax_and_attention import (
    check_causal_mask,
    check_predicted_weights,
    check_scaled_dot_product_attention,
    check_stable_softmax,
)

CHECKERS = {
    "stable_softmax": check_stable_softmax,
    "causal_mask": check_causal_mask,
    "attention": check_scaled_dot_product_attention,
    "predicted_weights": check_predicted_weights,
}


def test_a_wrong_answer_outside_the_catalogue_is_still_rejected():
    def off_by_a_bit(x, dim=-1):
        e = (x - x.amax(dim=dim, keepdim=True)).exp()
        return e / e.sum(dim=dim, keepdim=True) * 1.1

    with pytest.raises(AssertionError) as failure:
        check_stable_softmax(off_by_a_bit)
    assert "Likely mistake" not in str(failure.value)
    assert "largest difference" in str(failure.value)


# ------------------------------------------------------------ stable_softmax alternatives


def softmax_logsumexp(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))


def softmax_max_values(x, dim=-1):
    m = x.max(dim=dim, keepdim=True).values
    e = (x - m).exp()
    return e / e.sum(dim=dim, keepdim=True)


def softmax_moved_axis(x, dim=-1):
    """Move dim to the end, loop over the rows, move it back."""
    rows = x.movedim(dim, -1).reshape(-1, x.shape[dim])
    out = torch.stack([torch.exp(r - r.max()) / torch.exp(r - r.max()).sum() for r in rows])
    return out.reshape(x.movedim(dim, -1).shape).movedim(-1, dim)


@pytest.mark.parametrize("fn", [softmax_logsumexp, softmax_max_values, softmax_moved_axis])
def test_correct_softmax_alternatives_pass(fn, capsys):
    check_stable_softmax(fn)
    assert capsys.readouterr().out.startswith("✓ stable_softmax")


# ------------------------------------------------------------ causal_mask alternatives


def causal_arange(T):
    i = torch.arange(T)
    return i[None, :] <= i[:, None]


def causal_loops(T):
    mask = torch.zeros(T, T, dtype=torch.bool)
    for i in range(T):
        for j in range(i + 1):
            mask[i, j] = True
    return mask


def causal_not_triu(T):
    return ~torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)


@pytest.mark.parametrize("fn", [causal_arange, causal_loops, causal_not_triu])
def test_correct_causal_mask_alternatives_pass(fn, capsys):
    check_causal_mask(fn)
    assert capsys.readouterr().out.startswith("✓ causal_mask")


def test_an_int_mask_is_named_as_a_numeric_mask():
    with pytest.raises(AssertionError, match="a 0/1 numeric mask instead of a boolean one"):
        check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.int64).tril())


# ------------------------------------------------------------ attention alternatives


def attention_einsum_where(q, k, v, mask=None):
    scores = torch.einsum("...td,...sd->...ts", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(float("-inf")))
    weights = scores.softmax(dim=-1)
    return torch.einsum("...ts,...sv->...tv", weights, v), weights


def attention_scale_q_mT(q, k, v, mask=None):
    scores = (q * q.shape[-1] ** -0.5) @ k.mT
    if mask is not None:
        scores = scores + torch.zeros_like(scores).masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def attention_renormalised_after_softmax(q, k, v, mask=None):
    """Zeroing the weights after the softmax is correct too, if the rows are renormalised."""
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        weights = weights * mask
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights @ v, weights


@pytest.mark.parametrize(
    "fn", [attention_einsum_where, attention_scale_q_mT, attention_renormalised_after_softmax]
)
def test_correct_attention_alternatives_pass(fn, capsys):
    check_scaled_dot_product_attention(fn)
    assert capsys.readouterr().out.startswith("✓ attention")


def test_handing_in_the_course_helper_is_refused():
    from helpers.attention import scaled_dot_product_attention

    with pytest.raises(ForbiddenCall, match="the course's reference implementation"):
        check_scaled_dot_product_attention(scaled_dot_product_attention)


def test_calling_torch_softmax_is_refused():
    def delegating(x, dim=-1):
        return torch.softmax(x, dim=dim)

    with pytest.raises(ForbiddenCall, match="torch.softmax, PyTorch's own implementation"):
        check_stable_softmax(delegating)


def test_k_dot_T_is_named_as_a_2d_only_transpose():
    def with_k_T(q, k, v, mask=None):
        weights = torch.softmax(q @ k.T / math.sqrt(q.shape[-1]), dim=-1)
        return weights @ v, weights

    # k.T on a 3-D tensor is deprecated (a UserWarning now, an error in some future release);
    # either way the product fails and the checker names the transpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(AssertionError, match="only works for 2-D"):
            check_scaled_dot_product_attention(with_k_T)


# ------------------------------------------------------------ predicted_weights


def test_prediction_reference_is_what_the_notebook_computes():
    """The notebook's example: scores ln(j + 1), causal mask, "I like tea <pad>"."""
    scores = torch.log(torch.arange(1.0, 5.0)).expand(4, 4)
    mask = causal_mask(4) & padding_mask(torch.tensor([3]), 4)[0]
    measured = softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    torch.testing.assert_close(check_predicted_weights.reference(), measured)
    by_hand = torch.tensor([[6, 0, 0, 0], [2, 4, 0, 0], [1, 2, 3, 0], [1, 2, 3, 0]]) / 6
    torch.testing.assert_close(measured, by_hand)


@pytest.mark.parametrize(
    "prediction",
    [
        [[1, 0, 0, 0], [1 / 3, 2 / 3, 0, 0], [1 / 6, 1 / 3, 1 / 2, 0], [1 / 6, 1 / 3, 1 / 2, 0]],
        [[1, 0, 0, 0], [0.33, 0.67, 0, 0], [0.17, 0.33, 0.5, 0], [0.17, 0.33, 0.5, 0]],
        [[1.0, 0, 0, 0], [0.333, 0.667, 0, 0], [0.167, 0.333, 0.5, 0], [0.167, 0.333, 0.5, 0]],
    ],
    ids=["fractions", "two decimals", "three decimals"],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hand_written_predictions_pass(prediction, dtype, capsys):
    check_predicted_weights(lambda: torch.tensor(prediction, dtype=dtype))
    assert capsys.readouterr().out.startswith("✓ predicted_weights")


def test_a_prediction_one_decimal_off_is_rejected():
    wrong = [[1, 0, 0, 0], [0.3, 0.7, 0, 0], [0.2, 0.3, 0.5, 0], [0.2, 0.3, 0.5, 0]]
    with pytest.raises(AssertionError, match="largest difference"):
        check_predicted_weights(lambda: torch.tensor(wrong))


def test_a_prediction_as_a_list_asks_for_a_tensor():
    right = check_predicted_weights.reference().tolist()
    with pytest.raises(AssertionError, match="return a torch.Tensor"):
        check_predicted_weights(lambda: right)


# ------------------------------------------------------------ NumPy instead of PyTorch


@pytest.mark.parametrize("name", CHECKERS)
def test_returning_numpy_says_the_exercise_works_in_pytorch(name):
    checker = CHECKERS[name]

    def as_numpy(*args, **kwargs):
        result = checker.reference(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(r.numpy() for r in result)
        return result.numpy()

    with pytest.raises(AssertionError, match="this exercise works in PyTorch"):
        checker(as_numpy)
