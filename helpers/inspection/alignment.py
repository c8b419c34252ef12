"""Cross-attention as word alignment, and its scores, as derived in `06_inspecting_attention`.

``cross_attention_maps`` runs every sentence pair teacher-forced and ``over_words`` reads the
weights between its target and source words; ``argmax_alignment`` and
``threshold_alignment`` turn weights into links, and ``alignment_counts`` /
``alignment_scores`` score links against the gold alignment with precision, recall and the
alignment error rate (AER) of Och & Ney (2003).

Shapes: L layers, H heads, S source length, T target length. A *link matrix* is a boolean
(T, S) tensor over words (``helpers.translation.tokenization.tokenize`` tokens, punctuation
included): ``links[j, i]`` is True when target word j is aligned with source word i.
(Pharaoh pairs ``i-j``, as in ``Example.alignment``, list the same links as (source,
target).)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from helpers._utils import check_positive_int, describe_shape
from helpers.inspection.recording import attention_maps
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.batching import collate, encode_pairs
from helpers.translation.data import Example
from helpers.translation.tokenization import Tokenizer, tokenize

__all__ = [
    "AlignmentCounts",
    "alignment_counts",
    "alignment_links",
    "alignment_matrix",
    "alignment_scores",
    "argmax_alignment",
    "cross_attention_maps",
    "over_words",
    "threshold_alignment",
]

_QUERIES = ("predicting", "reading")


def over_words(
    weights: torch.Tensor, query: Literal["predicting", "reading"] = "predicting"
) -> torch.Tensor:
    """Cross-attention between target and source words: (..., T + 1, S + 1) -> (..., T, S).

    ``weights`` is one pair's teacher-forced cross-attention without padding: its rows are
    the decoder inputs BOS, w_0 ... w_(T-1), its columns the source words and EOS. The EOS column
    is dropped. Target word j is read off decoder position j with ``query="predicting"``
    (the query that predicts word j: its input is the word before, or BOS), or off position
    j + 1 with ``query="reading"`` (whose input is word j itself).
    """
    if query not in _QUERIES:
        raise ValueError(f"query must be one of {_QUERIES}; got {query!r}")
    if weights.ndim < 2 or min(weights.shape[-2:]) < 2:
        raise ValueError(
            "weights must have shape (..., T + 1, S + 1) with T, S >= 1 (BOS + T target words, "
            f"S source words + EOS); got {describe_shape(weights)}"
        )
    rows = slice(None, -1) if query == "predicting" else slice(1, None)
    return weights[..., rows, :-1]


def _check_one_id_per_word(tokenizer: Tokenizer, text: str, side: str) -> None:
    words, ids = len(tokenize(text)), len(tokenizer.encode(text))
    if ids != words:
        raise ValueError(
            f"gold alignments are over words, so the {side} tokenizer must give one id per "
            f"word (a WordVocab); it gave {ids} ids for the {words} words of {text!r}"
        )


def cross_attention_maps(
    model: Seq2SeqTransformer,
    examples: Sequence[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    batch_size: int = 256,
) -> list[torch.Tensor]:
    """Teacher-forced cross-attention of every pair: one (L, H, T + 1, S + 1) tensor each.

    Each pair runs through the model as in training: source ids + EOS (S + 1 keys), decoder
    input BOS + reference ids (T + 1 queries). Batches group similar lengths; the padding is
    cut off again, so ``over_words`` can pick the word rows and columns. Needs word-level
    tokenizers (``WordVocab``): one id per word is what the gold alignment links. Only the
    cross-attention takes the course's path; the rest of the model stays as it is.
    """
    check_positive_int("batch_size", batch_size)
    for example in examples:
        _check_one_id_per_word(src_tokenizer, example.src, "source")
        _check_one_id_per_word(tgt_tokenizer, example.tgt, "target")
    pairs, _ = encode_pairs(examples, src_tokenizer, tgt_tokenizer)
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    maps: list[torch.Tensor | None] = [None] * len(pairs)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = collate([tuple(map(torch.tensor, pairs[i])) for i in chosen], src_tokenizer.pad_id)
        recorded = attention_maps(model, batch.src, batch.tgt_in, parts=("cross",))
        cross = torch.stack(recorded.cross, dim=1)  # (B, L, H, T_in, S_in), padded
        for row, i in enumerate(chosen):
            S, T = len(pairs[i][0]), len(pairs[i][1]) - 1  # S + 1 keys, T + 1 queries
            maps[i] = cross[row, :, :, :T, :S].clone()
    return maps


def alignment_matrix(links: Iterable[tuple[int, int]], src_len: int, tgt_len: int) -> torch.Tensor:
    """Pharaoh (source i, target j) pairs -> boolean (T, S) link matrix, True at [j, i]."""
    matrix = torch.zeros(tgt_len, src_len, dtype=torch.bool)
    for i, j in links:
        if not (0 <= i < src_len and 0 <= j < tgt_len):
            raise ValueError(
                f"link (source {i}, target {j}) lies outside a pair of {src_len} source and "
                f"{tgt_len} target words"
            )
        matrix[j, i] = True
    return matrix


def alignment_links(matrix: torch.Tensor) -> list[tuple[int, int]]:
    """Boolean (T, S) link matrix -> sorted Pharaoh (source i, target j) pairs."""
    if matrix.ndim != 2 or matrix.dtype != torch.bool:
        raise ValueError(
            f"matrix must be a boolean (T, S) link matrix; got {matrix.dtype} of shape "
            f"{describe_shape(matrix)}"
        )
    return sorted((i, j) for j, i in matrix.nonzero().tolist())


def argmax_alignment(weights: torch.Tensor) -> torch.Tensor:
    """One link per target word, to the source word it attends to most: (..., T, S) -> bool.

    Ties go to the first source word. Works on any leading dimensions, e.g. (L, H, T, S)
    for every layer and head at once.
    """
    if weights.ndim < 2 or 0 in weights.shape[-2:]:
        raise ValueError(
            f"weights must have shape (..., T, S) with T, S >= 1; got {describe_shape(weights)}"
        )
    best = weights.argmax(dim=-1, keepdim=True)  # (..., T, 1)
    return torch.zeros_like(weights, dtype=torch.bool).scatter_(-1, best, True)


def threshold_alignment(weights: torch.Tensor, threshold: float) -> torch.Tensor:
    """Every link whose weight is at least ``threshold``: (..., T, S) -> bool (..., T, S).

    A target word may get several links or none.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold}")
    return weights >= threshold


