"""How sure a corpus score is: bootstrap intervals, as derived in `06_inspecting_attention`.

A corpus score such as AER or BLEU is computed from counts summed over sentences. The
bootstrap (Efron & Tibshirani 1993; for translation, Koehn 2004) asks how much it would move
on another sample of sentences like these: draw the N sentences again with replacement, sum
their counts, score, and repeat; the middle 95 % of the scores is the interval.
``bootstrap_interval`` does this for one system; ``paired_bootstrap_interval`` for the
*difference* between two systems on the same sentences (the same resamples for both), which
is what an ablation asks. ``bleu_statistics`` and ``bleu_from_statistics`` give BLEU in this
form, with sacrebleu's own counting and formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from sacrebleu.metrics import BLEU

from helpers._utils import check_positive_int, describe_shape

__all__ = [
    "Interval",
    "bleu_from_statistics",
    "bleu_statistics",
    "bootstrap_interval",
    "paired_bootstrap_interval",
]

Score = Callable[[torch.Tensor], torch.Tensor]  # summed counts (R, K) -> scores (R,)


@dataclass(frozen=True)
class Interval:
    """A score on the whole sample and its bootstrap percentile interval [low, high]."""

    estimate: float
    low: float
    high: float
    confidence: float

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval (e.g. 0 for a difference)."""
        return not self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"


def _resample_sums(
    stats: torch.Tensor, resamples: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices (R, N), sums (R, K)) for R resamples of the N rows of ``stats`` (N, K)."""
    if stats.ndim != 2 or stats.shape[0] == 0:
        raise ValueError(
            f"stats must be (N, K): one row of counts per sentence, N >= 1; got "
            f"{describe_shape(stats)}"
        )
    check_positive_int("resamples", resamples)
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, stats.shape[0], (resamples, stats.shape[0]), generator=generator)
    return indices, stats.double()[indices].sum(dim=1)


def _interval(estimate: float, samples: torch.Tensor, confidence: float) -> Interval:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    tail = (1.0 - confidence) / 2
    low, high = torch.quantile(samples.double(), torch.tensor([tail, 1.0 - tail]).double())
    return Interval(float(estimate), float(low), float(high), confidence)


def bootstrap_interval(
    stats: torch.Tensor,
    score: Score,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of a corpus score.

    ``stats`` (N, K) holds K counts per sentence; ``score`` turns summed counts (R, K) into
    R scores (e.g. ``lambda c: AlignmentCounts.from_tensor(c).aer``). Resamples the sentences
    ``resamples`` times with a seeded generator, so the interval is reproducible.
    """
    _, sums = _resample_sums(stats, resamples, seed)
    estimate = score(stats.double().sum(dim=0, keepdim=True))[0]
    return _interval(float(estimate), score(sums), confidence)


def paired_bootstrap_interval(
    stats_a: torch.Tensor,
    stats_b: torch.Tensor,
    score: Score,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Paired bootstrap interval of score(b) - score(a) on the same N sentences.

    Row n of ``stats_a`` and ``stats_b`` (N, K) must be the same sentence, scored by two
    systems (e.g. the intact and an ablated model). Each resample draws the same sentences
    for both, so what the sentences share (easy or hard ones) cancels out of the difference.
    """
    if stats_a.shape != stats_b.shape:
        raise ValueError(
            "stats_a and stats_b must score the same sentences: equal (N, K) shapes; got "
            f"{describe_shape(stats_a)} and {describe_shape(stats_b)}"
        )
    both = torch.cat([stats_a, stats_b], dim=1)  # (N, 2K): resample rows together
    K = stats_a.shape[1]

    def difference(sums: torch.Tensor) -> torch.Tensor:
        return score(sums[:, K:]) - score(sums[:, :K])

    _, sums = _resample_sums(both, resamples, seed)
    estimate = difference(both.double().sum(dim=0, keepdim=True))[0]
    return _interval(float(estimate), difference(sums), confidence)


def bleu_statistics(hypotheses: Sequence[str], references: Sequence[str]) -> torch.Tensor:
    """Per-sentence BLEU counts, (N, 10): hypothesis and reference length, then the matched
    and the total n-grams for n = 1 .. 4, counted by sacrebleu (13a tokenisation)."""
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(
            "need one hypothesis per reference, at least one; got "
            f"{len(hypotheses)} hypotheses and {len(references)} references"
        )
    rows = BLEU()._extract_corpus_statistics(list(hypotheses), [list(references)])  # noqa: SLF001
    return torch.tensor(rows, dtype=torch.long)


def bleu_from_statistics(sums: torch.Tensor) -> torch.Tensor:
    """Corpus BLEU (0–100) from summed ``bleu_statistics``: (..., 10) -> (...).

    sacrebleu's formula with its defaults (exponential smoothing), so that the counts of a
    whole corpus give exactly ``corpus_scores(...).bleu``.
    """
    if sums.shape[-1:] != (10,):
        raise ValueError(f"sums must have a last dimension of 10; got {describe_shape(sums)}")
    bleu = BLEU()
    flat = sums.reshape(-1, 10).round().long().tolist()
    scores = [bleu._compute_score_from_stats(row).score for row in flat]  # noqa: SLF001
    return torch.tensor(scores, dtype=torch.float64).reshape(sums.shape[:-1])
