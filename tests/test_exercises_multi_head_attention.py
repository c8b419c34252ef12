"""The checkers of `03_multi_head_attention`: references pass, correct variants pass, and
every catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.exercises.checking import Checker, ForbiddenCall
from helpers.exercises.multi_head_attention import (
    check_merge_heads,
    check_multi_head_attention,
    check_predicted_rank,
    check_split_heads,
)

CHECKERS = {
    "split_heads": check_split_heads,
    "merge_heads": check_merge_heads,
    "multi_head_attention": check_multi_head_attention,
}


@pytest.mark.parametrize("name", ["split_heads", "merge_heads"])
def test_handing_in_the_course_helper_is_refused(name):
    import helpers.multi_head_attention

    checker = {"split_heads": check_split_heads, "merge_heads": check_merge_heads}[name]
    with pytest.raises(ForbiddenCall, match=f"helpers.multi_head_attention.{name}, the course's"):
        checker(getattr(helpers.multi_head_attention, name))


# ------------------------------------------------------------ split_heads alternatives


def split_unflatten(x, num_heads):
    return x.unflatten(-1, (num_heads, -1)).transpose(1, 2)


def split_chunk_stack(x, num_heads):
    return torch.stack(x.chunk(num_heads, dim=-1), dim=1)


def split_reshape_permute(x, num_heads):
    B, T, D = x.shape
    return x.reshape(B, T, num_heads, D // num_heads).permute(0, 2, 1, 3).contiguous()


def split_loop(x, num_heads):
    d_head = x.shape[-1] // num_heads
    return torch.stack([x[..., h * d_head : (h + 1) * d_head] for h in range(num_heads)], dim=1)


@pytest.mark.parametrize(
    "fn", [split_unflatten, split_chunk_stack, split_reshape_permute, split_loop]
)
def test_correct_split_alternatives_pass(fn, capsys):
    check_split_heads(fn)
    assert capsys.readouterr().out.startswith("✓ split_heads")


# ------------------------------------------------------------ merge_heads alternatives


def merge_flatten(x):
    return x.transpose(1, 2).flatten(2)


def merge_cat(x):
    return torch.cat(x.unbind(dim=1), dim=-1)


def merge_contiguous_view(x):
    B, H, T, Dh = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(B, T, H * Dh)


def merge_einsum_loop(x):
    return torch.cat([torch.einsum("btd->btd", x[:, h]) for h in range(x.shape[1])], dim=-1)


@pytest.mark.parametrize("fn", [merge_flatten, merge_cat, merge_contiguous_view, merge_einsum_loop])
def test_correct_merge_alternatives_pass(fn, capsys):
    check_merge_heads(fn)
    assert capsys.readouterr().out.startswith("✓ merge_heads")


def test_view_after_transpose_is_named_from_its_runtime_error():
    def merge_with_view(x):
        B, H, T, Dh = x.shape
        return x.transpose(1, 2).view(B, T, H * Dh)

    with pytest.raises(AssertionError, match="raised RuntimeError") as failure:
        check_merge_heads(merge_with_view)
    assert "not contiguous" in str(failure.value)


# ------------------------------------------------------------ multi_head_attention alternatives


def mha_einsum(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
    B, T, D = query.shape
    d_head = D // num_heads
    q = torch.einsum("btd,de->bte", query, w_q).unflatten(-1, (num_heads, d_head))
    k = torch.einsum("bsd,de->bse", key, w_k).unflatten(-1, (num_heads, d_head))
    v = torch.einsum("bsd,de->bse", value, w_v).unflatten(-1, (num_heads, d_head))
    scores = torch.einsum("bthe,bshe->bhts", q, k) / math.sqrt(d_head)
    if mask is not None:
        scores = torch.where(mask.unsqueeze(-3), scores, float("-inf"))
    weights = scores.softmax(dim=-1)
    heads = torch.einsum("bhts,bshe->bthe", weights, v)  # (B, T, H, Dh): no transpose needed
    return heads.flatten(2) @ w_o, weights


def mha_loop_over_heads(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
    """One head at a time, each with its own column slice of the weights, as in the paper.
    Each head's scores are (B, T, S), so the mask needs no head axis here."""
    d_head = query.shape[-1] // num_heads
    outputs, all_weights = [], []
    for h in range(num_heads):
        columns = slice(h * d_head, (h + 1) * d_head)
        q, k, v = query @ w_q[:, columns], key @ w_k[:, columns], value @ w_v[:, columns]
        scores = q @ k.mT / d_head**0.5  # (B, T, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        weights = torch.softmax(scores, dim=-1)
        outputs.append(weights @ v)
        all_weights.append(weights)
    return torch.cat(outputs, dim=-1) @ w_o, torch.stack(all_weights, dim=1)


