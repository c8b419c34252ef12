"""Looking inside a trained translator, as derived in `06_inspecting_attention`.

Three questions, each with its tools:

- **Where does each head look?** ``recording_attention`` (a context manager) and
  ``attention_maps`` record every attention map of a ``Seq2SeqTransformer``: encoder
  self-attention, decoder self-attention and cross-attention, per layer and head, without
  changing what the model computes. ``attention_entropy`` and ``attention_mass`` summarise
  a head in one number.
- **Does cross-attention align words?** ``cross_attention_maps`` runs every sentence pair
  teacher-forced and ``over_words`` reads the weights between its target and source words;
  ``argmax_alignment`` and ``threshold_alignment`` turn weights into links, and
  ``alignment_counts`` / ``alignment_scores`` score links against the gold alignment with
  precision, recall and the alignment error rate (AER) of Och & Ney (2003).
- **Does the model need it?** ``ablated_heads`` zeroes chosen heads while a block runs, so
  that BLEU with and without them can be compared.

``inspect_sentence`` puts the first two together for one typed sentence (the notebook's
widget). Shapes: B batch, L layers, H heads, S source length, T target length. A *link
matrix* is a boolean (T, S) tensor over words (``helpers.translation.tokenization.tokenize`` tokens,
punctuation included): ``links[j, i]`` is True when target word j is aligned with source
word i. (Pharaoh pairs ``i-j``, as in ``Example.alignment``, list the same links as
(source, target).)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from helpers.decoding import greedy_decode
from helpers.multi_head_attention import MultiHeadAttention
from helpers.plotting import attention_heatmap, to_numpy
from helpers.transformer import Seq2SeqTransformer, Transformer
from helpers.translation.batching import collate, encode_pairs
from helpers.translation.tokenization import BOS, EOS, Tokenizer, tokenize

__all__ = [
    "PARTS",
    "AlignmentCounts",
    "AttentionMaps",
    "SentenceInspection",
    "ablated_heads",
    "alignment_counts",
    "alignment_heatmap",
    "alignment_links",
    "alignment_matrix",
    "alignment_scores",
    "argmax_alignment",
    "attention_entropy",
    "attention_maps",
    "attention_mass",
    "cross_attention_maps",
    "heads_of",
    "inspect_sentence",
    "layer_head_heatmap",
    "over_words",
    "recording_attention",
    "threshold_alignment",
]

PARTS = ("encoder", "decoder", "cross")  # encoder self-, decoder self-, cross-attention
Query = Literal["predicting", "reading"]
QUERIES = ("predicting", "reading")


class _Example(Protocol):
    src: str
    tgt: str
    alignment: tuple[tuple[int, int], ...] | None


def _shape(x: torch.Tensor) -> str:
    return "(" + ", ".join(str(n) for n in x.shape) + ")"


# --- recording ------------------------------------------------------------------------------


@dataclass
class AttentionMaps:
    """Every attention map of one forward pass, per layer: lists over layers of tensors.

    ``encoder[l]``: (B, H, S, S) encoder self-attention; ``decoder[l]``: (B, H, T, T) masked
    decoder self-attention; ``cross[l]``: (B, H, T, S), decoder queries over the source.
    Rows are queries, columns keys; padding keys get weight 0. Derived in
    `06_inspecting_attention`.
    """

    encoder: list[torch.Tensor | None]
    decoder: list[torch.Tensor | None]
    cross: list[torch.Tensor | None]

    def for_bertviz(
        self, index: int = 0, src_len: int | None = None, tgt_len: int | None = None
    ) -> dict[str, tuple[torch.Tensor, ...]]:
        """Example ``index`` in the per-layer format of bertviz's ``model_view``/``head_view``.

        Returns ``encoder_attention``, ``decoder_attention`` and ``cross_attention``: tuples
        over layers of (1, H, ·, ·) tensors, cut to the first ``src_len`` source and
        ``tgt_len`` target positions (drop the padding; default: keep all), so that
        ``model_view(**maps.for_bertviz(0, S, T), encoder_tokens=..., decoder_tokens=...)``
        draws them.
        """
        missing = [
            part
            for part in PARTS
            if not getattr(self, part) or any(m is None for m in getattr(self, part))
        ]
        if missing:
            raise ValueError(f"no maps recorded yet for {', '.join(missing)}: run the model first")
        B = self.cross[0].shape[0]
        if not -B <= index < B:
            raise ValueError(f"index must lie in [0, B={B}); got {index}")
        s, t = slice(src_len), slice(tgt_len)
        pick = {"encoder": (s, s), "decoder": (t, t), "cross": (t, s)}
        return {
            f"{part}_attention": tuple(
                m[index : index + 1 or None, :, rows, columns] for m in getattr(self, part)
            )
            for part, (rows, columns) in pick.items()
        }


def _attention_modules(model: nn.Module) -> dict[str, list[MultiHeadAttention]]:
    """The MultiHeadAttention modules of a Seq2SeqTransformer or Transformer, by part."""
    core = model.transformer if isinstance(model, Seq2SeqTransformer) else model
    if not isinstance(core, Transformer):
        raise TypeError(
            "expected the course's Seq2SeqTransformer or Transformer (helpers.transformer); "
            f"got {type(model).__name__}"
        )
    return {
        "encoder": [layer.self_attn for layer in core.encoder_layers],
        "decoder": [layer.self_attn for layer in core.decoder_layers],
        "cross": [layer.cross_attn for layer in core.decoder_layers],
    }


def _record(store: list, layer: int, module: nn.Module, args, output) -> None:
    store[layer] = output[1].detach()


def _check_parts(parts: Sequence[str]) -> None:
    if isinstance(parts, str) or not set(parts) <= set(PARTS):
        raise ValueError(f"parts must be a list drawn from {PARTS}; got {parts!r}")


@contextmanager
def recording_attention(model: nn.Module, parts: Sequence[str] = PARTS) -> Iterator[AttentionMaps]:
    """Record the attention weights of every layer and head while the block runs.

    Yields an ``AttentionMaps`` whose entries hold, per layer, the weights of the latest call
    of that attention module (None before the first); a part not in ``parts`` stays an empty
    list. Modules built with ``fused=True`` take the course's path while recording, which
    computes the weights and gives the same outputs within float tolerance; their setting
    and the hooks are restored on exit. Derived in `06_inspecting_attention`.
    """
    _check_parts(parts)
    modules = _attention_modules(model)
    maps = AttentionMaps(
        **{part: [None] * len(ms) if part in parts else [] for part, ms in modules.items()}
    )
    saved, handles = [], []
    try:
        for part in parts:
            for layer, module in enumerate(modules[part]):
                saved.append((module, module.fused))
                module.fused = False  # the course's path, which returns the weights
                handles.append(
                    module.register_forward_hook(partial(_record, getattr(maps, part), layer))
                )
        yield maps
    finally:
        for handle in handles:
            handle.remove()
        for module, fused in saved:
            module.fused = fused


def attention_maps(
    model: Seq2SeqTransformer,
    src: torch.Tensor,
    tgt_in: torch.Tensor,
    parts: Sequence[str] = PARTS,
) -> AttentionMaps:
    """The attention maps of one teacher-forced pass: src (B, S) ids, tgt_in (B, T) ids.

    ``tgt_in`` is the decoder's input (BOS first, as in ``TranslationBatch.tgt_in``);
    ``parts`` picks what to record (default: all). Runs in eval mode without gradients and
    puts the model back in the mode it was in. Derived in `06_inspecting_attention`.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), recording_attention(model, parts) as maps:
            model(src, tgt_in)
    finally:
        model.train(was_training)
    return maps


