"""How good a translator is: validation loss, corpus BLEU and chrF, exact matches per
phenomenon; used in `05_training_translation`.

BLEU and chrF are computed on detokenized text with sacrebleu's own tokenisation (13a for
BLEU), so they are comparable with published numbers; the signatures record every setting
that changes a score.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from sacrebleu.metrics import BLEU, CHRF
from torch import nn

from helpers._utils import evaluating
from helpers.decoding import translate
from helpers.training import label_smoothed_cross_entropy
from helpers.translation.batching import TokenBatchSampler, TranslationDataset, collate
from helpers.translation.data import Example
from helpers.translation.precision import MixedPrecision
from helpers.translation.tokenization import Tokenizer

__all__ = [
    "Scores",
    "corpus_scores",
    "evaluate_translation",
    "exact_match_by_phenomenon",
    "validation_loss",
]


@dataclass(frozen=True)
class Scores:
    """Corpus BLEU and chrF (0–100) with their sacrebleu signatures and the sentence count."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str
    num_sentences: int

    def __str__(self) -> str:
        return f"BLEU {self.bleu:.1f} · chrF {self.chrf:.1f} (n={self.num_sentences})"


def corpus_scores(
    hypotheses: Sequence[str], references: Sequence[str], *, lowercase: bool = False
) -> Scores:
    """Corpus-level BLEU (13a tokenisation) and chrF of hypotheses against one reference each."""
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise ValueError(f"{name} must be a list of strings, one per sentence")
    if len(hypotheses) != len(references):
        raise ValueError(
            "need one hypothesis per reference; got "
            f"{len(hypotheses)} hypotheses and {len(references)} references"
        )
    if not hypotheses:
        raise ValueError("need at least one sentence to score; got none")
    bleu, chrf = BLEU(lowercase=lowercase), CHRF(lowercase=lowercase)
    hypotheses, references = list(hypotheses), [list(references)]
    return Scores(
        bleu=bleu.corpus_score(hypotheses, references).score,
        chrf=chrf.corpus_score(hypotheses, references).score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
        num_sentences=len(hypotheses),
    )


def evaluate_translation(
    model: nn.Module,
    examples: Sequence[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    beam_size: int = 1,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    lowercase: bool = False,
    length_penalty: float = 0.6,
) -> tuple[Scores, list[str]]:
    """Translate every ``example.src`` and score against ``example.tgt``: (scores, hypotheses).

    The hypotheses come back in the order of ``examples``, for reading next to the references.
    """
    hypotheses = translate(
        model,
        [example.src for example in examples],
        src_tokenizer,
        tgt_tokenizer,
        beam_size=beam_size,
        batch_size=batch_size,
        device=device,
        length_penalty=length_penalty,
    )
    scores = corpus_scores(hypotheses, [example.tgt for example in examples], lowercase=lowercase)
    return scores, hypotheses


def exact_match_by_phenomenon(
    examples: Sequence[Example], hypotheses: Sequence[str]
) -> dict[str, tuple[float, int]]:
    """tag -> (share of the sentences showing it that are translated exactly, their count),
    for the phenomenon tags of ``examples`` (toy-en-de has them), most frequent tag first.

    A sentence usually shows several phenomena, so one error counts against each of them:
    read a low share as "sentences with this tag go wrong more often", not as proof that the
    tag is the cause.
    """
    if len(examples) != len(hypotheses):
        raise ValueError(
            f"need one hypothesis per example; got {len(hypotheses)} for {len(examples)}"
        )
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for example, hypothesis in zip(examples, hypotheses, strict=True):
        for tag in example.phenomena:
            seen[tag] += 1
            right[tag] += hypothesis == example.tgt
    if not seen:
        raise ValueError("the examples carry no phenomenon tags (toy-en-de has them)")
    return {tag: (right[tag] / n, n) for tag, n in seen.most_common()}


def validation_loss(
    model: nn.Module,
    pairs: Sequence[tuple[list[int], list[int]]],
    pad_id: int,
    device: torch.device | str,
    precision: MixedPrecision | None = None,
    max_tokens: int = 8192,
) -> float:
    """Mean per-token cross-entropy (no label smoothing) of ``model`` over id ``pairs``, as
    ``encode_pairs`` makes them; the model runs in eval mode and returns to its mode after."""
    dataset = TranslationDataset(pairs)
    sampler = TokenBatchSampler(dataset.lengths, max_tokens, shuffle=False)
    total, tokens = 0.0, 0
    autocast = precision.autocast() if precision else contextlib.nullcontext()
    with evaluating(model), autocast:
        for indices in sampler:
            batch = collate([dataset[i] for i in indices], pad_id).to(device)
            logits = model(batch.src, batch.tgt_in)  # (B, T, V)
            loss = label_smoothed_cross_entropy(
                logits, batch.tgt_out, smoothing=0.0, ignore_index=pad_id
            )
            total += float(loss) * batch.num_tgt_tokens
            tokens += batch.num_tgt_tokens
    return total / tokens
