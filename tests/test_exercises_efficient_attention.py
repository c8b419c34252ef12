"""The checkers of `08_efficient_attention`: references agree with the course's helpers,
correct variants pass, and wrong ones are rejected with a hint."""

from __future__ import annotations

import pytest
import torch

from helpers.attention import scaled_dot_product_attention
from helpers.efficient_attention import sliding_window_mask
from helpers.exercises.efficient_attention import (
    check_chunk_band,
    check_merge_partials,
    check_predicted_peak,
)

# ------------------------------------------------------------ merge_partials alternatives


def merge_with_logsumexp(a, b):
    """Through log-sum-exp: log ell + m is each part's log-normaliser."""
    (m_a, ell_a, out_a), (m_b, ell_b, out_b) = a, b
    lse_a, lse_b = m_a + ell_a.log(), m_b + ell_b.log()
    lse = torch.logaddexp(lse_a, lse_b)
    m = torch.maximum(m_a, m_b)
    out = torch.exp(lse_a - lse) * out_a + torch.exp(lse_b - lse) * out_b
    return m, torch.exp(lse - m), out


def merge_unnormalised(a, b):
    """Through the unnormalised sums ell · out, as FlashAttention-2 keeps them."""
    (m_a, ell_a, out_a), (m_b, ell_b, out_b) = a, b
    m = torch.max(m_a, m_b)
    scale_a, scale_b = torch.exp(m_a - m), torch.exp(m_b - m)
    ell = scale_a * ell_a + scale_b * ell_b
    return m, ell, (scale_a * ell_a * out_a + scale_b * ell_b * out_b) / ell


@pytest.mark.parametrize("fn", [merge_with_logsumexp, merge_unnormalised])
def test_correct_merge_alternatives_pass(fn, capsys):
    check_merge_partials(fn)
    assert capsys.readouterr().out.startswith("✓ merge_partials")


def test_merged_partials_are_attention_over_all_keys():
    for case in check_merge_partials.cases:
        a, b = case.args
        m, ell, out = check_merge_partials.reference(a, b)
        assert torch.isfinite(out).all() and (ell > 0).all()
    # The first case comes from known scores: the merge equals one softmax over all six keys.
    g = torch.Generator().manual_seed(8)
    scores, values = torch.randn(3, 6, generator=g), torch.randn(6, 2, generator=g)
    m, ell, out = check_merge_partials.reference(*check_merge_partials.cases[0].args)
    assert torch.allclose(out, torch.softmax(scores, dim=-1) @ values, atol=1e-6)
    assert torch.allclose(m, scores.amax(-1, keepdim=True))
    assert torch.allclose(ell, torch.exp(scores - m).sum(-1, keepdim=True))


def test_merge_that_overflows_on_large_scores_is_rejected():
    def without_maxima(a, b):
        (m_a, ell_a, out_a), (m_b, ell_b, out_b) = a, b
        w_a, w_b = ell_a * torch.exp(m_a), ell_b * torch.exp(m_b)
        m = torch.maximum(m_a, m_b)
        return m, (w_a + w_b) * torch.exp(-m), (w_a * out_a + w_b * out_b) / (w_a + w_b)

    with pytest.raises(AssertionError, match="scores around 1000"):
        check_merge_partials(without_maxima)


# ------------------------------------------------------------ chunk_band alternatives


def band_with_loops(window):
    band = torch.zeros(window, 3 * window, dtype=torch.bool)
    for a in range(window):
        for b in range(3 * window):
            band[a, b] = abs((b - window) - a) <= window
    return band


def band_with_triangles(window):
    ones = torch.ones(window, 3 * window, dtype=torch.bool)
    return ones.triu() & ones.tril(2 * window)


@pytest.mark.parametrize("fn", [band_with_loops, band_with_triangles])
def test_correct_band_alternatives_pass(fn, capsys):
    check_chunk_band(fn)
    assert capsys.readouterr().out.startswith("✓ chunk_band")


def test_reading_the_band_off_the_course_dense_mask_is_refused():
    def band_from_the_dense_mask(window):
        return sliding_window_mask(3 * window, window)[window : 2 * window]

    assert torch.equal(band_from_the_dense_mask(4), check_chunk_band.reference(4))  # right, but
    with pytest.raises(AssertionError, match="sliding_window_mask"):
        check_chunk_band(band_from_the_dense_mask)


def test_calling_the_course_private_band_is_refused():
    from helpers.efficient_attention import _chunk_band

    def band_from_the_course(window):
        return _chunk_band(window, False, "cpu")

    with pytest.raises(AssertionError, match="_chunk_band"):
        check_chunk_band(band_from_the_course)


def test_band_returning_integers_is_rejected():
    with pytest.raises(AssertionError, match=r"expected \(3, 9\) bool, got \(3, 9\) int64"):
        check_chunk_band(lambda window: band_with_loops(window).long())


# ------------------------------------------------------------ predicted_peak_mib


def test_predicted_peak_is_what_the_course_attention_allocates():
    """The reference, 2 · H · N² float32 numbers, within 5 % of the measured peak at a smaller N
    with the same shape of computation (N = 3072 itself would allocate 288 MiB here)."""
    from helpers.efficient_attention import peak_memory

    N, H = 1024, 4
    q, k, v = (torch.randn(1, H, N, 64) for _ in range(3))
    measured = peak_memory(lambda: scaled_dot_product_attention(q, k, v))
    assert measured == pytest.approx(2 * H * N * N * 4, rel=0.05)
    assert check_predicted_peak.reference() == pytest.approx(288.0)


def test_a_prediction_within_five_percent_passes_and_a_wild_guess_fails(capsys):
    check_predicted_peak(lambda: 291.0)  # what the measurement gives, output included
    assert capsys.readouterr().out.startswith("✓ predicted_peak_mib")
    with pytest.raises(AssertionError, match="values are wrong"):
        check_predicted_peak(lambda: 1000.0)
