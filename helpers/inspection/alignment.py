"""Cross-attention as word alignment, and its scores, as derived in `06_inspecting_attention`.

``cross_attention_maps`` runs every sentence pair teacher-forced and ``over_words`` reads the
weights between its target and source words; ``argmax_alignment`` and
``threshold_alignment`` turn weights into links, and ``alignment_counts`` /
``alignment_scores`` score links against the gold alignment with precision, recall and the
alignment error rate (AER) of Och & Ney (2003). ``diagonal_alignment`` gives the baselines
that read no attention at all, ``sentence_counts`` scores any links sentence by sentence
(for length bins and bootstrap intervals), and ``sure_and_possible`` grades the toy corpus's
gold links into sure and possible ones. ``teacher_forced_maps`` records every kind of
attention of every pair, for the analyses that need more than cross-attention.

Shapes: L layers, H heads, S source length, T target length. A *link matrix* is a boolean
(T, S) tensor over words (``helpers.translation.tokenization.tokenize`` tokens, punctuation
included): ``links[j, i]`` is True when target word j is aligned with source word i.
(Pharaoh pairs ``i-j``, as in ``Example.alignment``, list the same links as (source,
target).)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import torch

from helpers._utils import check_positive_int, describe_shape
from helpers.inspection.recording import PARTS, attention_maps
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
    "diagonal_alignment",
    "over_words",
    "sentence_counts",
    "sure_and_possible",
    "teacher_forced_maps",
    "threshold_alignment",
]

Gold = Callable[[Example], tuple[torch.Tensor, torch.Tensor]]  # example -> (sure, possible)

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


def teacher_forced_maps(
    model: Seq2SeqTransformer,
    examples: Sequence[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    parts: Sequence[str] = PARTS,
    batch_size: int = 256,
) -> list[dict[str, torch.Tensor]]:
    """Teacher-forced attention of every pair, without padding: one dict per pair.

    Each pair runs through the model as in training: source ids + EOS (S + 1 positions),
    decoder input BOS + reference ids (T + 1 positions). Entry ``part`` of a pair's dict
    stacks the layers: "encoder" (L, H, S + 1, S + 1), "decoder" (L, H, T + 1, T + 1),
    "cross" (L, H, T + 1, S + 1). Batches group similar lengths; the padding is cut off
    again. Needs word-level tokenizers (``WordVocab``): one id per word is what the gold
    alignment links.
    """
    check_positive_int("batch_size", batch_size)
    for example in examples:
        _check_one_id_per_word(src_tokenizer, example.src, "source")
        _check_one_id_per_word(tgt_tokenizer, example.tgt, "target")
    pairs, _ = encode_pairs(examples, src_tokenizer, tgt_tokenizer)
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    maps: list[dict[str, torch.Tensor]] = [{} for _ in pairs]
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        batch = collate([tuple(map(torch.tensor, pairs[i])) for i in chosen], src_tokenizer.pad_id)
        recorded = attention_maps(model, batch.src, batch.tgt_in, parts=parts)
        for part in parts:
            stacked = torch.stack(getattr(recorded, part), dim=1)  # (B, L, H, ·, ·), padded
            for row, i in enumerate(chosen):
                S, T = len(pairs[i][0]), len(pairs[i][1]) - 1  # S + 1 keys, T + 1 queries
                queries, keys = {"encoder": (S, S), "decoder": (T, T), "cross": (T, S)}[part]
                maps[i][part] = stacked[row, :, :, :queries, :keys].clone()
    return maps


def cross_attention_maps(
    model: Seq2SeqTransformer,
    examples: Sequence[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    batch_size: int = 256,
) -> list[torch.Tensor]:
    """Teacher-forced cross-attention of every pair: one (L, H, T + 1, S + 1) tensor each.

    ``teacher_forced_maps`` with only the cross-attention recorded (the rest of the model
    keeps its fused path): rows BOS + T target words, columns S source words + EOS, so that
    ``over_words`` can pick the word rows and columns.
    """
    maps = teacher_forced_maps(
        model, examples, src_tokenizer, tgt_tokenizer, parts=("cross",), batch_size=batch_size
    )
    return [m["cross"] for m in maps]


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


def diagonal_alignment(src_len: int, tgt_len: int, *, proportional: bool = False) -> torch.Tensor:
    """A baseline that reads no attention: one link per target word, (T, S) boolean.

    The identity diagonal links target word j to source word j (the last source word when
    j >= S); the proportional one (``proportional=True``) links it to the source word at the
    same relative place in the sentence, i = floor((j + 1/2) S / T). Any alignment method
    worth its name must beat both.
    """
    check_positive_int("src_len", src_len)
    check_positive_int("tgt_len", tgt_len)
    j = torch.arange(tgt_len)
    i = ((j + 0.5) * src_len / tgt_len).floor().long() if proportional else j.clamp(max=src_len - 1)
    links = torch.zeros(tgt_len, src_len, dtype=torch.bool)
    links[j, i] = True
    return links


_CONTRACTIONS = frozenset({"im", "am", "ins", "zum", "zur", "beim", "vom"})
_DO_SUPPORT = frozenset({"do", "does", "did"})


def sure_and_possible(example: Example) -> tuple[torch.Tensor, torch.Tensor]:
    """Gold (sure, possible) link matrices (T, S) of a toy-en-de pair, two kinds graded down.

    The corpus writes every link as sure. Two kinds of link join a target word to an English
    function word that German does not spell out, and are marked *possible* here (sure links
    stay possible too, S ⊆ P):

    - the article in a contraction: *im*, *am*, *ins*, *zum*, *zur*, *beim*, *vom* keep their
      sure link to the preposition; their link to *the* becomes possible;
    - do-support: a German verb linked to *do*/*does*/*did* and to the English main verb keeps
      the main verb's link as sure; the link to *do* becomes possible.
    """
    if example.alignment is None:
        raise ValueError("the example has no gold alignment to grade")
    src = [w.lower() for w in tokenize(example.src)]
    tgt = [w.lower() for w in tokenize(example.tgt)]
    possible = alignment_matrix(example.alignment, len(src), len(tgt))
    sure = possible.clone()
    for j, word in enumerate(tgt):
        linked = possible[j].nonzero().flatten().tolist()
        for i in linked:
            contraction = word in _CONTRACTIONS and src[i] == "the"
            do_support = src[i] in _DO_SUPPORT and len(linked) > 1
            if contraction or do_support:
                sure[j, i] = False
    return sure, possible


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

    def as_tensor(self) -> torch.Tensor:
        """The four counts stacked on a last dimension: (..., 4), in field order."""
        return torch.stack([self.predicted, self.sure, self.sure_hits, self.possible_hits], -1)

    @classmethod
    def from_tensor(cls, counts: torch.Tensor) -> AlignmentCounts:
        """The inverse of ``as_tensor``: (..., 4) counts, e.g. summed over a bootstrap resample."""
        if counts.shape[-1:] != (4,):
            raise ValueError(
                "counts must have a last dimension of 4 (predicted, sure, sure_hits, "
                f"possible_hits); got {describe_shape(counts)}"
            )
        return cls(*counts.unbind(-1))

    def total(self) -> AlignmentCounts:
        """Sum over the first dimension, e.g. the sentences of ``sentence_counts``."""
        return AlignmentCounts.from_tensor(self.as_tensor().sum(dim=0))

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


@lru_cache(maxsize=16384)
def _all_sure(example: Example) -> torch.Tensor:
    """The gold (T, S) link matrix of an example, every link sure; cached, never modified."""
    return alignment_matrix(
        example.alignment, len(tokenize(example.src)), len(tokenize(example.tgt))
    )


def _gold_of(example: Example, k: int, T: int, S: int, gold: Gold | None):
    if example.alignment is None:
        raise ValueError(f"example {k} has no gold alignment; alignment scores need one")
    sure, possible = (_all_sure(example),) * 2 if gold is None else gold(example)
    if sure.shape != (T, S):
        raise ValueError(
            f"example {k}: links over {T} target and {S} source words, but the pair "
            f"has {len(tokenize(example.tgt))} and {len(tokenize(example.src))}"
        )
    return sure, possible


def sentence_counts(
    links: Sequence[torch.Tensor], examples: Sequence[Example], *, gold: Gold | None = None
) -> AlignmentCounts:
    """Link counts of every sentence: fields of shape (N, ...), N = number of examples.

    ``links[k]`` is example k's boolean (..., T, S) link matrix (every ``links[k]`` with the
    same leading dimensions, e.g. (L, H) or none). ``gold`` maps an example to its (sure,
    possible) matrices (e.g. ``sure_and_possible``); by default every gold link is sure.
    ``.total()`` gives the corpus counts; indexing the fields picks sentences.
    """
    if len(links) != len(examples) or not examples:
        raise ValueError(
            "need one link matrix per example, at least one; got "
            f"{len(links)} link matrices and {len(examples)} examples"
        )
    counts = []
    for k, (predicted, example) in enumerate(zip(links, examples, strict=True)):
        sure, possible = _gold_of(example, k, *predicted.shape[-2:], gold)
        counts.append(alignment_counts(predicted, sure, possible).as_tensor())
    return AlignmentCounts.from_tensor(torch.stack(counts))


def alignment_scores(
    attentions: Sequence[torch.Tensor],
    examples: Sequence[Example],
    *,
    threshold: float | None = None,
    gold: Gold | None = None,
) -> AlignmentCounts:
    """Corpus counts of every layer and head, from cross-attention over words.

    ``attentions[k]`` is example k's (L, H, T, S) cross-attention over words (``over_words``
    of ``cross_attention_maps``); its links are ``argmax_alignment`` (default) or
    ``threshold_alignment`` at ``threshold``, scored against ``examples[k].alignment``
    (all sure, or graded by ``gold`` as in ``sentence_counts``). Returns counts of shape
    (L, H), summed over the examples.
    """
    if len(attentions) != len(examples) or not examples:
        raise ValueError(
            "need one attention tensor per example, at least one; got "
            f"{len(attentions)} attention tensors and {len(examples)} examples"
        )
    links = [
        argmax_alignment(w) if threshold is None else threshold_alignment(w, threshold)
        for w in attentions
    ]
    return sentence_counts(links, examples, gold=gold).total()