# --- summaries of a head --------------------------------------------------------------------


def _query_mask(weights: torch.Tensor, query_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, T) boolean, True for real queries; all True if not given."""
    if weights.ndim != 4:
        raise ValueError(f"weights must have shape (B, H, T, S); got {_shape(weights)}")
    B, _, T, _ = weights.shape
    if query_mask is None:
        return torch.ones(B, T, dtype=torch.bool, device=weights.device)
    if query_mask.dtype != torch.bool or query_mask.shape != (B, T):
        raise ValueError(
            f"query_mask must be a boolean (B, T) = ({B}, {T}) tensor, True for real queries; "
            f"got {query_mask.dtype} of shape {_shape(query_mask)}"
        )
    if not query_mask.any():
        raise ValueError("query_mask selects no query: there is nothing to average over")
    return query_mask


def attention_entropy(
    weights: torch.Tensor, query_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean entropy of each head's attention rows, in nats: weights (B, H, T, S) -> (H,).

    A row's entropy is -Σ_s w_s log w_s (0 · log 0 = 0, so padding keys add nothing): 0 for
    a head that looks at one key, log S for one that spreads evenly over S keys. The mean
    runs over the real queries of every example; ``query_mask`` (B, T) is True for them
    (default: all). Derived in `06_inspecting_attention`.
    """
    real = _query_mask(weights, query_mask)
    entropy = torch.special.entr(weights.double()).sum(dim=-1)  # (B, H, T)
    return (entropy * real[:, None]).sum(dim=(0, 2)) / real.sum()


