"""helpers.decoding: greedy and beam search on a model whose answers are known by hand, and on a
small trained Seq2SeqTransformer (batched = one by one, beam size 1 = greedy); translate."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.decoding import beam_search, greedy_decode, translate
from helpers.training import label_smoothed_cross_entropy
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.tokenization import detokenize, tokenize

PAD, BOS, EOS, UNK, A, B, C = range(7)
IDS = {"bos_id": BOS, "eos_id": EOS, "pad_id": PAD}

# Next-token probabilities by (first source token, previous token); every token not listed
# gets 0.001, so that each listed row sums to 1.
TABLE = {
    # Greedy takes A (0.5) then eos: P = 0.5 · 0.35 = 0.175. Beam search finds B eos: 0.4 · 0.994.
    A: {BOS: {A: 0.5, B: 0.4, EOS: 0.096}, A: {EOS: 0.35, A: 0.33, B: 0.316}, B: {EOS: 0.994}},
    # Never ends: A forever.
    B: {BOS: {A: 0.994}, A: {A: 0.994}},
    # "" (eos at once, P = 0.4) against "C" (0.35 · 0.994): the length penalty decides.
    C: {BOS: {EOS: 0.4, C: 0.35, A: 0.246}, C: {EOS: 0.994}},
}


class TableModel(nn.Module):
    """A stand-in "model" with Seq2SeqTransformer's encode/decode whose next-token
    distribution is TABLE[first source token][previous token]; counts encoder calls."""

    def __init__(self) -> None:
        super().__init__()
        log_probs = torch.full((7, 7, 7), 0.001)
        for first, rows in TABLE.items():
            for previous, row in rows.items():
                for token, p in row.items():
                    log_probs[first, previous, token] = p
        self.register_buffer("log_probs", (log_probs / log_probs.sum(-1, keepdim=True)).log())
        self.encode_calls = 0

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        self.encode_calls += 1
        return src.float().unsqueeze(-1)  # (B, S, 1): the "memory" carries the source

    def real_tokens(self, src: torch.Tensor) -> torch.Tensor:
        return src != PAD

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, memory_real: torch.Tensor):
        assert memory.shape[0] == tgt.shape[0] == memory_real.shape[0]
        first = memory[:, 0, 0].long()  # from memory, so beams must get their own sentence's
        return self.log_probs[first[:, None], tgt]  # (B, T, V) log-probabilities as logits

    def probability(self, src_first: int, output: list[int]) -> float:
        """P(output + eos | source) under TABLE."""
        p, previous = 1.0, BOS
        for token in [*output, EOS]:
            p *= self.log_probs[src_first, previous, token].exp().item()
            previous = token
        return p


def test_greedy_decode_takes_the_most_likely_token_each_step():
    model = TableModel()
    src = torch.tensor([[A, EOS, PAD], [B, A, EOS], [C, EOS, PAD]])
    assert greedy_decode(model, src, **IDS, max_len=5) == [[A], [A] * 5, []]
    assert model.encode_calls == 1


def test_greedy_decode_default_max_len_is_source_length_plus_50():
    out = greedy_decode(TableModel(), torch.tensor([[B, EOS]]), **IDS)
    assert out == [[A] * (2 + 50)]


def test_beam_search_finds_a_more_likely_sentence_than_greedy():
    model = TableModel()
    src = torch.tensor([[A, EOS]])
    greedy = greedy_decode(model, src, **IDS)
    beam = beam_search(model, src, **IDS, beam_size=2, length_penalty=0.0)
    assert greedy == [[A]] and beam == [[B]]
    assert model.probability(A, beam[0]) > model.probability(A, greedy[0])
    assert math.isclose(model.probability(A, beam[0]), 0.4 * 0.994, rel_tol=1e-5)
    assert math.isclose(model.probability(A, greedy[0]), 0.5 * 0.35, rel_tol=1e-5)


def test_length_penalty_can_prefer_the_longer_sentence():
    src = torch.tensor([[C, EOS]])
    model = TableModel()
    assert beam_search(model, src, **IDS, beam_size=2, length_penalty=0.0) == [[]]
    # log P / ((5 + length) / 6) ** α: "" (length 1) -0.92 / 1; "C" (length 2) -1.06 / 1.36.
    assert beam_search(model, src, **IDS, beam_size=2, length_penalty=2.0) == [[C]]


def test_beam_search_batches_sentences_and_encodes_once():
    model = TableModel()
    src = torch.tensor([[C, EOS, PAD], [A, EOS, PAD], [B, A, EOS]])
    out = beam_search(model, src, **IDS, beam_size=3, length_penalty=0.0, max_len=4)
    assert out == [[], [B], [A] * 4]
    assert model.encode_calls == 1
    alone = [beam_search(model, row[None], **IDS, beam_size=3, length_penalty=0.0, max_len=4)[0]
             for row in src]  # fmt: skip
    assert out == alone


def test_beam_size_one_is_greedy_on_the_table_model():
    model = TableModel()
    src = torch.tensor([[A, EOS, PAD], [B, A, EOS], [C, EOS, PAD]])
    assert beam_search(model, src, **IDS, beam_size=1, max_len=6) == greedy_decode(
        model, src, **IDS, max_len=6
    )


def test_decoders_check_their_input_and_restore_training_mode():
    model = TableModel().train()
    greedy_decode(model, torch.tensor([[A, EOS]]), **IDS)
    assert model.training
    with pytest.raises(
        ValueError, match=r"\(B, S\) tensor of integer token ids; got torch.float32"
    ):
        greedy_decode(model, torch.zeros(1, 3), **IDS)
    with pytest.raises(ValueError, match="beam_size must be a positive integer; got 0"):
        beam_search(model, torch.tensor([[A, EOS]]), **IDS, beam_size=0)
    with pytest.raises(ValueError, match="max_len must be a positive integer; got 0"):
        greedy_decode(model, torch.tensor([[A, EOS]]), **IDS, max_len=0)


@pytest.fixture(scope="module")
def reverser() -> tuple[Seq2SeqTransformer, torch.Tensor]:
    """A small Transformer trained briefly to reverse digit strings (confident, not perfect),
    and a padded batch of sources of different lengths."""
    torch.manual_seed(0)
    V, L = 10, 4
    model = Seq2SeqTransformer(
        V, V, d_model=32, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
        dim_feedforward=64, dropout=0.1, pad_id=PAD,
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.randint(1, L + 1, (n,), generator=generator)
        digits = torch.randint(4, V, (n, L), generator=generator)
        src, tgt = torch.zeros(n, L + 1, dtype=torch.long), torch.zeros(n, L + 2, dtype=torch.long)
        tgt[:, 0] = BOS
        for i, length in enumerate(lengths.tolist()):
            src[i, :length], src[i, length] = digits[i, :length], EOS
            tgt[i, 1 : length + 1], tgt[i, length + 1] = digits[i, :length].flip(0), EOS
        return src, tgt

    for _ in range(80):
        src, tgt = batch(64)
        loss = label_smoothed_cross_entropy(model(src, tgt[:, :-1]), tgt[:, 1:], smoothing=0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.train(), batch(12)[0]


def test_trained_model_batched_greedy_equals_one_by_one(reverser):
    model, src = reverser
    batched = greedy_decode(model, src, **IDS, max_len=8)
    assert model.training  # put back in training mode
    alone = [greedy_decode(model, row[None, : int((row != PAD).sum())], **IDS, max_len=8)[0]
             for row in src]  # fmt: skip
    assert batched == alone
    assert any(len(out) < 8 for out in batched)  # rows ended early, others went on
    assert all(EOS not in out and BOS not in out and PAD not in out for out in batched)


def test_trained_model_beam_size_one_equals_greedy_and_beams_batch(reverser):
    model, src = reverser
    assert beam_search(model, src, **IDS, beam_size=1, max_len=8) == greedy_decode(
        model, src, **IDS, max_len=8
    )
    batched = beam_search(model, src[:6], **IDS, beam_size=3, max_len=8)
    alone = [beam_search(model, row[None, : int((row != PAD).sum())], **IDS, beam_size=3,
                         max_len=8)[0] for row in src[:6]]  # fmt: skip
    assert batched == alone


class WordTokenizer:
    """The interface translate expects, over a fixed word vocabulary."""

    pad_id, bos_id, eos_id, unk_id = PAD, BOS, EOS, UNK
    vocabulary = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"]

    def encode(self, text: str) -> list[int]:
        return [self.vocabulary.index(w) if w in self.vocabulary else UNK for w in tokenize(text)]

    def decode(self, ids: list[int]) -> str:
        return detokenize([self.vocabulary[i] for i in ids])


def test_translate_keeps_input_order_across_sorted_batches():
    model, tokenizer = TableModel(), WordTokenizer()
    texts = ["a b c a", "c", "b", "a", "c a"]
    kwargs = {"batch_size": 2, "max_len": 3}
    assert translate(model, texts, tokenizer, tokenizer, **kwargs) == ["a", "", "a a a", "a", ""]
    assert model.encode_calls == 3  # three batches of at most two sentences
    beams = translate(model, texts, tokenizer, tokenizer, beam_size=2, length_penalty=0.0, **kwargs)
    assert beams == ["b", "", "a a a", "b", ""]
    with pytest.raises(ValueError, match="got a single str"):
        translate(model, "a b", tokenizer, tokenizer)
