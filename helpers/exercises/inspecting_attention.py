"""Checkers for the exercises of `06_inspecting_attention` (PyTorch and Python sets).

- ``check_argmax_alignment(argmax_alignment)``: ``argmax_alignment(weights)`` with weights
  (T + 1, S + 1), one pair's teacher-forced cross-attention (rows: decoder inputs BOS,
  w_1 ... w_T; columns: source words, then EOS) -> (T, S) boolean link matrix, one link
  per target word, read off the query that predicts it
- ``check_alignment_error_rate(alignment_error_rate)``: ``alignment_error_rate(predicted,
  sure, possible)`` with sets of (source, target) links -> 1 - (|A∩S| + |A∩P|) / (|A| + |S|)
- ``check_predicted_baseline_aer(prediction)``: a *prediction*, made by hand before the
  notebook computes it, of the AER of the two diagonal baselines on one sentence:
  ``{"identity": ..., "proportional": ...}``

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_inspecting_attention.py`` proves it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers.exercises.checking import Case, Checker, Mistake

__all__ = [
    "check_alignment_error_rate",
    "check_argmax_alignment",
    "check_predicted_baseline_aer",
]


# --- argmax_alignment(weights) ----------------------------------------------------------------


def _one_link_per_row(scores: torch.Tensor) -> torch.Tensor:
    """(T, S) bool with True at each row's largest score."""
    return F.one_hot(scores.argmax(dim=-1), scores.shape[-1]).bool()


def _argmax_alignment(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[:-1, :-1])  # predicting queries; EOS column dropped


def _argmax_kept_eos(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[:-1])


def _argmax_before_dropping_eos(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[:-1])[:, :-1]


def _argmax_reading_queries(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[1:, :-1])


def _argmax_over_queries(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[:-1, :-1].T).T


def _argmax_all_rows(weights: torch.Tensor) -> torch.Tensor:
    return _one_link_per_row(weights[:, :-1])


def _random_attention(T: int, S: int, seed: int) -> torch.Tensor:
    """(T + 1, S + 1) rows of a softmax, peaked like a trained cross-attention head."""
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(3.0 * torch.randn(T + 1, S + 1, generator=generator), dim=-1)


_HAND_MADE = torch.tensor(
    [
        [0.10, 0.60, 0.10, 0.10, 0.10],  # <bos>: predicts word 0, looks at source word 1
        [0.10, 0.10, 0.10, 0.30, 0.40],  # word 0: predicts word 1; EOS is its largest weight
        [0.70, 0.10, 0.10, 0.05, 0.05],  # word 1: predicts word 2
        [0.10, 0.10, 0.50, 0.20, 0.10],  # word 2: predicts <eos>
    ]
)

check_argmax_alignment = Checker(
    exercise="argmax_alignment",
    library="torch",
    reference=_argmax_alignment,
    forbidden=dict.fromkeys(
        [
            "helpers.inspection.alignment.argmax_alignment",
        ],
        "keep the rows that predict the words and the source-word columns, take one argmax per row, and build the boolean matrix.",
    ),
    cases=[
        Case(
            "a hand-made (4, 5) map: 3 target words, 4 source words + EOS; the query that "
            "predicts word 1 puts most weight on EOS",
            (_HAND_MADE,),
        ),
        Case("a (8, 7) map: 7 target words, 6 source words + EOS", (_random_attention(7, 6, 0),)),
        Case("a one-word pair: a (2, 2) map", (_random_attention(1, 1, 1),)),
        Case("a (13, 21) map: 12 target words, 20 source words", (_random_attention(12, 20, 2),)),
    ],
    mistakes=[
        Mistake(
            "kept the EOS column, so the result has S + 1 columns",
            "Gold links join words: drop the last column (EOS) with weights[:, :-1] "
            "before taking the argmax.",
            _argmax_kept_eos,
        ),
        Mistake(
            "took the argmax over all S + 1 keys and dropped EOS afterwards, so a word whose "
            "strongest key is EOS gets no link",
            "Drop the EOS column first, then take the argmax over the S source words: every "
            "target word gets exactly one link.",
            _argmax_before_dropping_eos,
        ),
        Mistake(
            "read target word j off the query whose input is word j (rows 1 .. T) instead of "
            "the query that predicts it (rows 0 .. T - 1)",
            "Row j of the decoder input holds the word before word j (or <bos>) and predicts "
            "word j: keep weights[:-1], the rows <bos>, w_1, ..., w_(T-1).",
            _argmax_reading_queries,
        ),
        Mistake(
            "took the argmax over the queries (dim 0): one link per source word instead of "
            "one per target word",
            "Each row is one target word's attention over the source; take the argmax "
            "along the last dimension, argmax(dim=-1).",
            _argmax_over_queries,
        ),
        Mistake(
            "kept all T + 1 rows, including the query that predicts <eos>",
            "The last row predicts <eos>, which is not a word: keep rows 0 .. T - 1 "
            "(weights[:-1]).",
            _argmax_all_rows,
        ),
    ],
)