def mha_with_course_helpers(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
    from helpers.attention import scaled_dot_product_attention
    from helpers.multi_head_attention import merge_heads, split_heads

    q, k, v = (split_heads(x @ w, num_heads) for x, w in ((query, w_q), (key, w_k), (value, w_v)))
    if mask is not None and mask.ndim == 3:
        mask = mask.unsqueeze(1)
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    return merge_heads(output) @ w_o, weights


def mha_with_the_module(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
    """The course's MultiHeadAttention with the weights copied in (nn.Linear stores wᵀ)."""
    from helpers.multi_head_attention import MultiHeadAttention

    module = MultiHeadAttention(query.shape[-1], num_heads, bias=False)
    with torch.no_grad():
        for linear, w in zip(
            (module.w_q, module.w_k, module.w_v, module.w_o), (w_q, w_k, w_v, w_o), strict=True
        ):
            linear.weight.copy_(w.T)
    output, weights = module(query, key, value, mask)
    return output.detach(), weights.detach()


@pytest.mark.parametrize("fn", [mha_einsum, mha_loop_over_heads, mha_with_course_helpers])
def test_correct_multi_head_alternatives_pass(fn, capsys):
    check_multi_head_attention(fn)
    assert capsys.readouterr().out.startswith("✓ multi_head_attention")


def test_wrapping_the_course_module_is_refused():
    """Copying the weights into the course's MultiHeadAttention gives the right numbers, but it
    is the reference implementation: the checker says so instead of passing it."""
    with pytest.raises(ForbiddenCall, match="MultiHeadAttention, the course's reference"):
        check_multi_head_attention(mha_with_the_module)


def test_mask_not_broadcast_is_named_also_where_it_raises():
    """Where B != H, a (B, 1, S) mask without a head axis raises; the checker names it."""
    raising_case = check_multi_head_attention.cases[4]
    assert "B = 3, 2 heads" in raising_case.description
    only_that_case = Checker(
        "multi_head_attention",
        "torch",
        check_multi_head_attention.reference,
        [raising_case],
        check_multi_head_attention.mistakes,
    )
    mistake = check_multi_head_attention.mistakes[-1]
    assert mistake.name.startswith("did not broadcast a (B, T, S) mask over the heads")
    with pytest.raises(AssertionError, match="raised RuntimeError") as failure:
        only_that_case(mistake.implementation)
    assert f"Likely mistake: {mistake.name}." in str(failure.value)


def test_silent_mask_mistake_is_caught_where_batch_equals_heads():
    """B == H: the wrong broadcast runs without error, so the values must give it away."""
    case = check_multi_head_attention.cases[3]
    assert "B = H = 2" in case.description
    query, *_ = case.args
    assert query.shape[0] == case.args[-1] == 2
    mistake = check_multi_head_attention.mistakes[-1]
    result = mistake.implementation(*case.args, **case.kwargs)
    expected = check_multi_head_attention.reference(*case.args, **case.kwargs)
    assert result[0].shape == expected[0].shape and not torch.allclose(result[0], expected[0])


def test_a_wrong_answer_outside_the_catalogue_is_still_rejected():
    def values_not_projected(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
        return mha_einsum(
            query, key, value, w_q, w_k, torch.eye(w_v.shape[0]), w_o, num_heads, mask
        )

    with pytest.raises(AssertionError) as failure:
        check_multi_head_attention(values_not_projected)
    assert "Likely mistake" not in str(failure.value)
    assert "largest difference" in str(failure.value)


# ------------------------------------------------------------ predicted_rank alternatives


def rank_formula_float(T, D, H):
    return min(T, D / H)


def rank_measured(T, D, H):
    """Measure instead of predicting: random queries and keys through one head's bottleneck."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(T, D, generator=generator, dtype=torch.float64)
    w_q, w_k = (torch.randn(D, D // H, generator=generator, dtype=torch.float64) for _ in "qk")
    return torch.linalg.matrix_rank((x @ w_q) @ (x @ w_k).T).item()


def rank_as_tensor(T, D, H):
    return torch.tensor([T, D // H]).min()


@pytest.mark.parametrize("fn", [rank_formula_float, rank_measured, rank_as_tensor])
def test_correct_rank_predictions_pass(fn, capsys):
    check_predicted_rank(fn)
    assert capsys.readouterr().out.startswith("✓ predicted_rank")


def test_predicted_rank_matches_a_real_head():
    """The checker's reference is what the notebook measures on MultiHeadAttention."""
    from helpers.multi_head_attention import MultiHeadAttention, split_heads

    torch.manual_seed(0)
    x = torch.randn(1, 32, 64)
    for num_heads in (1, 2, 4, 8, 16):
        layer = MultiHeadAttention(64, num_heads)
        with torch.no_grad():
            q, k = (split_heads(w(x), num_heads)[0, 0].double() for w in (layer.w_q, layer.w_k))
        rank = torch.linalg.matrix_rank(q @ k.T).item()
        assert rank == check_predicted_rank.reference(32, 64, num_heads)


def test_an_off_by_one_rank_is_rejected_without_a_named_mistake():
    with pytest.raises(AssertionError) as failure:
        check_predicted_rank(lambda T, D, H: min(T, D // H) - 1)
    assert "Likely mistake" not in str(failure.value)


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
