"""Attention without the N × N matrix, and how to measure what it costs, as derived in `08_efficient_attention`.

Exact attention builds an N × N matrix of scores for N positions: time and memory grow as N².
Three ways out, each a function here with the shapes of ``helpers.attention``
(q (..., T, Dh), k (..., S, Dh), v (..., S, Dv) -> (..., T, Dv)):

- ``tiled_attention``: the same result, computed one tile of queries × keys at a time with the
  online softmax (a running maximum and normaliser per query, the recurrence of
  FlashAttention), so memory grows as N · block instead of N²;
- ``sliding_window_attention``: each position attends to its neighbours within a window (and to
  a few global tokens, as in Longformer and BigBird), computed chunk by chunk so that time and
  memory grow as N · window; ``sliding_window_mask`` is the same pattern as a dense mask, for
  checking;
- ``linear_attention`` and ``causal_linear_attention``: softmax replaced by a kernel,
  ``elu_feature_map`` (elu + 1), whose associativity makes the cost N · Dh · Dv; the causal
  form is a running sum, i.e. a recurrent network.

``peak_memory`` measures the most memory that tensors allocated by a function hold at once, on
the CPU (PyTorch's profiler) or on a CUDA GPU (its allocator's statistics);
``sdpa_backend_costs`` measures PyTorch's own attention under each of its kernels. ``WithoutCache``
hides a translator's key-value cache from ``helpers.decoding``, so that the cached and the
uncached decoder can be compared.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile
from torch.utils import benchmark

from helpers._utils import SDPA_BACKENDS, check_positive_int, describe_shape, first_sentence
from helpers.attention import _check_mask, _check_qkv

__all__ = [
    "SDPA_BACKENDS",
    "WithoutCache",
    "causal_linear_attention",
    "elu_feature_map",
    "linear_attention",
    "peak_memory",
    "sdpa_backend_costs",
    "sliding_window_attention",
    "sliding_window_mask",
    "tiled_attention",
]


# --- measuring memory ----------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a while: PyTorch's profiler prints two lines
    there each time it starts and stops, which would land in a notebook's output."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_memory(fn: Callable[[], object], device: torch.device | str = "cpu") -> int:
    """Bytes: the most memory that tensors allocated while ``fn()`` runs hold at the same time.

    Memory held before the call (the inputs) does not count; ``fn``'s result counts until the
    call returns, then it is dropped. On the CPU it replays every allocation and release that
    PyTorch's profiler records (``profile_memory=True``), in order, and returns the highest
    running total; on a CUDA device it reads the allocator's peak statistic.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        raise ValueError(f"peak_memory measures the CPU or a CUDA device; got {device}")
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    changes = sorted(
        (event.start_ns(), event.nbytes())
        for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]"
    )
    held = peak = 0
    for _, nbytes in changes:  # + for an allocation, - for a release
        held += nbytes
        peak = max(peak, held)
    return peak


