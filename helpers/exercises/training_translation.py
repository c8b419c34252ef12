"""Checkers for the exercises of `05_training_translation` (PyTorch).

- ``check_label_smoothed_loss(label_smoothed_loss)``: ``label_smoothed_loss(logits, target,
  smoothing, pad_id)`` -> a scalar: logits (B, T, V), target (B, T) ids; the smoothed target
  puts ``1 - ε`` on the correct token and ``ε / V`` on every token, and the loss is averaged
  over the positions whose target is not ``pad_id``
- ``check_inverse_sqrt_lr(inverse_sqrt_lr)``: ``inverse_sqrt_lr(step, d_model, warmup_steps)``
  -> D^-0.5 · min(step^-0.5, step · warmup^-1.5), for step = 1, 2, ...
- ``check_greedy_decode(greedy_decode)``: ``greedy_decode(model, src, bos_id, eos_id,
  max_len)`` -> one list of token ids per sentence of src (B, S), without bos and eos, at
  most ``max_len`` generated tokens (eos included)
- ``check_beam_step(beam_step)``: ``beam_step(scores, log_probs, n)`` -> ``(new_scores,
  parents, tokens)``, each (n,): the n best one-token continuations of k hypotheses whose
  total log-probabilities are ``scores`` (k,) and next-token log-probabilities
  ``log_probs`` (k, V), best first

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_training_translation.py`` proves it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from helpers.exercises.checking import Case, Checker, Mistake
from helpers.transformer import Seq2SeqTransformer

__all__ = [
    "check_beam_step",
    "check_greedy_decode",
    "check_inverse_sqrt_lr",
    "check_label_smoothed_loss",
]


# --- label_smoothed_loss(logits, target, smoothing, pad_id) ----------------------------------


def _loss_variant(
    *,
    log_probs=lambda logits: logits.log_softmax(dim=-1),
    spread: str = "all V tokens",
    weights=lambda smoothing: (1.0 - smoothing, smoothing),
    reduction: str = "mean over real tokens",
):
    """The loss built from parts; the defaults give the correct loss, and each mistake below
    swaps exactly one part for its wrong version."""

    def label_smoothed_loss(logits, target, smoothing, pad_id):
        logp = log_probs(logits)  # (B, T, V)
        V = logp.shape[-1]
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (B, T)
        if spread == "all V tokens":
            uniform = -logp.mean(dim=-1)  # ε / V on every token, the correct one included
        else:  # ε / (V - 1) on every token but the correct one
            uniform = (-logp.sum(dim=-1) - nll) / (V - 1)
        on_target, on_all = weights(smoothing)
        loss = on_target * nll + on_all * uniform  # (B, T)
        real = target != pad_id  # (B, T)
        if reduction == "mean over all positions":
            return loss.mean()
        if reduction == "zeroed padding, divided by all positions":
            return torch.where(real, loss, 0.0).sum() / target.numel()
        if reduction == "sum over real tokens":
            return torch.where(real, loss, 0.0).sum()
        if reduction == "mean of sentence means":
            per_sentence = torch.where(real, loss, 0.0).sum(dim=1) / real.sum(dim=1)
            return per_sentence.mean()
        return torch.where(real, loss, 0.0).sum() / real.sum()

    return label_smoothed_loss


_label_smoothed_loss = _loss_variant()
_loss_with_padding = _loss_variant(reduction="mean over all positions")
_loss_divided_by_all = _loss_variant(reduction="zeroed padding, divided by all positions")
_loss_summed = _loss_variant(reduction="sum over real tokens")
_loss_sentence_means = _loss_variant(reduction="mean of sentence means")
_loss_without_uniform = _loss_variant(weights=lambda smoothing: (1.0 - smoothing, 0.0))
_loss_weights_swapped = _loss_variant(weights=lambda smoothing: (smoothing, 1.0 - smoothing))
_loss_other_tokens = _loss_variant(spread="the V - 1 other tokens")
_loss_probabilities = _loss_variant(log_probs=lambda logits: logits.softmax(dim=-1))
_loss_log_of_softmax = _loss_variant(log_probs=lambda logits: logits.softmax(dim=-1).log())
_loss_softmax_over_positions = _loss_variant(log_probs=lambda logits: logits.log_softmax(dim=1))


def _loss_case(
    B: int, T: int, V: int, lengths: Sequence[int], pad_id: int, *, seed: int, scale=2.0
):
    """logits (B, T, V) ~ scale · N(0, 1) and targets (B, T) of the given lengths, padded with
    pad_id; the real targets avoid pad_id."""
    generator = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(B, T, V, generator=generator)
    target = torch.randint(0, V - 1, (B, T), generator=generator)
    target = target + (target >= pad_id).long()  # every id but pad_id
    target[torch.arange(T) >= torch.tensor(lengths)[:, None]] = pad_id
    return logits, target


check_label_smoothed_loss = Checker(
    exercise="label_smoothed_loss",
    library="torch",
    reference=_label_smoothed_loss,
    forbidden=dict.fromkeys(
        [
            "helpers.training.label_smoothed_cross_entropy",
            "torch.nn.functional.cross_entropy(label_smoothing)",
        ],
        "log_softmax gives log p; mix -log p[y] (gather) with the mean of -log p over the vocabulary, then average over the real tokens.",
    ),
    cases=[
        Case(
            "logits (2, 4, 6), ε = 0.1, pad_id = 0, targets of 4 and 2 tokens",
            (*_loss_case(2, 4, 6, [4, 2], 0, seed=0), 0.1, 0),
        ),
        Case(
            "logits (3, 5, 11), ε = 0.2, pad_id = 1, targets of 5, 1 and 3 tokens",
            (*_loss_case(3, 5, 11, [5, 1, 3], 1, seed=1), 0.2, 1),
        ),
        Case(
            "ε = 0 (plain cross-entropy), logits (2, 3, 5), no padding",
            (*_loss_case(2, 3, 5, [3, 3], 0, seed=2), 0.0, 0),
        ),
        Case(
            "a confident model: logits (2, 4, 7) of size up to about 300, ε = 0.1",
            (*_loss_case(2, 4, 7, [4, 3], 0, seed=3, scale=100.0), 0.1, 0),
        ),
    ],
    mistakes=[
        Mistake(
            "padding not ignored: the loss is averaged over every position, the padded ones "
            "included",
            "Padded positions are not words: mask them out with real = target != pad_id and "
            "average over the real tokens only, loss[real].mean().",
            _loss_with_padding,
        ),
        Mistake(
            "padding zeroed, but the sum divided by all B·T positions instead of the real tokens",
            "Divide by the number of real tokens, real.sum(), not by target.numel(): otherwise "
            "a batch with more padding gets a smaller loss.",
            _loss_divided_by_all,
        ),
        Mistake(
            "summed over the tokens instead of averaging",
            "Return the mean over the real tokens (sum / real.sum()), so that the loss does not "
            "grow with the batch size.",
            _loss_summed,
        ),
        Mistake(
            "averaged each sentence first and then the sentences, so short sentences weigh more",
            "Average over all real tokens of the batch at once: every token counts the same, "
            "whichever sentence it sits in.",
            _loss_sentence_means,
        ),
        Mistake(
            "only the (1 - ε) part: the ε · uniform term is missing",
            "The smoothed target also puts ε / V on every token: loss = (1 - ε) · (-log p[y]) "
            "+ ε · mean over v of (-log p[v]).",
            _loss_without_uniform,
        ),
        Mistake(
            "ε and 1 - ε swapped",
            "Most of the mass, 1 - ε, stays on the correct token: (1 - ε) · (-log p[y]) + "
            "ε · mean_v(-log p[v]).",
            _loss_weights_swapped,
        ),
        Mistake(
            "the mass ε spread over the V - 1 wrong tokens instead of all V tokens",
            "That is another valid convention, but this course (like F.cross_entropy's "
            "label_smoothing) puts ε / V on every token, the correct one included: use the mean "
            "of -log p over all V tokens.",
            _loss_other_tokens,
        ),
        Mistake(
            "used the probabilities (softmax) instead of the log-probabilities (log_softmax)",
            "Cross-entropy is -log p: take logits.log_softmax(dim=-1), not softmax.",
            _loss_probabilities,
        ),
        Mistake(
            "took the log of the softmax, which underflows to log(0) = -inf for very unlikely "
            "tokens",
            "Use logits.log_softmax(dim=-1): it computes log p stably. The smoothing term looks "
            "at every token, so even one probability that rounds to 0 makes the loss infinite.",
            _loss_log_of_softmax,
        ),
        Mistake(
            "log_softmax over the positions (dim 1) instead of the vocabulary (dim -1)",
            "Each position has a distribution over the V tokens: logits.log_softmax(dim=-1).",
            _loss_softmax_over_positions,
        ),
    ],
)


# --- inverse_sqrt_lr(step, d_model, warmup_steps) ------------------------------------------


def _lr_variant(
    *,
    scale=lambda d_model: d_model**-0.5,
    warmup_power: float = -1.5,
    pick=min,
    offset: int = 0,
):
    """The schedule built from parts; the defaults give the correct one, and each mistake below
    swaps exactly one part for its wrong version."""

    def inverse_sqrt_lr(step, d_model, warmup_steps):
        step = step + offset
        return scale(d_model) * pick(step**-0.5, step * warmup_steps**warmup_power)

    return inverse_sqrt_lr


_inverse_sqrt_lr = _lr_variant()
_lr_warmup_power_one = _lr_variant(warmup_power=-1.0)
_lr_no_scale = _lr_variant(scale=lambda d_model: 1.0)
_lr_scale_inverted = _lr_variant(scale=lambda d_model: d_model**0.5)
_lr_max = _lr_variant(pick=max)
_lr_step_plus_one = _lr_variant(offset=1)
_lr_step_minus_one = _lr_variant(offset=-1)

check_inverse_sqrt_lr = Checker(
    exercise="inverse_sqrt_lr",
    library="torch",
    reference=_inverse_sqrt_lr,
    forbidden=dict.fromkeys(
        [
            "helpers.training.inverse_sqrt_lr",
            "helpers.training.inverse_sqrt_schedule",
        ],
        "D^-0.5 times the smaller of step^-0.5 and step · warmup^-1.5.",
    ),
    cases=[
        Case("step = 1, D = 512, warmup = 4000 (the very first update)", (1, 512, 4000)),
        Case("step = 1000, D = 512, warmup = 4000 (warming up)", (1000, 512, 4000)),
        Case("step = 4000 = warmup, D = 512 (the peak)", (4000, 512, 4000)),
        Case("step = 40000, D = 512, warmup = 4000 (decaying)", (40000, 512, 4000)),
        Case("step = 250, D = 128, warmup = 100", (250, 128, 100)),
    ],
    mistakes=[
        Mistake(
            "warmup^-1 instead of warmup^-1.5 in the warm-up branch",
            "The warm-up line is step · warmup^-1.5, chosen so that both branches meet at "
            "step = warmup: warmup · warmup^-1.5 = warmup^-0.5.",
            _lr_warmup_power_one,
        ),
        Mistake(
            "the factor D^-0.5 is missing",
            "Multiply by d_model ** -0.5: a wider model takes smaller steps.",
            _lr_no_scale,
        ),
        Mistake(
            "multiplied by √D instead of dividing by it",
            "The factor is d_model ** -0.5 = 1 / √D, not d_model ** 0.5.",
            _lr_scale_inverted,
        ),
        Mistake(
            "max instead of min",
            "The rate follows the smaller of the two branches: the rising line step · "
            "warmup^-1.5 during warm-up, then the falling step^-0.5.",
            _lr_max,
        ),
        Mistake(
            "computed the rate of step + 1 (steps counted from 0 and shifted)",
            "step is already 1 for the first update: use it as it is. (It is LambdaLR that "
            "counts from 0; helpers.training.inverse_sqrt_schedule adds the 1 for it.)",
            _lr_step_plus_one,
        ),
        Mistake(
            "computed the rate of step - 1, so the first update (step = 1) divides by zero",
            "step is 1 for the first update and the formula needs step >= 1: use step as it "
            "is, without subtracting 1.",
            _lr_step_minus_one,
        ),
    ],
    atol=0.0,
    rtol=1e-6,
)


# --- greedy_decode(model, src, bos_id, eos_id, max_len) -------------------------------------

PAD, BOS, EOS = 0, 1, 2  # the ids of the decoding cases; tokens 3 ... V - 1 are words


class _ScriptedTranslator(nn.Module):
    """A stand-in model with ``Seq2SeqTransformer``'s ``encode``/``decode`` whose translations
    are known by hand: the source whose first token is ``a`` translates to ``script[a]``.

    ``decode`` returns (B, T, V) logits. At position i it predicts the next word of the
    script if the prefix up to i is the script's own (``bos`` then its first i words), eos
    once the script is done, and, after any other prefix, a token that depends on the token
    at i and on i, so that a decoder that drops the prefix, reads the wrong position or
    feeds in something else goes visibly astray. A script of ``None`` never ends: it repeats
    its source's second token.
    """

    def __init__(self, script: dict[int, list[int] | None], vocab_size: int = 9) -> None:
        super().__init__()
        self.script, self.vocab_size = script, vocab_size

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return src.float().unsqueeze(-1)  # (B, S, 1): the "memory" carries the source

    def real_tokens(self, src: torch.Tensor) -> torch.Tensor:
        return src != PAD

    def _next(self, source: list[int], prefix: list[int]) -> int:
        words = self.script[source[0]]
        if words is None:
            words = [source[1]] * (len(prefix) + 1)
        i = len(prefix) - 1
        if prefix == [BOS, *words[:i]]:
            return words[i] if i < len(words) else EOS
        return 3 + (3 * prefix[-1] + i) % (self.vocab_size - 3)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, memory_real: torch.Tensor):
        if memory_real is None or memory_real.shape != memory.shape[:2]:
            raise ValueError(
                "decode(tgt, memory, memory_real) needs the (B, S) real-token mask of the "
                "source as its third argument: model.real_tokens(src)"
            )
        sources = memory[..., 0].long().tolist()  # from memory: each row its own sentence
        logits = torch.zeros(*tgt.shape, self.vocab_size)
        for b, (source, row) in enumerate(zip(sources, tgt.tolist(), strict=True)):
            for i in range(len(row)):
                logits[b, i] = torch.linspace(-1.0, 0.0, self.vocab_size)  # ties: no draw
                logits[b, i, self._next(source, row[: i + 1])] = 5.0
        return logits


def _greedy_variant(
    *,
    prefix=lambda tgt: tgt,
    position: int = -1,
    vocabulary_dim: int = -1,
    stop: str = "every sentence ended",
    steps=lambda max_len: max_len,
    keep: str = "words only",
):
    """Greedy decoding built from parts; the defaults give the correct decoder, and each
    mistake below swaps exactly one part for its wrong version."""

    def greedy_decode(model, src, bos_id, eos_id, max_len):
        memory = model.encode(src)  # (B, S, D)
        tgt = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
        ended = torch.zeros(src.shape[0], dtype=torch.bool)
        with torch.no_grad():
            for _ in range(steps(max_len)):
                logits = model.decode(prefix(tgt), memory, model.real_tokens(src))  # (B, t, V)
                next_token = logits.argmax(dim=vocabulary_dim)[:, position]  # (B,)
                tgt = torch.cat([tgt, next_token[:, None]], dim=1)
                ended |= next_token == eos_id
                if (stop == "every sentence ended" and ended.all()) or (
                    stop == "one sentence ended" and ended.any()
                ):
                    break
        outputs = []
        for row in tgt.tolist():
            end = row.index(eos_id) if eos_id in row and keep != "everything" else len(row)
            first = 0 if keep == "bos" else 1
            outputs.append(row[first : end + (keep == "eos")])
        return outputs

    return greedy_decode


_greedy_decode = _greedy_variant()
_greedy_never_stops = _greedy_variant(stop="never", keep="everything")
_greedy_keeps_eos = _greedy_variant(keep="eos")
_greedy_keeps_bos = _greedy_variant(keep="bos")
_greedy_last_token_only = _greedy_variant(prefix=lambda tgt: tgt[:, -1:])
_greedy_first_position = _greedy_variant(position=0)
_greedy_argmax_positions = _greedy_variant(vocabulary_dim=1)
_greedy_stops_at_first_eos = _greedy_variant(stop="one sentence ended")
_greedy_one_step_short = _greedy_variant(steps=lambda max_len: max_len - 1)


class _IdListsChecker(Checker):
    """A ``Checker`` for functions that return one list of token ids per sentence: the lists
    have different lengths, so each result is compared as a tuple of 1-D integer arrays (a
    tensor result is compared row by row)."""

    def _run(self, fn, case):
        result = super()._run(fn, case)
        if torch.is_tensor(result) and result.ndim == 2:
            result = list(result)
        if isinstance(result, (list, tuple)) and all(
            isinstance(row, (list, tuple)) or torch.is_tensor(row) for row in result
        ):
            return tuple(np.asarray([int(i) for i in row], dtype=np.int64) for row in result)
        return result


def _decode_sources(*rows: list[int]) -> torch.Tensor:
    """Source sentences (ids, each ending with eos) as one padded (B, S) batch."""
    S = max(len(row) for row in rows) + 1
    src = torch.full((len(rows), S), PAD)
    for b, row in enumerate(rows):
        src[b, : len(row) + 1] = torch.tensor([*row, EOS])
    return src


def _small_transformer() -> Seq2SeqTransformer:
    """A tiny Seq2SeqTransformer with seeded random weights, in eval mode, that never predicts
    pad or bos; of the sentences of the fourth case below, one ends after 3 words."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        model = Seq2SeqTransformer(10, 10, 16, 2, 1, 1, 32, dropout=0.0, pad_id=PAD)
        with torch.no_grad():
            model.generator.bias[[PAD, BOS]] -= 10.0
            model.generator.bias[EOS] += 0.3
    return model.eval()


