"""helpers.translation.evaluation: corpus BLEU and chrF agree with sacrebleu, with signatures;
evaluation of a model end to end; the validation loss is plain cross-entropy over real tokens;
exact matches per phenomenon tag."""

from __future__ import annotations

import pytest
import sacrebleu
import torch
import torch.nn.functional as F
from torch import nn

from helpers.translation.data import Example
from helpers.translation.evaluation import (
    Scores,
    corpus_scores,
    evaluate_translation,
    exact_match_by_phenomenon,
    validation_loss,
)
from helpers.translation.tokenization import detokenize, tokenize

HYPOTHESES = ["The cat sat on the mat.", "A dog runs in the park!", "Two men are talking."]
REFERENCES = ["The cat is sitting on the mat.", "A dog is running in a park!", "Two men talk."]


def test_identical_text_scores_100():
    scores = corpus_scores(REFERENCES, REFERENCES)
    assert scores.bleu == pytest.approx(100.0) and scores.chrf == pytest.approx(100.0)
    assert scores.num_sentences == 3


def test_scores_match_sacrebleu_directly():
    scores = corpus_scores(HYPOTHESES, REFERENCES)
    assert scores.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score)
    assert scores.chrf == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score)
    assert 0 < scores.bleu < 100 and 0 < scores.chrf < 100


def test_signatures_name_the_tokenisation_and_casing():
    scores = corpus_scores(HYPOTHESES, REFERENCES)
    assert "tok:13a" in scores.bleu_signature and "case:mixed" in scores.bleu_signature
    assert "nc:6" in scores.chrf_signature and "nw:0" in scores.chrf_signature
    lowered = corpus_scores(HYPOTHESES, REFERENCES, lowercase=True)
    assert "case:lc" in lowered.bleu_signature


def test_lowercase_ignores_case_only_differences():
    hypotheses = ["the cat sat on the mat ."]
    references = ["The Cat sat on the Mat ."]
    assert corpus_scores(hypotheses, references).bleu < 100
    assert corpus_scores(hypotheses, references, lowercase=True).bleu == pytest.approx(100.0)


def test_scores_print_on_one_line():
    scores = Scores(34.123, 60.249, "bleu-sig", "chrf-sig", 1000)
    assert str(scores) == "BLEU 34.1 · chrF 60.2 (n=1000)"


def test_mismatched_or_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="got 3 hypotheses and 2 references"):
        corpus_scores(HYPOTHESES, REFERENCES[:2])
    with pytest.raises(ValueError, match="at least one sentence"):
        corpus_scores([], [])
    with pytest.raises(ValueError, match="hypotheses must be a list of strings"):
        corpus_scores("The cat.", "The cat.")


class CopyModel(nn.Module):
    """A stand-in model that outputs its source: position t predicts source token t."""

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return src.float().unsqueeze(-1)  # (B, S, 1)

    def real_tokens(self, src: torch.Tensor) -> torch.Tensor:
        return src != Vocabulary.pad_id  # (B, S)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, memory_real) -> torch.Tensor:
        source = memory[:, : tgt.shape[1], 0].long()  # eos ends the copy before S runs out
        return F.one_hot(source, len(Vocabulary.words)).float() * 10  # (B, T, V)


class Vocabulary:
    """Word-level tokenizer with the interface translate expects."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3
    words = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "dog", "cat", "runs", "sleeps", "."]

    def encode(self, text: str) -> list[int]:
        return [self.words.index(w) if w in self.words else self.unk_id for w in tokenize(text)]

    def decode(self, ids: list[int]) -> str:
        return detokenize([self.words[i] for i in ids])


def test_evaluate_translation_translates_in_order_and_scores():
    examples = [
        Example("a dog runs.", "a dog runs."),
        Example("a cat sleeps.", "a cat sleeps."),
        Example("a bird sleeps.", "a bird sleeps."),
        Example("a cat.", "the cat."),
    ]
    vocabulary = Vocabulary()
    for beam_size in (1, 2):
        scores, hypotheses = evaluate_translation(
            CopyModel(), examples, vocabulary, vocabulary, beam_size=beam_size, batch_size=3
        )
        assert hypotheses == ["a dog runs.", "a cat sleeps.", "a <unk> sleeps.", "a cat."]
        assert scores == corpus_scores(hypotheses, [example.tgt for example in examples])
        assert 0 < scores.bleu < 100 and scores.num_sentences == 4


def test_validation_loss_is_cross_entropy_over_real_tokens_in_eval_mode():
    class Bigram(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Embedding(12, 12)
            self.dropout = nn.Dropout(0.5)

        def forward(self, src, tgt_in):  # dropout would change the loss in training mode
            return self.dropout(self.table(tgt_in))  # (B, T, V)

    torch.manual_seed(0)
    model = Bigram().train()
    pairs = [([5, 6, 2], [1, 7, 8, 2]), ([4, 2], [1, 9, 2]), ([5, 5, 5, 2], [1, 3, 2])]
    loss = validation_loss(model, pairs, pad_id=0, device="cpu", max_tokens=8)
    logits = torch.cat([model.table(torch.tensor(t[:-1])) for _, t in pairs])
    targets = torch.cat([torch.tensor(t[1:]) for _, t in pairs])
    assert loss == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)
    assert model.training  # back in the mode it was in


def test_exact_matches_are_counted_for_every_tag_a_sentence_shows():
    examples = [
        Example("a", "A", phenomena=("plural", "question")),
        Example("b", "B", phenomena=("plural",)),
        Example("c", "C", phenomena=("question", "negation_kein")),
    ]
    shares = exact_match_by_phenomenon(examples, ["A", "wrong", "C"])
    assert shares == {"plural": (0.5, 2), "question": (1.0, 2), "negation_kein": (1.0, 1)}
    assert list(shares)[:2] == ["plural", "question"]  # most frequent first
    with pytest.raises(ValueError, match="one hypothesis per example; got 2 for 3"):
        exact_match_by_phenomenon(examples, ["A", "B"])
    with pytest.raises(ValueError, match="no phenomenon tags"):
        exact_match_by_phenomenon([Example("a", "A")], ["A"])