# --- alignment_error_rate(predicted, sure, possible) ------------------------------------------


def _aer_variant(*, agreement=None, denominator=None, complement: bool = True):
    """AER built from parts; the defaults give the correct formula, and each mistake below
    swaps exactly one part for its wrong version."""

    def alignment_error_rate(predicted: set, sure: set, possible: set) -> float:
        A, S, P = set(predicted), set(sure), set(possible)
        hits = len(A & S) + len(A & P) if agreement is None else agreement(A, S, P)
        total = len(A) + len(S) if denominator is None else denominator(A, S, P)
        return 1.0 - hits / total if complement else hits / total

    return alignment_error_rate


_aer = _aer_variant()
_aer_ignores_possible = _aer_variant(agreement=lambda A, S, P: 2 * len(A & S))
_aer_possible_only = _aer_variant(agreement=lambda A, S, P: len(A & S) + len(A & (P - S)))
_aer_denominator_possible = _aer_variant(denominator=lambda A, S, P: len(A) + len(P))
_aer_not_complemented = _aer_variant(complement=False)


def _one_minus_recall(predicted: set, sure: set, possible: set) -> float:
    return 1.0 - len(set(predicted) & set(sure)) / len(sure)


def _one_minus_precision(predicted: set, sure: set, possible: set) -> float:
    return 1.0 - len(set(predicted) & set(possible)) / len(predicted)


_SURE = {(0, 0), (2, 1), (3, 2)}  # (source, target)

check_alignment_error_rate = Checker(
    exercise="alignment_error_rate",
    library="torch",
    reference=_aer,
    forbidden=dict.fromkeys(
        [
            "helpers.inspection.alignment.alignment_counts",
            "helpers.inspection.alignment.alignment_scores",
        ],
        "count |A ∩ S|, |A ∩ P|, |A| and |S| with Python's set operations and apply the formula.",
    ),
    cases=[
        Case(
            "A = {(0,0), (1,1), (3,2), (3,1)}, S = {(0,0), (2,1), (3,2)}, P = S ∪ {(1,1)}",
            ({(0, 0), (1, 1), (3, 2), (3, 1)}, _SURE, _SURE | {(1, 1)}),
        ),
        Case(
            "sure links only (P = S): A = {(0,0), (1,1), (3,2)}, S = P = {(0,0), (2,1), (3,2)}",
            ({(0, 0), (1, 1), (3, 2)}, _SURE, _SURE),
        ),
        Case(
            "A = S with extra possible links: the AER is 0",
            (set(_SURE), _SURE, _SURE | {(1, 1), (4, 3)}),
        ),
        Case(
            "a longer sentence: 9 of 10 sure links predicted, one predicted link possible only",
            (
                {(i, i) for i in range(9)} | {(9, 8)},
                {(i, i) for i in range(10)},
                {(i, i) for i in range(10)} | {(9, 8)},
            ),
        ),
    ],
    mistakes=[
        Mistake(
            "counted |A ∩ S| twice and ignored the possible links",
            "The numerator is |A ∩ S| + |A ∩ P|: a predicted link that is only possible "
            "still earns credit (it counts for precision, not for recall).",
            _aer_ignores_possible,
        ),
        Mistake(
            "used the possible-only links P − S instead of all of P",
            "Och & Ney's P includes the sure links (S ⊆ P): use len(A & P), not len(A & (P - S)).",
            _aer_possible_only,
        ),
        Mistake(
            "divided by |A| + |P| instead of |A| + |S|",
            "The denominator is |A| + |S|: recall is measured against the sure links only.",
            _aer_denominator_possible,
        ),
        Mistake(
            "returned the agreement (|A ∩ S| + |A ∩ P|) / (|A| + |S|) instead of 1 minus it",
            "AER is an error rate: 0 for a perfect alignment. Return 1 - (...) / (...).",
            _aer_not_complemented,
        ),
        Mistake(
            "returned 1 − recall, |A ∩ S| / |S|, which ignores wrong predicted links",
            "AER combines precision and recall: 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|).",
            _one_minus_recall,
        ),
        Mistake(
            "returned 1 − precision, |A ∩ P| / |A|, which ignores missed sure links",
            "AER combines precision and recall: 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|).",
            _one_minus_precision,
        ),
    ],
)