_SCRIPT = {3: [5, 4, 6], 4: [7, 7, 3, 5, 8], 5: [], 6: None, 7: [8]}

check_greedy_decode = _IdListsChecker(
    exercise="greedy_decode",
    library="torch",
    reference=_greedy_decode,
    forbidden=dict.fromkeys(
        [
            "helpers.decoding.greedy_decode",
            "helpers.decoding.beam_search",
            "helpers.decoding.translate",
        ],
        "encode once, then decode the prefix, append the argmax of its last position, and stop at <eos> or max_len.",
    ),
    cases=[
        Case(
            "one sentence whose translation is 3 words long (a scripted model), max_len = 10",
            (_ScriptedTranslator(_SCRIPT), _decode_sources([3, 8]), BOS, EOS, 10),
        ),
        Case(
            "a batch of 3 sentences whose translations have 5, 0 and 1 words, max_len = 10",
            (_ScriptedTranslator(_SCRIPT), _decode_sources([4, 3, 5], [5], [7, 4]), BOS, EOS, 10),
        ),
        Case(
            "two sentences, one that never produces eos, cut off at max_len = 6",
            (_ScriptedTranslator(_SCRIPT), _decode_sources([6, 8], [3]), BOS, EOS, 6),
        ),
        Case(
            "a small random Seq2SeqTransformer, 4 padded sentences, max_len = 8",
            (
                _small_transformer(),
                _decode_sources([3, 4, 5, 6], [7], [8, 9, 3], [4, 4]),
                BOS,
                EOS,
                8,
            ),
        ),
    ],
    mistakes=[
        Mistake(
            "never stopped at eos: ran all max_len steps and returned everything generated",
            "Stop a sentence at its first eos: cut each row there (row[:row.index(eos_id)]), "
            "and stop the loop once every sentence has produced one.",
            _greedy_never_stops,
        ),
        Mistake(
            "the eos is kept at the end of the output",
            "Return the words only: cut each row before its first eos, row[1:row.index(eos_id)].",
            _greedy_keeps_eos,
        ),
        Mistake(
            "the bos is kept at the start of the output",
            "The target starts with bos for the decoder's sake only: drop it, row[1:].",
            _greedy_keeps_bos,
        ),
        Mistake(
            "decoded only the last token instead of the whole prefix",
            "The decoder needs everything generated so far: model.decode(tgt, memory, memory_real) "
            "with "
            "the full (B, t) prefix, then read the prediction at the last position.",
            _greedy_last_token_only,
        ),
        Mistake(
            "read the prediction at the first position instead of the last",
            "decode returns one prediction per position, (B, t, V); the next token is the one "
            "predicted at the last position: logits[:, -1].argmax(dim=-1).",
            _greedy_first_position,
        ),
        Mistake(
            "argmax over the positions (dim 1) instead of the vocabulary",
            "The next token is the most likely entry of the vocabulary: take the argmax over "
            "the last dimension, V, e.g. logits[:, -1].argmax(dim=-1).",
            _greedy_argmax_positions,
        ),
        Mistake(
            "stopped the whole batch as soon as one sentence produced eos",
            "Keep decoding until every sentence has ended (ended.all(), not ended.any()); "
            "the ones that are done just ignore what comes after their eos.",
            _greedy_stops_at_first_eos,
        ),
        Mistake(
            "generated max_len - 1 tokens, one too few",
            "max_len counts the generated tokens (eos included), not bos: loop "
            "range(max_len) times.",
            _greedy_one_step_short,
        ),
    ],
)


