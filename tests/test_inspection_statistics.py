"""helpers.inspection.statistics: bootstrap intervals over sentences, and BLEU from counts."""

from __future__ import annotations

import pytest
import torch

from helpers.inspection import (
    AlignmentCounts,
    Interval,
    bleu_from_statistics,
    bleu_statistics,
    bootstrap_interval,
    paired_bootstrap_interval,
)
from helpers.translation.evaluation import corpus_scores

REFERENCES = [
    "Der Hund schläft im Garten.",
    "Die Katze hat den Fisch gegessen.",
    "Wir haben keinen Stuhl gebaut.",
    "Braucht die kluge Mutter die Tasche?",
]
HYPOTHESES = [
    "Der Hund schläft im Garten.",
    "Die Katze hat einen Fisch gegessen.",
    "Wir haben keinen Tisch gebaut.",
    "Braucht die Mutter die Tasche?",
]


def _aer(counts: torch.Tensor) -> torch.Tensor:
    return AlignmentCounts.from_tensor(counts).aer


def test_bleu_from_summed_statistics_is_sacrebleus_corpus_bleu():
    stats = bleu_statistics(HYPOTHESES, REFERENCES)
    assert stats.shape == (4, 10) and stats.dtype == torch.long
    expected = corpus_scores(HYPOTHESES, REFERENCES).bleu
    assert float(bleu_from_statistics(stats.sum(0))) == pytest.approx(expected)
    assert float(bleu_from_statistics(stats[:1].sum(0))) == pytest.approx(100.0)
    both = bleu_from_statistics(torch.stack([stats.sum(0), stats[:1].sum(0)]))
    assert both.shape == (2,)
    with pytest.raises(ValueError, match="one hypothesis per reference"):
        bleu_statistics(HYPOTHESES[:2], REFERENCES)
    with pytest.raises(ValueError, match="last dimension of 10"):
        bleu_from_statistics(stats[:, :4])


def test_a_bootstrap_interval_holds_the_estimate_and_is_reproducible():
    generator = torch.Generator().manual_seed(0)
    predicted = torch.full((200,), 10)
    hits = torch.randint(5, 11, (200,), generator=generator)
    stats = torch.stack([predicted, predicted, hits, hits], dim=1)  # (N, 4) counts
    interval = bootstrap_interval(stats, _aer, resamples=500)
    assert interval.estimate == pytest.approx(1 - hits.sum().item() / 2000)
    assert interval.low < interval.estimate < interval.high < 1
    assert interval == bootstrap_interval(stats, _aer, resamples=500)  # seeded
    assert interval != bootstrap_interval(stats, _aer, resamples=500, seed=1)
    narrow = bootstrap_interval(stats, _aer, resamples=500, confidence=0.5)
    assert interval.low < narrow.low < narrow.high < interval.high
    same = bootstrap_interval(torch.tensor([[4, 4, 3, 3]] * 5), _aer)
    assert same.low == same.high == pytest.approx(0.25)  # every resample is alike
    with pytest.raises(ValueError, match=r"stats must be \(N, K\)"):
        bootstrap_interval(stats[0], _aer)
    with pytest.raises(ValueError, match=r"confidence must lie in \(0, 1\)"):
        bootstrap_interval(stats, _aer, confidence=95)


def test_a_paired_interval_is_about_the_difference_on_the_same_sentences():
    intact = bleu_statistics(HYPOTHESES * 25, REFERENCES * 25)
    unchanged = paired_bootstrap_interval(intact, intact, bleu_from_statistics, resamples=200)
    assert unchanged == Interval(0.0, 0.0, 0.0, 0.95)
    worse = list(HYPOTHESES * 25)
    for n in range(0, 100, 10):
        worse[n] = "Katze"  # ten sentences broken
    ablated = bleu_statistics(worse, REFERENCES * 25)
    change = paired_bootstrap_interval(intact, ablated, bleu_from_statistics, resamples=200)
    expected = (
        corpus_scores(worse, REFERENCES * 25).bleu
        - corpus_scores(HYPOTHESES * 25, REFERENCES * 25).bleu
    )
    assert change.estimate == pytest.approx(expected)
    assert change.high < 0 and change.excludes(0.0) and not unchanged.excludes(0.0)
    assert str(change).startswith(f"{expected:+.2f} [")
    with pytest.raises(ValueError, match="must score the same sentences"):
        paired_bootstrap_interval(intact, ablated[:5], bleu_from_statistics)
