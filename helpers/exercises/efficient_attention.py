"""Checkers for the exercises of `08_efficient_attention` (PyTorch).

- ``check_merge_partials(merge_partials)``: ``merge_partials(a, b)`` with a = (m, ell, out) and
  b likewise, the softmax attention of the same queries over two disjoint sets of keys: m
  (..., T, 1) the largest score, ell (..., T, 1) the sum of exp(score - m), out (..., T, Dv) the
  attention output over that set alone -> the (m, ell, out) of the attention over both sets
- ``check_chunk_band(chunk_band)``: ``chunk_band(window)`` -> (w, 3w) bool with w = window:
  which keys of chunks c - 1, c, c + 1 (key b at position (c - 1)·w + b) each query of chunk c
  (query a at position c·w + a) sees under the sliding window |key - query| <= w
- ``check_predicted_peak(predicted_peak_mib)``: ``predicted_peak_mib()`` -> the peak memory in
  MiB of the course's attention at N = 3072 (B = 1, H = 4, Dh = 64, float32), predicted before
  it is measured; within 5 %

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_efficient_attention.py`` proves it.
"""

from __future__ import annotations

import torch

from helpers.exercises.checking import Case, Checker, Mistake

__all__ = ["check_chunk_band", "check_merge_partials", "check_predicted_peak"]


# --- merge_partials(a, b) ---------------------------------------------------------------------


def _merge_variant(*, common_max: bool = True, sign: int = 1, rescale_ell: bool = True,
                   rescale_out: bool = True, divide: bool = True):  # fmt: skip
    """The merge built from parts; the defaults give the correct one, and each mistake below
    swaps exactly one part for its wrong version."""

    def merge_partials(a, b):
        (m_a, ell_a, out_a), (m_b, ell_b, out_b) = a, b
        m = torch.maximum(m_a, m_b) if common_max else m_a
        # exp(m_part - m) <= 1 brings each part's terms to the common maximum m.
        w_a, w_b = (torch.exp(sign * (m_part - m)) for m_part in (m_a, m_b))
        ell = ell_a * w_a + ell_b * w_b if rescale_ell else ell_a + ell_b
        weight_a, weight_b = (ell_a * w_a, ell_b * w_b) if rescale_out else (ell_a, ell_b)
        total = weight_a * out_a + weight_b * out_b
        out = total / (weight_a + weight_b) if divide else total
        return m, ell, out

    return merge_partials


_merge_partials = _merge_variant()


def _averaged_outputs(a, b):
    (m_a, ell_a, out_a), (m_b, ell_b, out_b) = a, b
    return torch.maximum(m_a, m_b), ell_a + ell_b, (out_a + out_b) / 2


def _partial(scores: torch.Tensor, values: torch.Tensor):
    """(m, ell, out) of softmax attention with these scores (..., T, S) over values (..., S, Dv);
    a row whose scores are all -inf gives (-inf, 0, 0)."""
    m = scores.amax(dim=-1, keepdim=True)
    e = torch.exp(scores - m.masked_fill(m == float("-inf"), 0.0))
    ell = e.sum(dim=-1, keepdim=True)
    return m, ell, (e @ values) / torch.where(ell > 0, ell, torch.ones_like(ell))


def _split_case(description: str, scores: torch.Tensor, values: torch.Tensor, at: int) -> Case:
    """The two partials of attention over keys [:at] and [at:]."""
    a = _partial(scores[..., :at], values[..., :at, :])
    b = _partial(scores[..., at:], values[..., at:, :])
    return Case(description, (a, b))


_g = torch.Generator().manual_seed(8)
_scores = torch.randn(3, 6, generator=_g)
_values = torch.randn(6, 2, generator=_g)
_far_apart = _scores.clone()
_far_apart[:, 3:] += torch.tensor(
    [[30.0], [-30.0], [5.0]]
)  # the second set scores far higher or lower
_masked = _scores.clone()
_masked[1, :2] = float("-inf")  # query 1 sees none of the first set's keys

check_merge_partials = Checker(
    exercise="merge_partials",
    library="torch",
    reference=_merge_partials,
    cases=[
        _split_case("3 queries, 6 keys split 3 + 3, scores of similar size", _scores, _values, 3),
        _split_case(
            "the same, but the second set's scores shifted by +30, -30 and +5 per query",
            _far_apart,
            _values,
            3,
        ),
        _split_case(
            "3 queries, 6 keys split 2 + 4; query 1 sees no key of the first set",
            _masked,
            _values,
            2,
        ),  # fmt: skip
        _split_case(
            "a (2, 2) batch of heads: 4 queries, 10 keys split 7 + 3, scores around 1000",
            1000.0 + 3.0 * torch.randn(2, 2, 4, 10, generator=_g),
            torch.randn(2, 2, 10, 3, generator=_g),
            7,
        ),
    ],
    mistakes=[
        Mistake(
            "averaged the two outputs, (out_a + out_b) / 2, whatever their normalisers",
            "Each part's output is an average over its own keys; the merged one weighs the parts "
            "by how much softmax mass each holds: ell_a · exp(m_a - m) against ell_b · exp(m_b - m).",
            _averaged_outputs,
        ),
        Mistake(
            "weighted the outputs by ell_a and ell_b without bringing them to a common maximum",
            "ell_a sums exp(score - m_a), ell_b sums exp(score - m_b): different units. Multiply "
            "each by exp(m_part - m) with m = max(m_a, m_b) before comparing or adding them.",
            _merge_variant(rescale_out=False, rescale_ell=False),
        ),
        Mistake(
            "rescaled the outputs' weights but returned ell = ell_a + ell_b",
            "The merged normaliser is a sum of exp(score - m) with the new m: "
            "ell = ell_a · exp(m_a - m) + ell_b · exp(m_b - m).",
            _merge_variant(rescale_ell=False),
        ),
        Mistake(
            "rescaled by exp(m - m_part), the sign flipped",
            "The part with the smaller maximum must shrink: its factor is exp(m_part - m) <= 1, "
            "and the part that holds the maximum keeps factor 1.",
            _merge_variant(sign=-1),
        ),
        Mistake(
            "did not divide by the merged normaliser, so out is not an average",
            "out = (w_a · out_a + w_b · out_b) / (w_a + w_b) with w_part = ell_part · exp(m_part - m).",
            _merge_variant(divide=False),
        ),
        Mistake(
            "kept the first part's maximum, m = m_a, instead of the larger of the two",
            "m must be max(m_a, m_b): then every exp(m_part - m) is at most 1 and cannot overflow, "
            "and the next merge can rely on m being the largest score so far.",
            _merge_variant(common_max=False),
        ),
    ],
)