# --- beam_step(scores, log_probs, n) -----------------------------------------------------------


def _beam_variant(
    *,
    totals=lambda scores, log_probs: scores[:, None] + log_probs,
    per_hypothesis: bool = False,
    divisor: str = "V",
    pick: str = "largest first",
    returned: str = "totals",
):
    """One step of beam search built from parts; the defaults give the correct step, and each
    mistake below swaps exactly one part for its wrong version."""

    def beam_step(scores, log_probs, n):
        k, V = log_probs.shape
        candidates = totals(scores, log_probs)  # (k, V): the score of every continuation
        if per_hypothesis:  # only the best token of each hypothesis competes
            best, tokens = candidates.max(dim=-1)  # (k,)
            top_scores, parents = best.topk(n)
            return top_scores, parents, tokens[parents]
        flat = candidates.flatten()  # (k · V,): index = parent · V + token
        if pick == "largest first":
            top_scores, top = flat.topk(n)
        elif pick == "smallest":
            top_scores, top = flat.topk(n, largest=False)
        else:  # the n largest, but in ascending order
            top = flat.argsort()[-n:]
            top_scores = flat[top]
        if divisor == "V":
            parents, tokens = top // V, top % V
        else:
            parents, tokens = top % k, top // k
        if returned == "log-probabilities of the new tokens":
            top_scores = log_probs[parents, tokens]
        elif returned == "probabilities":
            top_scores = top_scores.exp()
        return top_scores, parents, tokens

    return beam_step