class WithoutCache(nn.Module):
    """A sequence-to-sequence model seen without its key-value cache.

    It offers ``encode``, ``real_tokens`` and ``decode`` of the wrapped model (for example a
    ``Seq2SeqTransformer``) but no ``new_cache``, so ``helpers.decoding`` re-runs the decoder
    on the whole prefix at every step, as it would for a model that has no cache.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return self.model.encode(src)

    def real_tokens(self, ids: torch.Tensor) -> torch.Tensor | None:
        return self.model.real_tokens(ids)

    def decode(
        self, tgt: torch.Tensor, memory: torch.Tensor, memory_real: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.model.decode(tgt, memory, memory_real)


def sdpa_backend_costs(
    N: int,
    device: torch.device | str,
    *,
    heads: int = 16,
    head_dim: int = 64,
    dtype: torch.dtype = torch.bfloat16,
    min_run_time: float = 0.2,
) -> dict[str, tuple[float, int] | str]:
    """PyTorch's causal attention at length N under each of its kernels alone.

    For each of ``SDPA_BACKENDS`` (``torch.nn.attention.sdpa_kernel``): (median seconds per
    forward call, peak bytes) on random (1, heads, N, head_dim) inputs, or, for a kernel that
    cannot run here (not built for this device, this dtype or this size, or out of memory),
    the first sentence of its error.
    """
    device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(1, heads, N, head_dim, generator=generator).to(device, dtype) for _ in range(3)
    )

    def call() -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    costs: dict[str, tuple[float, int] | str] = {}
    for name in SDPA_BACKENDS:
        try:
            with sdpa_kernel(getattr(SDPBackend, name)), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # why a kernel declines: the error says enough
                timer = benchmark.Timer(stmt="call()", globals={"call": call})
                seconds = timer.blocked_autorange(min_run_time=min_run_time).median
                costs[name] = (seconds, peak_memory(call, device))
        except (RuntimeError, AttributeError) as error:
            costs[name] = first_sentence(error)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return costs


# --- exact attention, tile by tile ----------------------------------------------------------


def _tile_visible(
    mask: torch.Tensor | None, rows: slice, cols: slice, is_causal: bool
) -> torch.Tensor | None:
    """Which (query, key) pairs of one tile may attend: (..., Bq, Bk) bool, or None for all."""
    visible = None if mask is None else mask[..., rows, cols]
    if is_causal and cols.stop - 1 > rows.start:  # the tile reaches above the diagonal
        device = visible.device if visible is not None else None
        query = torch.arange(rows.start, rows.stop, device=device)[:, None]
        key = torch.arange(cols.start, cols.stop, device=device)
        causal = key <= query  # (Bq, Bk)
        visible = causal if visible is None else visible & causal
    return visible


def _attend_query_block(q, k, v, mask, rows: slice, block_size: int, is_causal: bool):
    """Attention of the queries ``q`` (..., Bq, Dh) (already scaled) at positions ``rows``,
    running over the keys one block at a time with the online softmax."""
    m = q.new_full((*q.shape[:-1], 1), float("-inf"))  # running maximum score, (..., Bq, 1)
    ell = q.new_zeros((*q.shape[:-1], 1))  # running normaliser: sum of exp(score - m)
    acc = q.new_zeros((*q.shape[:-1], v.shape[-1]))  # running sum of exp(score - m) · v
    last_key = min(k.shape[-2], rows.stop) if is_causal else k.shape[-2]
    for start in range(0, last_key, block_size):
        cols = slice(start, min(start + block_size, last_key))
        s = q @ k[..., cols, :].transpose(-2, -1)  # (..., Bq, Bk): one tile of scores
        visible = _tile_visible(mask, rows, cols, is_causal)
        if visible is not None:
            s.masked_fill_(~visible, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)  # no key seen yet: nothing to scale
        p = s.sub_(shift).exp_()  # exp(score - m_new), in place of the scores
        rescale = torch.exp(m - shift)  # what the old terms must be multiplied by
        ell.mul_(rescale).add_(p.sum(dim=-1, keepdim=True))
        acc.mul_(rescale).add_(p @ v[..., cols, :])
        m = m_new
        del s, p  # free this tile before the next one is allocated
    return acc.div_(torch.where(ell > 0, ell, torch.ones_like(ell)))  # saw no key: 0


def tiled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    is_causal: bool = False,
    block_size: int = 256,
    scale: float | None = None,
) -> torch.Tensor:
    """softmax(q kᵀ / √Dh) v, exactly, without ever holding more than one tile of scores.

    q: (..., T, Dh), k: (..., S, Dh), v: (..., S, Dv); mask: boolean, broadcastable to
    (..., T, S), True = may attend; ``is_causal``: query i sees keys j <= i too (aligned at the
    top left, as in ``torch.nn.functional.scaled_dot_product_attention``). Returns (..., T, Dv).

    Queries go ``block_size`` at a time; for each block the keys and values go ``block_size``
    at a time, and three running quantities per query absorb each tile: the maximum score m,
    the normaliser l = Σ exp(score - m) and the unnormalised output Σ exp(score - m) · v, the
    old ones rescaled by exp(m_old - m_new) whenever the maximum grows. Memory beyond the
    output: a (block × block) tile of scores. Causal tiles wholly above the diagonal are
    skipped. A query with no visible key gets zeros, like ``helpers.attention``.
    """
    _check_qkv(q, k, v)
    if mask is not None:
        _check_mask(mask, q, k)
    block_size = check_positive_int("block_size", block_size)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    T, S = q.shape[-2], k.shape[-2]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if mask is not None:
        mask = mask.expand(*batch, T, S)  # a view: slicing tiles out of it copies nothing
    out = q.new_empty(*batch, T, v.shape[-1])
    for start in range(0, T, block_size):
        rows = slice(start, min(start + block_size, T))
        q_block = q[..., rows, :] * scale  # (..., Bq, Dh)
        out[..., rows, :] = _attend_query_block(q_block, k, v, mask, rows, block_size, is_causal)
    return out


# --- sliding windows and global tokens ------------------------------------------------------


def _check_window(window: int, global_tokens: int) -> tuple[int, int]:
    window = check_positive_int("window", window)
    if isinstance(global_tokens, bool) or not isinstance(global_tokens, int) or global_tokens < 0:
        raise ValueError(f"global_tokens must be an integer >= 0; got {global_tokens!r}")
    return window, global_tokens


def sliding_window_mask(
    T: int,
    window: int,
    *,
    global_tokens: int = 0,
    causal: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(T, T) boolean mask of the sliding-window pattern, True = may attend.

    Query i sees key j when |i - j| <= ``window``, or when either of them is one of the first
    ``global_tokens`` positions (global tokens see everything and are seen by everything); with
    ``causal``, only keys j <= i. A dense (T, T) tensor: for checking and for drawing, not for
    long sequences (``sliding_window_attention`` never builds it).
    """
    T = check_positive_int("T", T)
    window, global_tokens = _check_window(window, global_tokens)
    i = torch.arange(T, device=device)
    offset = i[None, :] - i[:, None]  # key - query
    visible = offset.abs() <= window
    is_global = i < global_tokens
    visible |= is_global[:, None] | is_global[None, :]
    return visible & (offset <= 0) if causal else visible


