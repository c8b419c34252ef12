"""Checkers for the exercises of `03_multi_head_attention` (PyTorch).

- ``check_split_heads(split_heads)``: ``split_heads(x, num_heads)``, (B, T, D) -> (B, H, T, Dh)
- ``check_merge_heads(merge_heads)``: ``merge_heads(x)``, (B, H, T, Dh) -> (B, T, H * Dh)
- ``check_predicted_rank(predicted_rank)``: ``predicted_rank(T, D, H)``, a prediction (made
  before measuring it) of the rank of one head's (T, T) score matrix Q_h K_hᵀ
- ``check_multi_head_attention(multi_head_attention)``:
  ``multi_head_attention(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None)``
  -> ``(output (B, T, D), weights (B, H, T, S))``, with (D, D) weights used as ``x @ w``

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_multi_head_attention.py`` proves it.
"""

from __future__ import annotations

import math

import torch

from helpers.attention import padding_mask
from helpers.exercises.checking import Case, Checker, Mistake

__all__ = [
    "check_merge_heads",
    "check_multi_head_attention",
    "check_predicted_rank",
    "check_split_heads",
]


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- split_heads(x, num_heads) ---------------------------------------------------------------


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 2)


def _split_reshape_only(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.reshape(B, num_heads, T, D // num_heads)


def _split_no_transpose(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, num_heads, D // num_heads)


def _split_interleaved(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, D // num_heads, num_heads).permute(0, 3, 1, 2)


def _split_width_num_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, D // num_heads, num_heads).transpose(1, 2)


def _split_wrong_axes(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 3)


check_split_heads = Checker(
    exercise="split_heads",
    library="torch",
    reference=_split_heads,
    forbidden=dict.fromkeys(
        [
            "helpers.multi_head_attention.split_heads",
        ],
        "view x as (B, T, H, Dh), then move the head axis in front of the positions.",
    ),
    cases=[
        Case("x of shape (2, 5, 12) into 3 heads (Dh = 4)", (_randn(2, 5, 12, seed=1), 3)),
        Case("x of shape (1, 4, 8) into 2 heads (Dh = 4)", (_randn(1, 4, 8, seed=2), 2)),
        Case("x of shape (3, 2, 6) into 6 heads of width 1", (_randn(3, 2, 6, seed=3), 6)),
        Case("x of shape (2, 3, 5) into 1 head (Dh = D)", (_randn(2, 3, 5, seed=4), 1)),
    ],
    mistakes=[
        Mistake(
            "reshaped straight to (B, H, T, Dh) without the transpose, so each head gets a mix "
            "of positions",
            "A reshape keeps the memory order (all features of token 0, then token 1, ...), so "
            "x.reshape(B, H, T, Dh) cuts that flat run into pieces that cross tokens. First "
            "x.view(B, T, H, Dh) (split each token's D features into H slices), then "
            ".transpose(1, 2) to bring the head axis before T.",
            _split_reshape_only,
        ),
        Mistake(
            "forgot the transpose: returned (B, T, H, Dh) instead of (B, H, T, Dh)",
            "x.view(B, T, H, Dh) is the right split; add .transpose(1, 2) so that each head "
            "holds a (T, Dh) matrix, ready for attention over the T positions.",
            _split_no_transpose,
        ),
        Mistake(
            "split D as (Dh, H), so each head gets every H-th feature instead of a contiguous "
            "slice",
            "Head h owns features h * Dh to (h + 1) * Dh - 1, as in torch.nn.MultiheadAttention: "
            "view the last axis as (H, Dh), heads first, i.e. x.view(B, T, H, Dh).",
            _split_interleaved,
        ),
        Mistake(
            "used num_heads as the head width: D // num_heads heads of width num_heads",
            "num_heads is H, the number of heads; each head's width is Dh = D // num_heads. "
            "The view is x.view(B, T, num_heads, D // num_heads).",
            _split_width_num_heads,
        ),
        Mistake(
            "transposed the wrong axes: got (B, Dh, H, T)",
            "After x.view(B, T, H, Dh) the axes are (B=0, T=1, H=2, Dh=3); swap T and H only: "
            ".transpose(1, 2).",
            _split_wrong_axes,
        ),
    ],
)


# --- merge_heads(x) --------------------------------------------------------------------------


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)


def _merge_reshape_only(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    return x.reshape(B, T, H * Dh)


def _merge_no_flatten(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(1, 2)


def _merge_view(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).view(B, T, H * Dh)


def _merge_interleaved(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    return x.permute(0, 2, 3, 1).reshape(B, T, Dh * H)


def _merge_along_time(x: torch.Tensor) -> torch.Tensor:
    return torch.cat(x.unbind(dim=1), dim=1)


def _merge_mean(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=1)


check_merge_heads = Checker(
    exercise="merge_heads",
    library="torch",
    reference=_merge_heads,
    forbidden=dict.fromkeys(
        [
            "helpers.multi_head_attention.merge_heads",
        ],
        "move the head axis back behind the positions, then reshape to (B, T, H * Dh).",
    ),
    cases=[
        Case("x of shape (2, 3, 5, 4): 3 heads, T = 5, Dh = 4", (_randn(2, 3, 5, 4, seed=5),)),
        Case("x of shape (1, 2, 4, 3): 2 heads, T = 4, Dh = 3", (_randn(1, 2, 4, 3, seed=6),)),
        Case("x of shape (2, 1, 3, 6): a single head", (_randn(2, 1, 3, 6, seed=7),)),
        Case("x of shape (3, 4, 1, 2): one position", (_randn(3, 4, 1, 2, seed=8),)),
    ],
    mistakes=[
        Mistake(
            "reshaped to (B, T, D) without transposing back, so positions and heads get mixed",
            "The heads axis sits before T: first .transpose(1, 2) to (B, T, H, Dh), then "
            ".reshape(B, T, H * Dh), the exact inverse of split_heads.",
            _merge_reshape_only,
        ),
        Mistake(
            "transposed back but did not flatten the heads: returned (B, T, H, Dh)",
            "Concatenate each position's H head outputs into one vector of width D = H * Dh: "
            "x.transpose(1, 2).reshape(B, T, H * Dh) (or .flatten(2)).",
            _merge_no_flatten,
        ),
        Mistake(
            "called .view after .transpose, which fails because the transposed tensor is not "
            "contiguous in memory",
            "A transpose only swaps strides; .view needs contiguous memory. Use .reshape(...), "
            "which copies when it must, or .contiguous().view(...).",
            _merge_view,
        ),
        Mistake(
            "flattened in the order (Dh, H), interleaving the heads' features",
            "Head h's Dh features must stay together, at positions h * Dh to (h + 1) * Dh - 1, "
            "exactly where split_heads took them from: .transpose(1, 2).reshape(B, T, H * Dh).",
            _merge_interleaved,
        ),
        Mistake(
            "concatenated the heads along the positions T instead of along the features",
            "torch.cat(heads, dim=1) stacks the heads one after another in time, (B, H*T, Dh). "
            "Each position keeps its place and gets all heads side by side: (B, T, H * Dh).",
            _merge_along_time,
        ),
        Mistake(
            "averaged the heads instead of concatenating them",
            "Multi-head attention keeps every head's output: concatenate them to width H * Dh "
            "= D; the output projection W_O then mixes them.",
            _merge_mean,
        ),
    ],
)


# --- predicted_rank(T, D, H) -----------------------------------------------------------------


def _predicted_rank(T: int, D: int, H: int) -> int:
    """Q_h K_hᵀ is (T, Dh) @ (Dh, T): its rank is at most Dh = D // H, and at most T."""
    return min(T, D // H)


check_predicted_rank = Checker(
    exercise="predicted_rank",
    library="torch",
    reference=_predicted_rank,
    cases=[
        Case("T = 32 tokens of width D = 64, one head (Dh = 64)", (32, 64, 1)),
        Case("T = 100 tokens of width D = 64, 4 heads (Dh = 16)", (100, 64, 4)),
        Case("T = 32 tokens of width D = 64, 16 heads (Dh = 4)", (32, 64, 16)),
        Case("T = 10 tokens of width D = 64, 2 heads (Dh = 32)", (10, 64, 2)),
        Case("T = 6 tokens of width D = 12, 3 heads (Dh = 4)", (6, 12, 3)),
    ],
    mistakes=[
        Mistake(
            "predicted Dh = D // H, forgetting that the number of tokens T caps the rank too",
            "Q_h K_hᵀ is a (T, T) matrix: no (T, T) matrix has rank above T, however wide the "
            "head. The rank is at most Dh and at most T.",
            lambda T, D, H: D // H,
        ),
        Mistake(
            "predicted the rank of one wide head, min(T, D), ignoring the split into heads",
            "Each head sees only its own Dh = D // H features: Q_h is (T, Dh) and K_hᵀ is "
            "(Dh, T), and a product's rank is at most the smaller inner dimension, Dh.",
            lambda T, D, H: min(T, D),
        ),
        Mistake(
            "predicted full rank, T, as if the score matrix could be any (T, T) matrix",
            "The scores are a product Q_h K_hᵀ through a bottleneck of Dh features: "
            "rank(A B) <= min(rank A, rank B), so the rank is at most Dh = D // H.",
            lambda T, D, H: T,
        ),
        Mistake(
            "predicted H, the number of heads, instead of something set by each head's width",
            "The rank of one head's scores depends on that head's width Dh = D // H (and on T), "
            "not on how many other heads there are.",
            lambda T, D, H: H,
        ),
    ],
)


# --- multi_head_attention(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None) -------


def _multi_head_variant(
    *,
    project=lambda x, w: x @ w,
    split=_split_heads,
    merge=_merge_heads,
    scale=lambda d_model, d_head: 1 / math.sqrt(d_head),
    head_mask=lambda mask: mask.unsqueeze(-3),
    use_mask: bool = True,
    softmax_dim: int = -1,
    output_projection: bool = True,
    average_weights: bool = False,
):
    """Multi-head attention built from parts; the defaults give the correct function, and
    each mistake below swaps exactly one part for its wrong version."""

    def multi_head_attention(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
        q = split(project(query, w_q), num_heads)  # (B, H, T, Dh)
        k = split(project(key, w_k), num_heads)  # (B, H, S, Dh)
        v = split(project(value, w_v), num_heads)  # (B, H, S, Dh)
        scores = q @ k.transpose(-2, -1) * scale(query.shape[-1], q.shape[-1])
        if mask is not None and use_mask:
            scores = scores.masked_fill(~head_mask(mask), float("-inf"))
        weights = torch.softmax(scores, dim=softmax_dim)  # (B, H, T, S)
        output = merge(weights @ v)  # (B, T, D)
        if output_projection:
            output = project(output, w_o)
        return output, weights.mean(dim=1) if average_weights else weights

    return multi_head_attention


def _merge_reshape_only_any(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], x.shape[2], -1)


_multi_head_attention = _multi_head_variant()
_mha_no_output_projection = _multi_head_variant(output_projection=False)
_mha_linear_convention = _multi_head_variant(project=lambda x, w: x @ w.T)
_mha_scale_d_model = _multi_head_variant(scale=lambda d_model, d_head: 1 / math.sqrt(d_model))
_mha_reshape_only = _multi_head_variant(split=_split_reshape_only, merge=_merge_reshape_only_any)
_mha_merge_no_transpose = _multi_head_variant(merge=_merge_reshape_only_any)
_mha_softmax_queries = _multi_head_variant(softmax_dim=-2)
_mha_averaged_weights = _multi_head_variant(average_weights=True)
_mha_ignores_mask = _multi_head_variant(use_mask=False)
_mha_mask_unsqueezed_at_1 = _multi_head_variant(head_mask=lambda mask: mask.unsqueeze(1))
_mha_mask_not_per_head = _multi_head_variant(head_mask=lambda mask: mask)


def _attention_inputs(B: int, T: int, S: int, D: int, *, seed: int, self_attention: bool):
    """query (B, T, D), key and value (B, S, D), and four (D, D) weights scaled by 1/√D."""
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(B, T, D, generator=generator)
    if self_attention:
        key = value = query
    else:
        key, value = (torch.randn(B, S, D, generator=generator) for _ in range(2))
    weights = (torch.randn(D, D, generator=generator) / math.sqrt(D) for _ in range(4))
    return (query, key, value, *weights)


def _lengths_mask(lengths: list[int], S: int) -> torch.Tensor:
    """(B, 1, S): True for the first ``lengths[b]`` keys of sequence b."""
    return padding_mask(torch.tensor(lengths), S)


check_multi_head_attention = Checker(
    exercise="multi_head_attention",
    library="torch",
    reference=_multi_head_attention,
    forbidden=dict.fromkeys(
        [
            "helpers.multi_head_attention.MultiHeadAttention",
            "torch.nn.MultiheadAttention",
            "torch.nn.functional.multi_head_attention_forward",
        ],
        "project with w_q, w_k, w_v, split the heads, attend, merge, project with w_o (your split_heads and merge_heads and torch.softmax are fine).",
    ),
    cases=[
        Case(
            "self-attention: x (2, 4, 6) as query, key and value, 3 heads, no mask",
            (*_attention_inputs(2, 4, 4, 6, seed=11, self_attention=True), 3),
        ),
        Case(
            "cross-attention: query (3, 2, 8), key and value (3, 5, 8), 2 heads, no mask",
            (*_attention_inputs(3, 2, 5, 8, seed=12, self_attention=False), 2),
        ),
        Case(
            "a (T, S) causal mask: x (2, 5, 8), 4 heads",
            (*_attention_inputs(2, 5, 5, 8, seed=13, self_attention=True), 4),
            {"mask": torch.ones(5, 5, dtype=torch.bool).tril()},
        ),
        Case(
            "a (B, T, S) mask (causal and padding, lengths [4, 2]) with B = H = 2: "
            "x (2, 4, 8), 2 heads",
            (*_attention_inputs(2, 4, 4, 8, seed=14, self_attention=True), 2),
            {"mask": torch.ones(4, 4, dtype=torch.bool).tril() & _lengths_mask([4, 2], 4)},
        ),
        Case(
            "a (B, 1, S) padding mask for lengths [6, 3, 1] with B = 3, 2 heads: "
            "query (3, 4, 6), key and value (3, 6, 6)",
            (*_attention_inputs(3, 4, 6, 6, seed=15, self_attention=False), 2),
            {"mask": _lengths_mask([6, 3, 1], 6)},
        ),
        Case(
            "a single head: x (2, 3, 4), 1 head, no mask",
            (*_attention_inputs(2, 3, 3, 4, seed=16, self_attention=True), 1),
        ),
    ],
    mistakes=[
        Mistake(
            "forgot the output projection W_O",
            "After merging the heads back to (B, T, D), multiply by w_o: the heads were computed "
            "separately, and W_O is what mixes what they found.",
            _mha_no_output_projection,
        ),
        Mistake(
            "multiplied by the transposed weights (x @ w.T, nn.Linear's convention)",
            "Here the weights are (D_in, D_out) matrices used as in the maths, Q = X W_Q: "
            "query @ w_q, and likewise for w_k, w_v and w_o.",
            _mha_linear_convention,
        ),
        Mistake(
            "scaled the scores by √D (d_model) instead of √Dh (the head width)",
            "Each head's scores are dot products of Dh-dimensional vectors, so their variance "
            "grows with Dh: divide by math.sqrt(D // num_heads), i.e. q.shape[-1] after the split.",
            _mha_scale_d_model,
        ),
        Mistake(
            "split (and merged) the heads with a plain reshape, without the transposes",
            "x.reshape(B, H, T, Dh) cuts across tokens. Split with "
            "x.view(B, T, H, Dh).transpose(1, 2) and merge with "
            "x.transpose(1, 2).reshape(B, T, D): your split_heads and merge_heads.",
            _mha_reshape_only,
        ),
        Mistake(
            "merged the heads without transposing back to (B, T, H, Dh) first",
            "The attention output is (B, H, T, Dh): .transpose(1, 2) before .reshape(B, T, D), "
            "or every position gets features from other positions.",
            _mha_merge_no_transpose,
        ),
        Mistake(
            "softmax over the queries (dim=-2) instead of over the keys (dim=-1)",
            "The scores are (B, H, T, S): each query's weights over the S keys must sum to 1, "
            "so torch.softmax(scores, dim=-1).",
            _mha_softmax_queries,
        ),
        Mistake(
            "returned the weights averaged over the heads, (B, T, S)",
            "Return every head's weights, (B, H, T, S). (torch.nn.MultiheadAttention averages "
            "them by default; this exercise keeps them apart so you can look at each head.)",
            _mha_averaged_weights,
        ),
        Mistake(
            "ignored the mask",
            "Before the softmax, fill the scores of blocked keys with -inf: "
            "scores.masked_fill(~mask, float('-inf')), the mask broadcast over the heads.",
            _mha_ignores_mask,
        ),
        Mistake(
            "put the head axis into a (T, S) mask too (mask.unsqueeze(1) for every mask)",
            "A (T, S) mask already broadcasts to (B, H, T, S); only a mask with a batch axis, "
            "(B, T, S) or (B, 1, S), needs a head axis at position 1. mask.unsqueeze(-3) does "
            "the right thing for both.",
            _mha_mask_unsqueezed_at_1,
        ),
        Mistake(
            "did not broadcast a (B, T, S) mask over the heads: its batch axis lined up with "
            "the head axis",
            "Broadcasting aligns shapes from the right, so (B, T, S) against (B, H, T, S) pairs "
            "B with H: it fails when B != H and silently gives head h the mask of sequence h "
            "when B == H. Insert the head axis: mask.unsqueeze(1), i.e. (B, 1, T, S).",
            _mha_mask_not_per_head,
        ),
    ],
)