# --- chunk_band(window) -----------------------------------------------------------------------


def _band(window: int, low, high, *, shape=None) -> torch.Tensor:
    """(w, 3w) bool: True where low(a) <= b <= high(a) for query a, key b."""
    rows, cols = shape or (window, 3 * window)
    a = torch.arange(rows)[:, None]
    b = torch.arange(cols)[None, :]
    return (b >= low(a, window)) & (b <= high(a, window))


def _chunk_band(window: int) -> torch.Tensor:
    # key - query = (b - w) - a must lie in [-w, w]
    return _band(window, lambda a, w: a, lambda a, w: a + 2 * w)


def _band_without_offset(window: int) -> torch.Tensor:
    return _band(window, lambda a, w: a - w, lambda a, w: a + w)


def _band_strict(window: int) -> torch.Tensor:
    return _band(window, lambda a, w: a + 1, lambda a, w: a + 2 * w - 1)


def _band_causal(window: int) -> torch.Tensor:
    return _band(window, lambda a, w: a, lambda a, w: a + window)


def _band_transposed(window: int) -> torch.Tensor:
    return _chunk_band(window).T


def _band_own_chunk(window: int) -> torch.Tensor:
    return _band(window, lambda a, w: a - w, lambda a, w: a + w, shape=(window, window))


check_chunk_band = Checker(
    exercise="chunk_band",
    library="torch",
    reference=_chunk_band,
    cases=[
        Case("window = 3: a (3, 9) band", (3,)),
        Case("window = 1: a (1, 3) band", (1,)),
        Case("window = 2: a (2, 6) band", (2,)),
        Case("window = 5: a (5, 15) band", (5,)),
    ],
    mistakes=[
        Mistake(
            "compared key index b with query index a directly, |b - a| <= w, forgetting that "
            "key 0 is the first key of the previous chunk",
            "Key b sits at position (c - 1)·w + b and query a at c·w + a, so their distance is "
            "b - w - a, not b - a.",
            _band_without_offset,
        ),
        Mistake(
            "used < instead of <=, so the keys exactly w away are left out",
            "The window includes its ends: |key - query| <= w, 2w + 1 keys per query.",
            _band_strict,
        ),
        Mistake(
            "kept only the keys up to the query (the causal band)",
            "The bidirectional window reaches w keys past the query too: b - w - a <= w.",
            _band_causal,
        ),
        Mistake(
            "returned the band transposed, (3w, w)",
            "Rows are the chunk's w queries, columns the 3w keys of chunks c - 1, c, c + 1.",
            _band_transposed,
        ),
        Mistake(
            "used the chunk's own w keys only, a (w, w) band",
            "A query near the chunk's edge has neighbours in the previous and next chunks: the "
            "band spans the 3w keys of chunks c - 1, c and c + 1.",
            _band_own_chunk,
        ),
    ],
    forbidden=dict.fromkeys(
        (
            "helpers.efficient_attention.sliding_window_mask",
            "helpers.efficient_attention._chunk_band",
        ),
        "work out the offsets: key b sits at position (c - 1)·w + b and query a at c·w + a.",
    ),
)


# --- predicted_peak_mib() ---------------------------------------------------------------------

_N, _HEADS, _BYTES = 3072, 4, 4  # B = 1, float32


def _predicted_peak_mib() -> float:
    # Two (H, N, N) matrices live at once, the scores and the weights, 4 bytes per number.
    return 2 * _HEADS * _N * _N * _BYTES / 2**20


check_predicted_peak = Checker(
    exercise="predicted_peak_mib",
    library="torch",
    reference=_predicted_peak_mib,
    cases=[Case("the course's attention at N = 3072, B = 1, H = 4, Dh = 64, float32 (MiB)")],
    mistakes=[
        Mistake(
            "scaled the N = 1024 figure by 3, as if memory grew linearly with N",
            "The weights are an N × N matrix: three times the length is nine times the numbers.",
            lambda: _predicted_peak_mib() / 3,
        ),
        Mistake(
            "counted one N × N matrix per head, but two are alive at once",
            "The scores q kᵀ and the softmax weights are separate tensors, and both exist when "
            "the softmax finishes: 2 · H · N² numbers.",
            lambda: _predicted_peak_mib() / 2,
        ),
        Mistake(
            "forgot the heads: every one of the H = 4 heads has its own N × N matrices",
            "Multiply by H: the scores tensor is (B, H, N, N).",
            lambda: _predicted_peak_mib() / _HEADS,
        ),
        Mistake(
            "counted 8 bytes per number; float32 takes 4",
            "torch.float32 is 4 bytes per number (float64 would be 8).",
            lambda: _predicted_peak_mib() * 2,
        ),
    ],
    atol=0.0,
    rtol=0.05,
)