def _chunk_band(window: int, causal: bool, device) -> torch.Tensor:
    """(w, K) bool with w = window: which of a chunk's K = 2w (causal) or 3w keys each of its
    w queries sees. Query a is at position c·w + a, key b at (c - 1)·w + b, so key - query =
    b - w - a must lie in [-w, 0] (causal) or [-w, w]: a <= b <= a + w (+ w)."""
    width = 2 * window if causal else 3 * window
    a = torch.arange(window, device=device)[:, None]
    b = torch.arange(width, device=device)[None, :]
    return (b >= a) & (b <= a + width - window)


def _windows(x: torch.Tensor, window: int, width: int) -> torch.Tensor:
    """(..., N, D) padded by ``window`` before and enough after -> (..., C, width, D): chunk c
    gets rows (c - 1)·w ... (c - 1)·w + width - 1, as an overlapping view (no copy)."""
    chunks = math.ceil(x.shape[-2] / window)
    after = (chunks - 1) * window + width - window - x.shape[-2]
    padded = F.pad(x, (0, 0, window, after))
    return padded.unfold(-2, width, window).transpose(-1, -2)  # (..., C, width, D)


def sliding_window_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window: int,
    *,
    global_tokens: int = 0,
    causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """Self-attention restricted to a sliding window, computed chunk by chunk.

    q, k: (..., N, Dh), v: (..., N, Dv), one sequence of N positions. Query i attends key j
    when |i - j| <= ``window`` (and j <= i if ``causal``); the first ``global_tokens``
    positions attend to every key and every query attends to them (the Longformer pattern).
    Returns (..., N, Dv), equal to ``helpers.attention.scaled_dot_product_attention`` with
    ``sliding_window_mask`` (within float rounding).

    Queries go in chunks of w = ``window``; chunk c meets only the keys of chunks c - 1, c and
    (unless causal) c + 1, a (w × 3w) tile, so time and memory grow as N · w, not N². The
    global tokens add N · g scores for their columns and g · N for their rows.
    """
    _check_qkv(q, k, v)
    window, global_tokens = _check_window(window, global_tokens)
    N = q.shape[-2]
    if k.shape[-2] != N:
        raise ValueError(
            "sliding_window_attention is self-attention: q and k need the same length N; "
            f"got q {describe_shape(q)} and k {describe_shape(k)}"
        )
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    width = 2 * window if causal else 3 * window
    chunks = math.ceil(N / window)
    q_chunks = F.pad(q * scale, (0, 0, 0, chunks * window - N)).unflatten(-2, (chunks, window))
    scores = q_chunks @ _windows(k, window, width).transpose(-1, -2)  # (..., C, w, width)
    key_position = (torch.arange(chunks, device=q.device)[:, None] - 1) * window + torch.arange(
        width, device=q.device
    )  # (C, width): where each chunk's keys sit; outside [0, N) is padding
    usable = (key_position >= global_tokens) & (key_position < N)  # globals get their own column
    visible = _chunk_band(window, causal, q.device) & usable[:, None, :]  # (C, w, width)
    scores = scores.masked_fill(~visible, float("-inf"))
    g = global_tokens
    if g:  # every query also sees the global keys: g extra columns
        query_position = torch.arange(chunks * window, device=q.device).view(chunks, window, 1)
        global_scores = q_chunks @ k[..., None, :g, :].transpose(-1, -2)  # (..., C, w, g)
        if causal:
            key = torch.arange(g, device=q.device)
            global_scores = global_scores.masked_fill(key > query_position, float("-inf"))
        scores = torch.cat([scores, global_scores], dim=-1)
    weights = torch.softmax(scores, dim=-1)
    out = weights[..., :width] @ _windows(v, window, width)  # (..., C, w, Dv)
    if g:
        out = out + weights[..., width:] @ v[..., None, :g, :]
    out = out.flatten(-3, -2)[..., :N, :]  # (..., N, Dv)
    if g:  # the global queries see every key (every earlier one, if causal): g full rows
        rows = torch.softmax(
            _masked_causal((q[..., :g, :] * scale) @ k.transpose(-2, -1), causal), dim=-1
        )
        out = torch.cat([rows @ v, out[..., g:, :]], dim=-2)
    return out


