"""Softmax, masks and scaled dot-product attention, as derived in `02_softmax_and_attention`.

Shape vocabulary used throughout the course: B batch, H heads, T query (target) length,
S key (source) length, D model width, Dh head width. Every function here accepts any number
of leading batch dimensions, written ``...``.

Masks follow PyTorch's ``scaled_dot_product_attention``: a boolean tensor where ``True``
means *may attend*. (``torch.nn.MultiheadAttention`` and ``torch.nn.Transformer`` use the
opposite convention for their boolean masks; later notebooks convert explicitly.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from helpers._utils import check_positive_int, describe_shape

__all__ = [
    "SelfAttention",
    "causal_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "softmax",
]


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax along ``dim``; a slice that is all ``-inf`` gives zeros.

    Subtracting the maximum before ``exp`` changes nothing mathematically
    (``exp(x - m) / sum(exp(x - m)) == exp(x) / sum(exp(x))``) but keeps ``exp`` from
    overflowing. Where every entry is ``-inf`` (a query whose keys are all masked) the
    result is all zeros instead of ``0 / 0 = NaN``.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"softmax expects a torch.Tensor; got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise ValueError(f"softmax expects a floating-point tensor; got dtype {x.dtype}")
    x_max = x.amax(dim=dim, keepdim=True)
    x_max = torch.where(torch.isfinite(x_max), x_max, torch.zeros_like(x_max))
    e = torch.exp(x - x_max)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def causal_mask(T: int, S: int | None = None, device: torch.device | str | None = None):
    """Boolean (T, S) mask, True where query ``i`` may attend to key ``j``, i.e. ``j <= i``.

    With ``S`` different from ``T`` the triangle is aligned at the top-left corner, as in
    ``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``.
    """
    T = check_positive_int("T", T)
    S = T if S is None else check_positive_int("S", S)
    return torch.ones(T, S, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: torch.Tensor, S: int | None = None) -> torch.Tensor:
    """Boolean (B, 1, S) key mask from sequence lengths: True for real tokens, False for padding.

    lengths: (B,) integers. The middle axis of size 1 broadcasts over the T queries of
    (B, T, S) scores; for scores with heads, (B, H, T, S), use ``mask.unsqueeze(1)``.
    """
    if not torch.is_tensor(lengths) or lengths.ndim != 1 or torch.is_floating_point(lengths):
        got = (
            f"{lengths.dtype} tensor of shape {describe_shape(lengths)}"
            if torch.is_tensor(lengths)
            else type(lengths).__name__
        )
        raise ValueError(f"lengths must be a 1-D integer tensor of shape (B,); got {got}")
    S = int(lengths.max()) if S is None else S
    if lengths.numel() and (int(lengths.min()) < 0 or int(lengths.max()) > S):
        raise ValueError(f"lengths must lie in [0, S={S}]; got {lengths.tolist()}")
    positions = torch.arange(S, device=lengths.device)
    return (positions < lengths[:, None])[:, None, :]


def _check_attention_inputs(q, k, v, mask, dropout_p) -> None:
    _check_qkv(q, k, v)
    if mask is not None:
        _check_mask(mask, q, k)
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1); got {dropout_p}")


def _check_qkv(q, k, v) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not torch.is_tensor(t):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"{name} must have shape (..., L, Dh); got {describe_shape(t)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "q and k must share their last dimension Dh: q is (..., T, Dh) and k is "
            f"(..., S, Dh); got q {describe_shape(q)} and k {describe_shape(k)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "k and v must have the same number of keys S: k is (..., S, Dh) and v is "
            f"(..., S, Dv); got k {describe_shape(k)} and v {describe_shape(v)}"
        )
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(
            "the leading (batch) dimensions of q, k and v must broadcast; got "
            f"q {describe_shape(q)}, k {describe_shape(k)}, v {describe_shape(v)}"
        ) from None


def _check_mask(mask, q, k) -> None:
    if not torch.is_tensor(mask) or mask.dtype != torch.bool:
        got = mask.dtype if torch.is_tensor(mask) else type(mask).__name__
        raise ValueError(f"mask must be a boolean tensor (True = may attend); got {got}")
    scores_shape = (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
    try:
        fits = torch.broadcast_shapes(mask.shape, scores_shape) == torch.Size(scores_shape)
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(
            f"mask must broadcast to the scores' shape (..., T, S) = {describe_shape(scores_shape)}; "
            f"got {describe_shape(mask)}"
        )


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    *,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention(Q, K, V) = softmax(Q Kᵀ / √Dh) V; returns ``(output, weights)``.

    q: (..., T, Dh), k: (..., S, Dh), v: (..., S, Dv); leading dimensions broadcast.
    mask: boolean, broadcastable to (..., T, S), True = may attend.
    Returns output (..., T, Dv) and the weights (..., T, S) that produced it (after dropout,
    which is applied whenever ``dropout_p > 0``, as in PyTorch's functional version).

    The maths is the notebook's step by step; this polished version calls ``torch.softmax``
    (one fused kernel, same result as :func:`softmax` above) and scales q before the product,
    which is cheaper than scaling the (T, S) scores (see ``benchmarks/attention.py``).

    A query whose keys are all masked gets zero weights and a zero output, never NaN, and
    its gradients stay finite.
    PyTorch differs by entry point: ``torch.softmax`` of an all ``-inf`` row and
    ``torch.nn.MultiheadAttention`` give NaN; ``torch.nn.functional.scaled_dot_product_attention``
    gives zeros in recent releases (2.5 and later) but NaN in older ones and in some fused
    GPU kernels.
    """
    _check_attention_inputs(q, k, v, mask, dropout_p)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    # Scaling q (T x Dh numbers) instead of the scores (T x S) is the same maths, cheaper.
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., T, S)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        # A query with no visible key keeps finite scores (softmax would give 0/0 = NaN,
        # and NaN gradients); its weights are zeroed after the softmax instead.
        has_key = mask.any(dim=-1, keepdim=True)  # (..., T, 1)
        scores = scores.masked_fill(~mask & has_key, float("-inf"))
        weights = torch.softmax(scores, dim=-1).masked_fill(~has_key, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights


class SelfAttention(torch.nn.Module):
    """One self-attention head: queries, keys and values are learned projections of one input.

    ``Q = x W_Q``, ``K = x W_K``, ``V = x W_V`` and the output is
    ``scaled_dot_product_attention(Q, K, V, mask)``.

    x: (B, T, D) with D = ``d_model`` (any number of leading dimensions works: (..., T, D)).
    mask: boolean, broadcastable to (B, T, T), True = may attend.
    Returns the output (B, T, Dh) with Dh = ``d_head`` (default ``d_model``) and the
    attention weights (B, T, T).
    """

    def __init__(self, d_model: int, d_head: int | None = None, *, bias: bool = False) -> None:
        super().__init__()
        d_head = d_model if d_head is None else d_head
        self.d_model = check_positive_int("d_model", d_model)
        self.d_head = check_positive_int("d_head", d_head)
        self.w_q = torch.nn.Linear(d_model, d_head, bias=bias)
        self.w_k = torch.nn.Linear(d_model, d_head, bias=bias)
        self.w_v = torch.nn.Linear(d_model, d_head, bias=bias)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not torch.is_tensor(x):
            raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
        if x.ndim < 2 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"x must have shape (B, T, D) with D = d_model = {self.d_model}; "
                f"got {describe_shape(x)}"
            )
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)  # each (B, T, Dh)
        return scaled_dot_product_attention(q, k, v, mask)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, d_head={self.d_head}"