def attention_mass(
    weights: torch.Tensor, keys: torch.Tensor, query_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean weight each head puts on the selected keys: weights (B, H, T, S) -> (H,).

    ``keys`` is boolean and broadcasts to (B, T, S): True for the keys to count, e.g. the
    previous token (a (T, S) band), or punctuation and EOS ((B, 1, S)). The mean runs over
    real queries as in ``attention_entropy``. Derived in `06_inspecting_attention`.
    """
    real = _query_mask(weights, query_mask)
    B, _, T, S = weights.shape
    if keys.dtype != torch.bool:
        raise ValueError(f"keys must be a boolean tensor; got {keys.dtype}")
    try:
        keys = torch.broadcast_to(keys, (B, T, S))
    except RuntimeError as error:
        raise ValueError(
            f"keys must broadcast to (B, T, S) = ({B}, {T}, {S}); got {_shape(keys)}"
        ) from error
    mass = (weights.double() * keys[:, None]).sum(dim=-1)  # (B, H, T)
    return (mass * real[:, None]).sum(dim=(0, 2)) / real.sum()


# --- cross-attention over words -------------------------------------------------------------


def over_words(weights: torch.Tensor, query: Query = "predicting") -> torch.Tensor:
    """Cross-attention between target and source words: (..., T + 1, S + 1) -> (..., T, S).

    ``weights`` is one pair's teacher-forced cross-attention without padding: its rows are
    the decoder inputs BOS, w_0 ... w_(T-1), its columns the source words and EOS. The EOS column
    is dropped. Target word j is read off decoder position j with ``query="predicting"``
    (the query that predicts word j: its input is the word before, or BOS), or off position
    j + 1 with ``query="reading"`` (whose input is word j itself). Derived in
    `06_inspecting_attention`.
    """
    if query not in QUERIES:
        raise ValueError(f"query must be one of {QUERIES}; got {query!r}")
    if weights.ndim < 2 or min(weights.shape[-2:]) < 2:
        raise ValueError(
            "weights must have shape (..., T + 1, S + 1) with T, S >= 1 (BOS + T target words, "
            f"S source words + EOS); got {_shape(weights)}"
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
    examples: Sequence[_Example],
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
    cross-attention takes the course's path; the rest of the model stays as it is. Derived
    in `06_inspecting_attention`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
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
    """Pharaoh (source i, target j) pairs -> boolean (T, S) link matrix, True at [j, i].

    Derived in `06_inspecting_attention`.
    """
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
    """Boolean (T, S) link matrix -> sorted Pharaoh (source i, target j) pairs.

    Derived in `06_inspecting_attention`.
    """
    if matrix.ndim != 2 or matrix.dtype != torch.bool:
        raise ValueError(
            f"matrix must be a boolean (T, S) link matrix; got {matrix.dtype} of shape "
            f"{_shape(matrix)}"
        )
    return sorted((i, j) for j, i in matrix.nonzero().tolist())


def argmax_alignment(weights: torch.Tensor) -> torch.Tensor:
    """One link per target word, to the source word it attends to most: (..., T, S) -> bool.

    Ties go to the first source word. Works on any leading dimensions, e.g. (L, H, T, S)
    for every layer and head at once. Derived in `06_inspecting_attention`.
    """
    if weights.ndim < 2 or 0 in weights.shape[-2:]:
        raise ValueError(
            f"weights must have shape (..., T, S) with T, S >= 1; got {_shape(weights)}"
        )
    best = weights.argmax(dim=-1, keepdim=True)  # (..., T, 1)
    return torch.zeros_like(weights, dtype=torch.bool).scatter_(-1, best, True)


def threshold_alignment(weights: torch.Tensor, threshold: float) -> torch.Tensor:
    """Every link whose weight is at least ``threshold``: (..., T, S) -> bool (..., T, S).

    A target word may get several links or none. Derived in `06_inspecting_attention`.
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
    undefined and raises ValueError. Derived in `06_inspecting_attention`.
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
    which the counts keep. ``possible`` defaults to ``sure`` and must contain it. Derived in
    `06_inspecting_attention`.
    """
    possible = sure if possible is None else possible
    for name, m in (("predicted", predicted), ("sure", sure), ("possible", possible)):
        if m.dtype != torch.bool or m.ndim < 2:
            raise ValueError(
                f"{name} must be a boolean link matrix (..., T, S); got {m.dtype} of shape "
                f"{_shape(m)}"
            )
    if sure.shape != possible.shape or predicted.shape[-2:] != sure.shape[-2:]:
        raise ValueError(
            "predicted (..., T, S), sure (T, S) and possible (T, S) must cover the same words; "
            f"got {_shape(predicted)}, {_shape(sure)} and {_shape(possible)}"
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
    examples: Sequence[_Example],
    *,
    threshold: float | None = None,
) -> AlignmentCounts:
    """Corpus counts of every layer and head, from cross-attention over words.

    ``attentions[k]`` is example k's (L, H, T, S) cross-attention over words (``over_words``
    of ``cross_attention_maps``); its links are
    ``argmax_alignment`` (default) or ``threshold_alignment`` at ``threshold``, scored
    against ``examples[k].alignment`` (sure links). Returns counts of shape (L, H), summed
    over the examples. Derived in `06_inspecting_attention`.
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


