"""helpers.inspection.attribution: leave-one-word-out influence, attention rollout across
layers, and rank correlation between two maps."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.inspection import (
    attention_rollout,
    leave_one_out,
    rank_correlation,
    source_rollout,
    teacher_forced_maps,
)
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.data import Example
from helpers.translation.tokenization import WordVocab, tokenize

EXAMPLES = [
    Example("The dog sleeps.", "Der Hund schläft.", ((0, 0), (1, 1), (2, 2), (3, 3))),
    Example("I sleep.", "Ich schlafe.", ((0, 0), (1, 1), (2, 2))),
    Example("The man sees the dog.", "Der Mann sieht den Hund.", tuple((i, i) for i in range(6))),
]
SRC_VOCAB = WordVocab.build(ex.src for ex in EXAMPLES)
TGT_VOCAB = WordVocab.build(ex.tgt for ex in EXAMPLES)


def _model() -> Seq2SeqTransformer:
    torch.manual_seed(0)
    return Seq2SeqTransformer(
        len(SRC_VOCAB), len(TGT_VOCAB), d_model=16, nhead=2, num_encoder_layers=2,
        num_decoder_layers=2, dim_feedforward=32, dropout=0.1, max_len=32, pad_id=0, fused=True,
    )  # fmt: skip


def _log_prob_of_reference(model, src_ids: list[int], example: Example) -> torch.Tensor:
    """(T,) teacher-forced log p of each reference word, one pair alone."""
    tgt = [1, *TGT_VOCAB.encode(example.tgt), 2]
    with torch.no_grad():
        logits = model.eval()(torch.tensor([src_ids]), torch.tensor([tgt[:-1]]))[0]
    return logits.log_softmax(-1)[torch.arange(len(tgt) - 1), torch.tensor(tgt[1:])][:-1]


def test_leave_one_out_is_the_drop_in_log_probability_without_each_word():
    model = _model().train()
    influence = leave_one_out(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB, max_rows=5)
    assert model.training  # the mode is restored
    for example, table in zip(EXAMPLES, influence, strict=True):
        S, T = len(tokenize(example.src)), len(tokenize(example.tgt))
        assert table.shape == (T, S)
        src = SRC_VOCAB.encode(example.src) + [2]
        intact = _log_prob_of_reference(model, src, example)
        for i in range(S):
            without = _log_prob_of_reference(model, src[:i] + [0] + src[i + 1 :], example)
            assert torch.allclose(table[:, i], intact - without, atol=1e-4)
    together = leave_one_out(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB)  # one batch
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(influence, together, strict=True))
    with pytest.raises(ValueError, match="max_rows"):
        leave_one_out(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB, max_rows=0)


def test_rollout_of_one_layer_is_half_identity_half_attention():
    A = torch.softmax(torch.randn(1, 3, 4, 4), dim=-1)  # (L=1, H=3, N, N)
    expected = 0.5 * torch.eye(4) + 0.5 * A[0].mean(0)
    assert torch.allclose(attention_rollout(A).float(), expected, atol=1e-6)
    assert torch.allclose(attention_rollout(A, residual=0.0).float(), A[0].mean(0), atol=1e-6)
    identity = torch.eye(4).expand(5, 2, 4, 4)  # heads that look at themselves: nothing moves
    assert torch.allclose(attention_rollout(identity).float(), torch.eye(4))
    two = torch.softmax(torch.randn(2, 3, 4, 4), dim=-1)
    rolled = attention_rollout(two)
    assert torch.allclose(rolled.sum(-1), torch.ones(4, dtype=rolled.dtype))
    layer = [0.5 * torch.eye(4) + 0.5 * two[i].mean(0) for i in range(2)]
    assert torch.allclose(rolled.float(), layer[1] @ layer[0], atol=1e-6)
    with pytest.raises(ValueError, match=r"\(L, H, queries, keys\)"):
        attention_rollout(A[0])
    with pytest.raises(ValueError, match="residual must lie in"):
        attention_rollout(A, residual=2)


def test_source_rollout_of_a_real_pair_is_a_distribution_over_source_tokens():
    (maps,) = teacher_forced_maps(_model(), EXAMPLES[:1], SRC_VOCAB, TGT_VOCAB)
    rolled = source_rollout(maps)
    T1, S1 = maps["cross"].shape[-2:]
    assert rolled.shape == (T1, S1)
    assert torch.allclose(rolled.sum(-1), torch.ones(T1, dtype=rolled.dtype))
    # with an encoder that mixes nothing and one decoder layer, it is that layer's cross map
    one = {
        "encoder": torch.eye(S1).expand(2, 2, S1, S1),
        "decoder": maps["decoder"][:1],
        "cross": maps["cross"][:1],
    }
    assert torch.allclose(source_rollout(one).float(), maps["cross"][0].mean(0), atol=1e-6)


def test_rank_correlation_of_rows():
    a = torch.tensor([[0.1, 0.5, 0.2, 0.9], [3.0, 2.0, 1.0, 0.0]])
    assert torch.allclose(rank_correlation(a, a), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(rank_correlation(a, -a), -torch.ones(2, dtype=torch.float64))
    swapped = torch.tensor([[0.1, 0.2, 0.5, 0.9]])  # ranks 0 1 2 3 against 0 2 1 3
    assert float(rank_correlation(a[:1], swapped)) == pytest.approx(1 - 6 * 2 / (4 * 15))
    assert math.isnan(float(rank_correlation(torch.ones(1, 1), torch.ones(1, 1))))
    with pytest.raises(ValueError, match="the same shape"):
        rank_correlation(a, a[:1])
