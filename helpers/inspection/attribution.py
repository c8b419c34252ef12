"""Which source words an output depends on, as derived in `06_inspecting_attention`.

Attention weights say where a query *looks*; an attribution measures what an output
*depends on*. ``leave_one_out`` removes one source word at a time and measures how much the
log-probability of each reference word drops (Li, Monroe & Jurafsky 2016 erase words the same
way). ``attention_rollout`` follows attention through a stack of layers as Abnar & Zuidema
(2020) do, and ``source_rollout`` extends it across the encoder and the decoder, to a map
from every decoder position to the source tokens. ``rank_correlation`` compares two maps row
by row. Shapes: L layers, H heads, S source length, T target length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from helpers._utils import check_positive_int, describe_shape, evaluating
from helpers.inspection.alignment import _check_one_id_per_word
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.batching import collate, encode_pairs
from helpers.translation.data import Example
from helpers.translation.tokenization import Tokenizer

__all__ = ["attention_rollout", "leave_one_out", "rank_correlation", "source_rollout"]


def _variants(src: list[int], pad_id: int) -> torch.Tensor:
    """(S + 1, S + 1) source ids: the pair as it is, then with word i replaced by padding."""
    ids = torch.tensor(src).repeat(len(src), 1)  # row 0 intact, rows 1..S: one word each
    words = len(src) - 1  # the last id is EOS, which stays
    ids[torch.arange(1, words + 1), torch.arange(words)] = pad_id
    return ids


def leave_one_out(
    model: Seq2SeqTransformer,
    examples: Sequence[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    max_rows: int = 64,
) -> list[torch.Tensor]:
    """How much each source word supports each reference word: one (T, S) tensor per pair.

    Entry [j, i] is log p(w_j | source) - log p(w_j | source without word i): the drop in
    the teacher-forced log-probability of target word j when source word i is removed. The
    word is removed by making it padding, so no attention reads it and no other word moves.
    Positive: the word helped; near 0: the output did not depend on it. Runs every pair's
    S + 1 variants in batches of at most ``max_rows`` rows, in eval mode without gradients.
    Needs word-level tokenizers, as the gold alignment does.
    """
    check_positive_int("max_rows", max_rows)
    for example in examples:
        _check_one_id_per_word(src_tokenizer, example.src, "source")
        _check_one_id_per_word(tgt_tokenizer, example.tgt, "target")
    pairs, _ = encode_pairs(examples, src_tokenizer, tgt_tokenizer)
    groups, rows = [[]], 0  # consecutive pairs with at most max_rows variants in all
    for pair in pairs:
        if groups[-1] and rows + len(pair[0]) > max_rows:
            groups.append([])
            rows = 0
        groups[-1].append(pair)
        rows += len(pair[0])
    with evaluating(model), torch.no_grad():
        return [
            influence
            for group in groups
            if group
            for influence in _influence_of(model, group, src_tokenizer.pad_id)
        ]


def _influence_of(model: Seq2SeqTransformer, group: list, pad_id: int) -> list[torch.Tensor]:
    """leave_one_out for a few pairs at once, all their variants in one padded batch."""
    variants = [(_variants(src, pad_id), torch.tensor(tgt)) for src, tgt in group]
    items = [(ids, tgt) for many, tgt in variants for ids in many]
    batch = collate(items, pad_id)
    device = next(model.parameters()).device
    log_probs = model(batch.src.to(device), batch.tgt_in.to(device)).log_softmax(dim=-1)
    chosen = log_probs.gather(-1, batch.tgt_out.to(device)[..., None])[..., 0].cpu()  # (rows, T+1)
    result, row = [], 0
    for src, tgt in group:
        S, T = len(src) - 1, len(tgt) - 2  # words; tgt holds BOS, T words, EOS
        block = chosen[row : row + S + 1, :T]  # (S + 1, T): intact, then without word i
        result.append((block[0:1] - block[1:]).T.contiguous())  # (T, S)
        row += S + 1
    return result


def _head_mean(weights: torch.Tensor, what: str) -> torch.Tensor:
    """(L, H, Q, K) -> (L, Q, K), the mean over heads."""
    if weights.ndim != 4:
        raise ValueError(
            f"{what} must have shape (L, H, queries, keys), every layer and head; got "
            f"{describe_shape(weights)}"
        )
    return weights.double().mean(dim=1)


def attention_rollout(weights: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """Attention rollout of one self-attention stack: (L, H, N, N) -> (N, N).

    Abnar & Zuidema (2020): average each layer's heads, account for the residual connection
    as ``residual`` · I + (1 - ``residual``) · A, and multiply the layers, first layer on the
    right. Row n says how much of position n's final state traces back to each input token;
    every row sums to 1. The feed-forward sublayers and the LayerNorms are left out.
    """
    if not 0.0 <= residual <= 1.0:
        raise ValueError(f"residual must lie in [0, 1]; got {residual}")
    layers = _head_mean(weights, "weights")
    N = layers.shape[-1]
    if layers.shape[-2] != N:
        raise ValueError(f"self-attention maps are square (N, N); got {describe_shape(weights)}")
    identity = torch.eye(N, dtype=layers.dtype)
    rollout = identity
    for A in layers:
        rollout = (residual * identity + (1.0 - residual) * A) @ rollout
    return rollout


def source_rollout(maps: Mapping[str, torch.Tensor], residual: float = 0.5) -> torch.Tensor:
    """Rollout from every decoder position to the source tokens: (T + 1, S + 1).

    ``maps`` is one pair's "encoder", "decoder" and "cross" attention (as
    ``teacher_forced_maps`` gives them). The encoder is rolled out as in
    ``attention_rollout``. In the decoder, each position's state is tracked as a mixture of
    decoder inputs and source tokens: self-attention mixes the positions' mixtures, each
    cross-attention sublayer adds its heads' mean over the rolled-out encoder outputs, and
    every residual keeps ``residual`` of the state. Returns the source part, rows normalised
    to 1: where each decoder position's information about the source comes from.
    """
    encoder = attention_rollout(maps["encoder"], residual)  # (S + 1, S + 1)
    decoder, cross = _head_mean(maps["decoder"], "decoder"), _head_mean(maps["cross"], "cross")
    T1 = decoder.shape[-1]
    from_target = torch.eye(T1, dtype=encoder.dtype)  # (T + 1, T + 1)
    from_source = torch.zeros(T1, encoder.shape[-1], dtype=encoder.dtype)  # (T + 1, S + 1)
    keep = residual
    for A, C in zip(decoder, cross, strict=True):
        from_target = keep * from_target + (1 - keep) * A @ from_target
        from_source = keep * from_source + (1 - keep) * A @ from_source
        from_target = keep * from_target
        from_source = keep * from_source + (1 - keep) * C @ encoder
    return from_source / from_source.sum(dim=-1, keepdim=True)


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of each row of ``a`` with the same row of ``b``: (..., S) -> (...).

    1 when both order the S keys alike, -1 when in reverse. Ties are ranked by position;
    a row of fewer than 2 keys has no correlation (NaN).
    """
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape; got {describe_shape(a)} and {describe_shape(b)}"
        )
    ranks = [x.double().argsort(dim=-1).argsort(dim=-1).double() for x in (a, b)]
    centred = [r - r.mean(dim=-1, keepdim=True) for r in ranks]
    top = (centred[0] * centred[1]).sum(dim=-1)
    return top / (centred[0].norm(dim=-1) * centred[1].norm(dim=-1))
