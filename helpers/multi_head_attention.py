"""Multi-head attention, as derived in `03_multi_head_attention`.

H heads of width Dh = D / H each attend on their own, then their outputs are concatenated
and mixed by an output projection. The reshapes are named functions, so the notebook can
show each step: ``split_heads`` (B, T, D) -> (B, H, T, Dh) and ``merge_heads`` back.

Masks follow this course's convention (True = may attend, as in
``torch.nn.functional.scaled_dot_product_attention``); ``mask_from_torch`` converts the
opposite convention of ``torch.nn.MultiheadAttention`` (True = masked out).

Two additions serve fast decoding, and `08_efficient_attention` explains them: ``KVCache``, the
keys and values a decoder has already computed (passed as ``forward(..., cache=...)``), and
grouped-query attention (``num_kv_heads`` < ``num_heads``: heads share keys and values, so the
cache shrinks by ``num_heads / num_kv_heads``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from helpers._utils import describe_shape
from helpers.attention import causal_mask, scaled_dot_product_attention

__all__ = ["MultiHeadAttention", "mask_from_torch", "merge_heads", "split_heads"]


class KVCache:
    """The keys and values one attention module has computed so far, for incremental decoding.

    Decoding one token at a time, the keys and values of earlier positions never change, so
    each step projects the new positions only and appends them: ``update(k, v)`` with k, v
    (B, G, n, Dh) returns every position so far, (B, G, t, Dh) (G key/value heads). With
    ``static=True`` (cross-attention over a fixed memory) the first ``update`` stores the
    memory's keys and values and the module reuses them at every later step without
    projecting the memory again. ``reorder(index)`` keeps the batch rows ``index`` (B',), as
    beam search needs when it reorders its beams.
    """

    def __init__(self, *, static: bool = False) -> None:
        self.static = static
        self.key: torch.Tensor | None = None  # (B, G, t, Dh)
        self.value: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """Positions held, t (0 when empty)."""
        return 0 if self.key is None else self.key.shape[-2]

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached keys and values."""
        if self.key is None:
            return 0
        return sum(t.numel() * t.element_size() for t in (self.key, self.value))

    def update(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new positions' keys and values (replace them, if static); return all."""
        if self.key is not None and not self.static:
            key = torch.cat([self.key, key], dim=-2)  # (B, G, t, Dh): a copy per step, O(t)
            value = torch.cat([self.value, value], dim=-2)
        self.key, self.value = key, value
        return key, value

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the batch rows ``index``: row i becomes the old row ``index[i]``."""
        if self.key is not None:
            self.key, self.value = self.key[index], self.value[index]

    def __repr__(self) -> str:
        shape = None if self.key is None else tuple(self.key.shape)
        return f"KVCache(static={self.static}, key shape={shape})"


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, T, D) -> (B, H, T, Dh) with Dh = D / H: each head gets its own slice of the features.

    A ``view`` splits the last axis into (H, Dh); the ``transpose`` then brings H next to B
    so that every head sees all T positions of its own Dh features. (Reshaping straight to
    (B, H, T, Dh) without the transpose would hand each "head" a mix of positions instead.)
    """
    if x.ndim != 3:
        raise ValueError(f"split_heads expects x of shape (B, T, D); got {describe_shape(x)}")
    B, T, D = x.shape
    if num_heads < 1 or D % num_heads:
        raise ValueError(f"D = {D} must be divisible by num_heads = {num_heads}")
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, T, Dh) -> (B, T, H * Dh): the inverse of ``split_heads``."""
    if x.ndim != 4:
        raise ValueError(f"merge_heads expects x of shape (B, H, T, Dh); got {describe_shape(x)}")
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)


def mask_from_torch(
    attn_mask: torch.Tensor | None = None, key_padding_mask: torch.Tensor | None = None
) -> torch.Tensor | None:
    """This course's mask (True = may attend) from ``nn.MultiheadAttention``'s boolean masks.

    attn_mask: (T, S), True = may NOT attend; key_padding_mask: (B, S), True = padding.
    Returns (T, S), (B, 1, 1, S) or their combination (B, 1, T, S); ``None`` if both are None.
    """
    for name, m, ndim in (("attn_mask", attn_mask, 2), ("key_padding_mask", key_padding_mask, 2)):
        if m is not None and (m.dtype != torch.bool or m.ndim != ndim):
            raise ValueError(
                f"{name} must be a 2-D boolean tensor (True = masked out); "
                f"got {m.dtype} of shape {describe_shape(m)}"
            )
    mask = None if attn_mask is None else ~attn_mask  # (T, S)
    if key_padding_mask is not None:
        keys = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, S)
        mask = keys if mask is None else mask & keys
    return mask


class MultiHeadAttention(nn.Module):
    """Multi-head attention: H heads of scaled dot-product attention, then an output projection.

    ``forward(query (B, T, D), key (B, S, D), value (B, S, D), mask=None)`` returns
    ``(output (B, T, D), weights (B, H, T, S))``; key and value may differ from the query
    (cross-attention). ``mask`` is boolean, True = may attend, and broadcasts over heads:
    (T, S), (B, 1, S) (e.g. ``helpers.attention.padding_mask``), (B, T, S) or (B, H, T, S).

    With ``fused=True`` it runs PyTorch's fused ``scaled_dot_product_attention`` (the fast
    path the training notebook uses on a GPU), which computes no weights: ``forward`` then
    returns ``(output, None)`` unless called with ``need_weights=True``, which takes the
    course's own path for that call. Both paths give the same output within float tolerance.
    (A query with no visible key gives a zero output on the course's path; PyTorch's fused
    kernels may give NaN there on some devices and versions.)

    ``is_causal=True`` adds the causal pattern (query i sees keys j <= i, aligned at the top
    left as in PyTorch's function) to ``mask``. The fused path hands it to PyTorch as
    ``is_causal=True`` when there is no other mask, so that PyTorch may pick its flash kernel
    (which takes no explicit mask on a GPU); with a mask, or on the course's path, it becomes
    part of the boolean mask. The results are the same either way.

    ``head_mask`` (default None: no effect) is an optional (H,) tensor that scales each
    head's output before the output projection, on both paths: 0 (or False) removes a head,
    1 (or True) keeps it. `06_inspecting_attention` uses it to ablate heads; it is not saved
    in the ``state_dict``.

    For decoding: ``num_kv_heads`` = G < H gives grouped-query attention (G = 1: multi-query),
    where each group of H / G query heads shares one head of keys and values (``w_k`` and
    ``w_v`` then map D to G · Dh); ``cache`` (a ``KVCache``) reuses the keys and values of
    earlier calls.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        *,
        fused: bool = False,
        num_kv_heads: int | None = None,
    ) -> None:
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(
                f"d_model must be divisible by num_heads; got d_model = {d_model}, "
                f"num_heads = {num_heads}"
            )
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if num_kv_heads < 1 or num_heads % num_kv_heads:
            raise ValueError(
                f"num_heads must be divisible by num_kv_heads; got num_heads = {num_heads}, "
                f"num_kv_heads = {num_kv_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.num_kv_heads = num_kv_heads
        self.dropout, self.fused = dropout, fused
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, num_kv_heads * self.d_head, bias=bias)
        self.w_v = nn.Linear(d_model, num_kv_heads * self.d_head, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)
        self.register_buffer("head_mask", None, persistent=False)

    def extra_repr(self) -> str:
        kv_heads = (
            "" if self.num_kv_heads == self.num_heads else f", num_kv_heads={self.num_kv_heads}"
        )
        return (
            f"d_model={self.d_model}, num_heads={self.num_heads}{kv_heads}, d_head={self.d_head}, "
            f"dropout={self.dropout}, fused={self.fused}"
        )

    def _check(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask) -> None:
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} must have shape (B, L, D) with D = d_model = {self.d_model}; "
                    f"got {describe_shape(x)}"
                )
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(
                "query (B, T, D), key (B, S, D) and value (B, S, D) must share B, and key and "
                f"value S; got query {describe_shape(query)}, key {describe_shape(key)}, value {describe_shape(value)}"
            )
        if mask is not None and (mask.dtype != torch.bool or not 2 <= mask.ndim <= 4):
            raise ValueError(
                "mask must be a boolean tensor (True = may attend) of shape (T, S), (B, 1, S), "
                f"(B, T, S) or (B, H, T, S); got {mask.dtype} of shape {describe_shape(mask)}"
            )
        if self.head_mask is not None and self.head_mask.shape != (self.num_heads,):
            raise ValueError(
                f"head_mask must have shape (H,) with H = num_heads = {self.num_heads}; "
                f"got {describe_shape(self.head_mask)}"
            )

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        need_weights: bool | None = None,
        is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        self._check(query, key, value, mask)
        if mask is not None and mask.ndim == 3:
            mask = mask.unsqueeze(1)  # (B, T or 1, S) -> (B, 1, T or 1, S): same for every head
        q = split_heads(self.w_q(query), self.num_heads)  # (B, H, T, Dh)
        k, v = self._keys_and_values(key, value, cache)  # (B, G, S, Dh) each
        dropout_p = self.dropout if self.training else 0.0
        if need_weights is None:
            need_weights = not self.fused
        if is_causal and (need_weights or mask is not None):
            causal = causal_mask(q.shape[-2], k.shape[-2], device=q.device)  # (T, S)
            mask, is_causal = causal if mask is None else mask & causal, False
        if self.num_kv_heads != self.num_heads:  # each key/value head serves H / G query heads
            groups = self.num_heads // self.num_kv_heads
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        if need_weights:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal
            )
            weights = None
        if self.head_mask is not None:
            out = out * self.head_mask.to(out)[:, None, None]  # (H, 1, 1): one factor per head
        return self.w_o(merge_heads(out)), weights  # (B, T, D), (B, H, T, S) or None

    def _keys_and_values(
        self, key: torch.Tensor, value: torch.Tensor, cache: KVCache | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, G, S, Dh) keys and values: projected, or from the cache where it holds them."""
        if cache is not None and cache.static and cache.key is not None:
            return cache.key, cache.value  # a fixed memory's, projected at the first step
        k = split_heads(self.w_k(key), self.num_kv_heads)
        v = split_heads(self.w_v(value), self.num_kv_heads)
        return (k, v) if cache is None else cache.update(k, v)

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention, *, fused: bool = False):
        """A copy of a ``torch.nn.MultiheadAttention(batch_first=True)`` with the same weights.

        Convert its masks with :func:`mask_from_torch`; the outputs then agree, and its
        head-averaged weights equal ``weights.mean(dim=1)`` of this module.
        """
        if not isinstance(module, nn.MultiheadAttention):
            raise TypeError(f"expected torch.nn.MultiheadAttention; got {type(module).__name__}")
        unsupported = {
            "batch_first=False": not module.batch_first,
            "kdim/vdim different from embed_dim": not module._qkv_same_embed_dim,
            "add_bias_kv=True": module.bias_k is not None,
            "add_zero_attn=True": module.add_zero_attn,
        }
        problems = [name for name, present in unsupported.items() if present]
        if problems:
            raise ValueError(
                "from_torch supports batch_first=True, equal q/k/v widths, no bias_k/bias_v "
                f"and no zero attention; got {', '.join(problems)}"
            )
        bias = module.in_proj_bias is not None
        copy = cls(module.embed_dim, module.num_heads, module.dropout, bias, fused=fused)
        with torch.no_grad():
            weights = module.in_proj_weight.chunk(3)
            biases = module.in_proj_bias.chunk(3) if bias else (None, None, None)
            for linear, w, b in zip((copy.w_q, copy.w_k, copy.w_v), weights, biases, strict=True):
                linear.weight.copy_(w)
                if b is not None:
                    linear.bias.copy_(b)
            copy.w_o.weight.copy_(module.out_proj.weight)
            if bias:
                copy.w_o.bias.copy_(module.out_proj.bias)
        return copy.to(module.in_proj_weight.device, module.in_proj_weight.dtype)