@dataclass(frozen=True)
class AlignmentCounts:
    """Link counts behind precision, recall and AER; ``+`` adds them over sentences.

    Each field is an integer tensor, 0-d for one alignment or e.g. (L, H) for every layer and
    head: ``predicted`` = |A|, ``sure`` = |S|, ``sure_hits`` = |A ∩ S|, ``possible_hits`` =
    |A ∩ P| (sure links are possible too, S ⊆ P; with sure links only, P = S).

    - precision = |A ∩ P| / |A|, recall = |A ∩ S| / |S|,
    - AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|) (Och & Ney 2003); with P = S it is
      1 - F1 of the links.

    Corpus scores come from summed counts, not from averaging per-sentence scores, so that
    long sentences weigh by their number of links. A score whose denominator is 0 is
    undefined and raises ValueError.
    """

    predicted: torch.Tensor
    sure: torch.Tensor
    sure_hits: torch.Tensor
    possible_hits: torch.Tensor

    def __add__(self, other: AlignmentCounts) -> AlignmentCounts:
        if not isinstance(other, AlignmentCounts):
            return NotImplemented
        return AlignmentCounts(
            self.predicted + other.predicted,
            self.sure + other.sure,
            self.sure_hits + other.sure_hits,
            self.possible_hits + other.possible_hits,
        )

    @staticmethod
    def _ratio(numerator: torch.Tensor, denominator: torch.Tensor, what: str) -> torch.Tensor:
        empty = denominator == 0
        if empty.any():
            where = (
                "" if empty.ndim == 0 else f" (at {int(empty.sum())} of {empty.numel()} entries)"
            )
            raise ValueError(f"{what}{where}")
        return numerator.double() / denominator.double()

    @property
    def precision(self) -> torch.Tensor:
        return self._ratio(
            self.possible_hits,
            self.predicted,
            "precision is undefined without predicted links (|A| = 0)",
        )

    @property
    def recall(self) -> torch.Tensor:
        return self._ratio(
            self.sure_hits, self.sure, "recall is undefined without sure gold links (|S| = 0)"
        )

    @property
    def aer(self) -> torch.Tensor:
        return 1.0 - self._ratio(
            self.sure_hits + self.possible_hits,
            self.predicted + self.sure,
            "AER is undefined when both the predicted and the gold alignment are empty "
            "(|A| + |S| = 0)",
        )