def _masked_causal(scores: torch.Tensor, causal: bool) -> torch.Tensor:
    """(..., g, N) scores of the first g queries, keys after the query hidden if causal."""
    if not causal:
        return scores
    g, N = scores.shape[-2:]
    later = torch.arange(N, device=scores.device) > torch.arange(g, device=scores.device)[:, None]
    return scores.masked_fill(later, float("-inf"))


# --- linear attention -----------------------------------------------------------------------


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = elu(x) + 1: positive everywhere, so φ(q) · φ(k) can stand in for exp(q · k)."""
    return F.elu(x) + 1.0


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    feature_map: Callable[[torch.Tensor], torch.Tensor] = elu_feature_map,
) -> torch.Tensor:
    """Attention with the kernel φ(q) · φ(k) instead of exp(q · k / √Dh), in O(N) time.

    q: (..., T, Dh), k: (..., S, Dh), v: (..., S, Dv) -> (..., T, Dv). Output i is
    Σ_j φ(q_i)·φ(k_j) v_j / Σ_j φ(q_i)·φ(k_j). Multiplying in the other order,
    φ(Q) (φ(K)ᵀ V), never forms the (T, S) matrix: φ(K)ᵀ V is (Dh, Dv), the same for every
    query (Katharopoulos et al. 2020).
    """
    _check_qkv(q, k, v)
    phi_q, phi_k = feature_map(q), feature_map(k)
    kv = phi_k.transpose(-2, -1) @ v  # (..., Dh, Dv): Σ_j φ(k_j) v_jᵀ
    normaliser = phi_q @ phi_k.sum(dim=-2).unsqueeze(-1)  # (..., T, 1): Σ_j φ(q_i)·φ(k_j)
    return (phi_q @ kv) / normaliser


def causal_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    feature_map: Callable[[torch.Tensor], torch.Tensor] = elu_feature_map,
    chunk_size: int = 64,
) -> torch.Tensor:
    """``linear_attention`` where position i sees positions j <= i only, by running sums.

    q, k: (..., N, Dh), v: (..., N, Dv) -> (..., N, Dv). Output i is φ(q_i)ᵀ S_i / φ(q_i)·z_i
    with the running sums S_i = Σ_{j<=i} φ(k_j) v_jᵀ (Dh × Dv) and z_i = Σ_{j<=i} φ(k_j). The
    state could be updated one token at a time, S_i = S_{i-1} + φ(k_i) v_iᵀ: a recurrent
    network whose state has a fixed size. Here the sums run a chunk of ``chunk_size``
    positions at a time (a cumulative sum over the chunks' totals, plus the causal
    chunk_size × chunk_size part within each chunk), so that time and memory grow as N, and
    not all N states are stored.
    """
    _check_qkv(q, k, v)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    N = q.shape[-2]
    if k.shape[-2] != N:
        raise ValueError(
            "causal_linear_attention needs one length N for q, k and v; got "
            f"q {describe_shape(q)} and k {describe_shape(k)}"
        )
    chunks = math.ceil(N / chunk_size)

    def in_chunks(x: torch.Tensor, fill: float = 0.0) -> torch.Tensor:  # -> (..., C, c, D)
        return F.pad(x, (0, 0, 0, chunks * chunk_size - N), value=fill).unflatten(-2, (chunks, -1))

    # Padding at the end: keys with φ = 0 add nothing; queries with φ = 1 keep 0 / 0 away.
    phi_q = in_chunks(feature_map(q), fill=1.0)
    phi_k, v = in_chunks(feature_map(k)), in_chunks(v)
    totals = phi_k.transpose(-2, -1) @ v  # (..., C, Dh, Dv): each chunk's Σ φ(k_j) v_jᵀ
    states = torch.cumsum(totals, dim=-3) - totals  # the state before each chunk
    z = torch.cumsum(phi_k.sum(dim=-2), dim=-2) - phi_k.sum(dim=-2)  # (..., C, Dh)
    within = (phi_q @ phi_k.transpose(-2, -1)).tril()  # (..., C, c, c): j <= i in the chunk
    numerator = phi_q @ states + within @ v  # (..., C, c, Dv)
    normaliser = (phi_q @ z.unsqueeze(-1)) + within.sum(dim=-1, keepdim=True)  # (..., C, c, 1)
    return (numerator / normaliser).flatten(-3, -2)[..., :N, :]