# --- ablation -------------------------------------------------------------------------------


def heads_of(model: nn.Module, part: str = "cross") -> list[tuple[str, int, int]]:
    """Every head of one part as (part, layer, head), e.g. all cross-attention heads.

    Derived in `06_inspecting_attention`.
    """
    modules = _attention_modules(model)
    if part not in modules:
        raise ValueError(f"part must be one of {PARTS}; got {part!r}")
    return [(part, layer, h) for layer, m in enumerate(modules[part]) for h in range(m.num_heads)]


@contextmanager
def ablated_heads(model: nn.Module, heads: Iterable[tuple[str, int, int]]) -> Iterator[None]:
    """Zero the output of the chosen heads while the block runs; restore the model after.

    ``heads`` lists (part, layer, head) with part "encoder", "decoder" (self-attention) or
    "cross". A zeroed head's output is set to 0 before the output projection that mixes the
    heads (``MultiHeadAttention.head_mask``), as in Michel et al. (2019); its attention
    weights are still computed. Derived in `06_inspecting_attention`.
    """
    modules = _attention_modules(model)
    chosen: dict[MultiHeadAttention, list[int]] = {}
    for spec in heads:
        part, layer, head = spec
        if part not in modules:
            raise ValueError(f"a head is (part, layer, head) with part in {PARTS}; got {spec!r}")
        if not 0 <= layer < len(modules[part]) or not 0 <= head < modules[part][0].num_heads:
            raise ValueError(
                f"{part} has {len(modules[part])} layers of {modules[part][0].num_heads} heads; "
                f"got layer {layer}, head {head}"
            )
        chosen.setdefault(modules[part][layer], []).append(head)
    saved = {module: module.head_mask for module in chosen}
    try:
        for module, zeroed in chosen.items():
            weight = module.w_o.weight
            mask = torch.ones(module.num_heads, device=weight.device, dtype=weight.dtype)
            if module.head_mask is not None:
                mask = mask * module.head_mask.to(mask)
            mask[zeroed] = 0.0
            module.head_mask = mask
        yield
    finally:
        for module, head_mask in saved.items():
            module.head_mask = head_mask


# --- one sentence, for the widget -----------------------------------------------------------