# --- predicted_baseline_aer: the diagonal baselines on one sentence, by hand -------------------

# The notebook's first example pair (test split): 10 English and 9 German words.
BASELINE_SOURCE = "A father has visited a bridge in the lake ."
BASELINE_TARGET = "Ein Vater hat eine Brücke im See besucht ."
BASELINE_GOLD = frozenset(
    {(0, 0), (1, 1), (2, 2), (3, 7), (4, 3), (5, 4), (6, 5), (7, 5), (8, 6), (9, 8)}
)  # (source, target), all sure
_S, _T = len(BASELINE_SOURCE.split()), len(BASELINE_TARGET.split())


def _identity_links(S: int, T: int) -> set:
    return {(min(j, S - 1), j) for j in range(T)}


def _proportional_links(S: int, T: int, half: float = 0.5) -> set:
    return {(int((j + half) * S / T), j) for j in range(T)}


def _baseline(name: str) -> set:
    if name == "identity":
        return _identity_links(_S, _T)
    if name == "proportional":
        return _proportional_links(_S, _T)
    raise ValueError(f"the baselines are 'identity' and 'proportional'; got {name!r}")


def _predicted_baseline_aer(name: str) -> float:
    links = _baseline(name)
    return _aer(links, BASELINE_GOLD, BASELINE_GOLD)


def _one_minus_precision_of(name: str) -> float:
    links = _baseline(name)
    return 1.0 - len(links & BASELINE_GOLD) / len(links)


def _one_minus_recall_of(name: str) -> float:
    return 1.0 - len(_baseline(name) & BASELINE_GOLD) / len(BASELINE_GOLD)


def _one_link_per_source_word(name: str) -> float:
    """The diagonals drawn from the source side: each source word i linked to one target word."""
    if name == "identity":
        links = {(i, min(i, _T - 1)) for i in range(_S)}
    else:
        links = {(i, int((i + 0.5) * _T / _S)) for i in range(_S)}
    return _aer(links, BASELINE_GOLD, BASELINE_GOLD)


def _proportional_without_the_half(name: str) -> float:
    links = _proportional_links(_S, _T, half=0.0) if name == "proportional" else _baseline(name)
    return _aer(links, BASELINE_GOLD, BASELINE_GOLD)


class _PredictedNumbers(Checker):
    """Checks a prediction written as ``{case name: number}`` (or a function of the name)."""

    def __call__(self, prediction) -> None:
        if callable(prediction):
            super().__call__(prediction)
            return
        names = [case.args[0] for case in self.cases]
        if not isinstance(prediction, dict) or sorted(prediction) != sorted(names):
            raise TypeError(
                f"write your prediction as a dict with the keys {names}, each a number "
                f"between 0 and 1; got {prediction!r}"
            )
        super().__call__(lambda name: float(prediction[name]))


check_predicted_baseline_aer = _PredictedNumbers(
    exercise="predicted_baseline_aer",
    library="torch",
    reference=_predicted_baseline_aer,
    cases=[
        Case("the identity diagonal, target word j linked to source word j", ("identity",)),
        Case(
            "the proportional diagonal, target word j linked to source word floor((j + 1/2) S / T)",
            ("proportional",),
        ),
    ],
    mistakes=[
        Mistake(
            "1 − precision: the share of the baseline's links that are wrong",
            "AER also counts the gold links the baseline misses: 1 - (|A ∩ S| + |A ∩ P|) / "
            "(|A| + |S|), with |A| = 9 links predicted and |S| = 10 gold links.",
            _one_minus_precision_of,
        ),
        Mistake(
            "1 − recall: the share of the gold links the baseline misses",
            "AER also counts the baseline's wrong links: 1 - (|A ∩ S| + |A ∩ P|) / "
            "(|A| + |S|), with |A| = 9 links predicted and |S| = 10 gold links.",
            _one_minus_recall_of,
        ),
        Mistake(
            "drew the diagonal from the source side: one link per source word",
            "The baselines give every *target* word j one link, like the argmax alignment: "
            "9 links for the 9 German words, not 10.",
            _one_link_per_source_word,
        ),
        Mistake(
            "used floor(j S / T) for the proportional diagonal, without the 1/2",
            "Take the middle of target word j, j + 1/2, to its relative place in the source: "
            "i = floor((j + 1/2) · 10 / 9). Word 4 (Brücke) then links to source word 5.",
            _proportional_without_the_half,
        ),
    ],
    atol=0.01,
    rtol=0.0,
)