def alignment_counts(
    predicted: torch.Tensor, sure: torch.Tensor, possible: torch.Tensor | None = None
) -> AlignmentCounts:
    """Count the links of ``predicted`` (..., T, S) against gold ``sure`` (and ``possible``) (T, S).

    All are boolean link matrices; ``predicted`` may carry leading dimensions (e.g. (L, H)),
    which the counts keep. ``possible`` defaults to ``sure`` and must contain it.
    """
    possible = sure if possible is None else possible
    for name, m in (("predicted", predicted), ("sure", sure), ("possible", possible)):
        if m.dtype != torch.bool or m.ndim < 2:
            raise ValueError(
                f"{name} must be a boolean link matrix (..., T, S); got {m.dtype} of shape "
                f"{describe_shape(m)}"
            )
    if sure.shape != possible.shape or predicted.shape[-2:] != sure.shape[-2:]:
        raise ValueError(
            "predicted (..., T, S), sure (T, S) and possible (T, S) must cover the same words; "
            f"got {describe_shape(predicted)}, {describe_shape(sure)} and {describe_shape(possible)}"
        )
    if (sure & ~possible).any():
        raise ValueError(
            f"every sure link must also be possible (S ⊆ P); {int((sure & ~possible).sum())} "
            "are not"
        )
    dims = (-2, -1)
    return AlignmentCounts(
        predicted=predicted.sum(dim=dims),
        sure=sure.sum(dim=dims).expand(predicted.shape[:-2]),
        sure_hits=(predicted & sure).sum(dim=dims),
        possible_hits=(predicted & possible).sum(dim=dims),
    )


def alignment_scores(
    attentions: Sequence[torch.Tensor],
    examples: Sequence[Example],
    *,
    threshold: float | None = None,
) -> AlignmentCounts:
    """Corpus counts of every layer and head, from cross-attention over words.

    ``attentions[k]`` is example k's (L, H, T, S) cross-attention over words (``over_words``
    of ``cross_attention_maps``); its links are
    ``argmax_alignment`` (default) or ``threshold_alignment`` at ``threshold``, scored
    against ``examples[k].alignment`` (sure links). Returns counts of shape (L, H), summed
    over the examples.
    """
    if len(attentions) != len(examples) or not examples:
        raise ValueError(
            "need one attention tensor per example, at least one; got "
            f"{len(attentions)} attention tensors and {len(examples)} examples"
        )
    total = None
    for k, (weights, example) in enumerate(zip(attentions, examples, strict=True)):
        if example.alignment is None:
            raise ValueError(f"example {k} has no gold alignment; alignment scores need one")
        T, S = weights.shape[-2:]
        sure = alignment_matrix(example.alignment, S, T)
        if (T, S) != (len(tokenize(example.tgt)), len(tokenize(example.src))):
            raise ValueError(
                f"example {k}: attention over {T} target and {S} source words, but the pair "
                f"has {len(tokenize(example.tgt))} and {len(tokenize(example.src))}"
            )
        links = (
            argmax_alignment(weights)
            if threshold is None
            else threshold_alignment(weights, threshold)
        )
        counts = alignment_counts(links, sure)
        total = counts if total is None else total + counts
    return total