@dataclass(frozen=True)
class SentenceInspection:
    """A typed sentence, its greedy translation and the attention maps behind it (B = 1).

    ``source_tokens`` are what the encoder reads (``<unk>`` for unknown words, then
    ``<eos>``), ``decoder_inputs`` what the decoder reads (``<bos>`` + output words) and
    ``outputs`` what each decoder position predicts (output words + ``<eos>``): rows of the
    decoder and cross maps. ``maps`` is None when there was nothing to translate; ``message``
    says why, or which words the model does not know. Derived in `06_inspecting_attention`.
    """

    sentence: str
    translation: str
    source_tokens: list[str]
    decoder_inputs: list[str]
    outputs: list[str]
    unknown_words: list[str]
    maps: AttentionMaps | None
    message: str

    def labels(self, part: str) -> tuple[list[str], list[str]]:
        """(query labels, key labels) for the maps of ``part``: the rows of cross-attention
        are labelled with the word each query predicts, the decoder's with its inputs."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}; got {part!r}")
        return {
            "encoder": (self.source_tokens, self.source_tokens),
            "decoder": (self.decoder_inputs, self.decoder_inputs),
            "cross": (self.outputs, self.source_tokens),
        }[part]


def inspect_sentence(
    model: Seq2SeqTransformer,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    sentence: str,
    *,
    max_len: int | None = None,
) -> SentenceInspection:
    """Translate one sentence greedily and record every attention map of its translation.

    The maps come from a teacher-forced pass over the model's own output, which gives the
    same weights as the decoding steps. Unknown words (``WordVocab.unknown_words``) do not
    raise: they are read as ``<unk>`` and named in ``message``. Derived in
    `06_inspecting_attention`.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str; got {type(sentence).__name__}")
    src_ids = src_tokenizer.encode(sentence)
    if not src_ids:
        return SentenceInspection(
            sentence, "", [], [], [], [], None, "Type an English sentence to translate."
        )
    find_unknown = getattr(src_tokenizer, "unknown_words", None)
    unknown = find_unknown(sentence) if find_unknown is not None else []
    message = ""
    if unknown:
        message = (
            f"Not in the model's source vocabulary ({len(src_tokenizer)} tokens), so read as "
            f"<unk>: {', '.join(unknown)}. Its translation of them is a guess."
        )
    device = next(model.parameters()).device
    src = torch.tensor([src_ids + [src_tokenizer.eos_id]], device=device)
    ids = {"bos_id": tgt_tokenizer.bos_id, "eos_id": tgt_tokenizer.eos_id}
    (output,) = greedy_decode(model, src, pad_id=tgt_tokenizer.pad_id, max_len=max_len, **ids)
    tgt_in = torch.tensor([[tgt_tokenizer.bos_id, *output]], device=device)
    words = [tgt_tokenizer.id_to_token(i) for i in output]
    return SentenceInspection(
        sentence=sentence,
        translation=tgt_tokenizer.decode(output),
        source_tokens=[src_tokenizer.id_to_token(i) for i in src_ids] + [EOS],
        decoder_inputs=[BOS, *words],
        outputs=[*words, EOS],
        unknown_words=unknown,
        maps=attention_maps(model, src, tgt_in),
        message=message,
    )


# --- figures --------------------------------------------------------------------------------


def alignment_heatmap(
    weights: torch.Tensor,
    gold: torch.Tensor | None,
    target_tokens: Sequence[str],
    source_tokens: Sequence[str],
    *,
    ax: plt.Axes | None = None,
    title: str = "Cross-attention and gold alignment",
    colorbar: bool = True,
) -> plt.Axes:
    """Cross-attention (T, S) as a heatmap, with the gold links (T, S) outlined in red.

    Rows are labelled with the target words, columns with the source words; the colour scale
    runs from 0 to 1. Drawn in `06_inspecting_attention`.
    """
    ax = attention_heatmap(
        weights, target_tokens, source_tokens, ax=ax, title=title, vmax=1.0, colorbar=colorbar
    )
    if gold is not None:
        if gold.shape != weights.shape:
            raise ValueError(
                f"gold must be a (T, S) link matrix like weights {_shape(weights)}; "
                f"got {_shape(gold)}"
            )
        rows, columns = np.nonzero(to_numpy(gold))
        ax.scatter(columns, rows, s=160, marker="s", facecolors="none", edgecolors="red", lw=1.5)
    ax.set(xlabel="source word (key)", ylabel="target word (query)")
    return ax


def layer_head_heatmap(
    values,
    *,
    title: str,
    label: str,
    ax: plt.Axes | None = None,
    fmt: str = "{:.2f}",
    cmap: str = "viridis_r",
) -> plt.Axes:
    """One number per layer and head, (L, H), as an annotated heatmap (rows: layers).

    Drawn in `06_inspecting_attention` for AER, entropy and attention mass per head.
    """
    v = to_numpy(values).astype(np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be an (L, H) matrix, one per layer and head; got {v.shape}")
    L, H = v.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * H + 2.2, 0.8 * L + 1.4))
    image = ax.imshow(v, cmap=cmap, aspect="auto")
    middle = (np.nanmin(v) + np.nanmax(v)) / 2
    high_is_dark = cmap.endswith("_r")  # viridis: high values light; viridis_r: dark
    for layer in range(L):
        for head in range(H):
            light = (v[layer, head] > middle) != high_is_dark
            color = "black" if light else "white"
            ax.text(head, layer, fmt.format(v[layer, head]), ha="center", va="center", color=color)
    ax.set_xticks(range(H), labels=[f"head {h}" for h in range(H)])
    ax.set_yticks(range(L), labels=[f"layer {layer}" for layer in range(L)])
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=label, fraction=0.046, pad=0.04)
    return ax