_beam_step = _beam_variant()
_beam_ignores_scores = _beam_variant(totals=lambda scores, log_probs: log_probs)
_beam_best_token_each = _beam_variant(per_hypothesis=True)
_beam_parent_by_k = _beam_variant(divisor="k")
_beam_smallest = _beam_variant(pick="smallest")
_beam_ascending = _beam_variant(pick="ascending")
_beam_new_token_only = _beam_variant(returned="log-probabilities of the new tokens")
_beam_probabilities = _beam_variant(returned="probabilities")
_beam_probabilities_added = _beam_variant(
    totals=lambda scores, log_probs: scores[:, None] + log_probs.exp()
)


def _beam_case(scores: list[float], V: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hypothesis scores (k,) and random next-token log-probabilities (k, V)."""
    generator = torch.Generator().manual_seed(seed)
    log_probs = (2.0 * torch.randn(len(scores), V, generator=generator)).log_softmax(dim=-1)
    return torch.tensor(scores), log_probs


check_beam_step = Checker(
    exercise="beam_step",
    library="torch",
    reference=_beam_step,
    forbidden=dict.fromkeys(
        ["helpers.decoding.beam_search", "helpers.decoding.translate"],
        "add each hypothesis's score to its next-token log-probabilities, flatten the (k, V) "
        "scores, take the n largest, and split each index into parent (// V) and token (% V).",
    ),
    cases=[
        Case(
            "3 live hypotheses of scores -1.2, -0.3, -2.5, V = 6, n = 3",
            (*_beam_case([-1.2, -0.3, -2.5], 6, seed=0), 3),
        ),
        Case(
            "the first step: one hypothesis (just <bos>, score 0), V = 7, n = 4",
            (*_beam_case([0.0], 7, seed=1), 4),
        ),
        Case(
            "2 hypotheses, V = 5, n = 4 (twice as many as the beam, as beam search asks for)",
            (*_beam_case([-0.7, -1.1], 5, seed=2), 4),
        ),
        Case(
            "4 hypotheses of which 3 are impossible (score -inf), V = 5, n = 4",
            (*_beam_case([0.0, -math.inf, -math.inf, -math.inf], 5, seed=3), 4),
        ),
    ],
    mistakes=[
        Mistake(
            "ranked the continuations by the new token's log-probability alone, forgetting the "
            "score of the hypothesis it extends",
            "A continuation's score is the whole sentence's: scores[:, None] + log_probs.",
            _beam_ignores_scores,
        ),
        Mistake(
            "let only the best token of each hypothesis compete",
            "Every token of every hypothesis is a candidate: take the n best of all k · V "
            "scores (flatten them), so that one good hypothesis may fill several places.",
            _beam_best_token_each,
        ),
        Mistake(
            "split the flat index with k instead of V (parent = index % k, token = index // k)",
            "Flattening (k, V) row by row puts parent p, token t at index p · V + t: parent = "
            "index // V, token = index % V.",
            _beam_parent_by_k,
        ),
        Mistake(
            "kept the n smallest scores instead of the largest",
            "Log-probabilities are at most 0 and the best are the largest (closest to 0): "
            "topk(n) keeps the largest.",
            _beam_smallest,
        ),
        Mistake(
            "the right n continuations, but worst first",
            "Return them best first (topk sorts in descending order; argsort ascends).",
            _beam_ascending,
        ),
        Mistake(
            "returned the new token's log-probability instead of the total score",
            "The new hypotheses carry their total: score of the parent + log p(token), the "
            "value you ranked them by.",
            _beam_new_token_only,
        ),
        Mistake(
            "returned probabilities (exp of the scores) instead of log-probabilities",
            "Keep scores as log-probabilities: the product of 30 probabilities underflows, "
            "their sum of logs does not.",
            _beam_probabilities,
        ),
        Mistake(
            "added the new token's probability instead of its log-probability",
            "Sentence log-probabilities add up log-probabilities: scores[:, None] + log_probs, "
            "without exp.",
            _beam_probabilities_added,
        ),
    ],
)
