"""Checkers for the exercises of `07_why_attention`.

- ``check_best_possible_accuracy(best_possible_accuracy)``: a *prediction*, made before the
  models train: ``best_possible_accuracy(d, receptive_field)``, the highest accuracy any causal
  CNN with that receptive field can reach on the distance task at distance d (8 keys)
- ``check_layers_to_connect(layers_to_connect)``: ``layers_to_connect(n, kernel_size,
  dilation_base)``, the fewest convolution layers (layer j dilated by ``dilation_base ** j``)
  whose last output sees the first of n positions: a maximum path length, computed
- ``check_dot_attention(dot_attention)``: ``dot_attention(decoder_states, encoder_states,
  source_real) -> (context (B, T, D), weights (B, T, S))``, Luong's dot attention over the
  encoder's states, padding masked

Each mistake below is a small wrong implementation, tried in order; the test cases are chosen
so that every mistake is caught, and named, at the first case where it goes wrong
(``tests/test_exercises_why_attention.py`` proves it).
"""

from __future__ import annotations

import math

import torch

from helpers.exercises.checking import Case, Checker, Mistake
from helpers.recurrence import NUM_KEYS, VOCAB_SIZE

__all__ = ["check_best_possible_accuracy", "check_dot_attention", "check_layers_to_connect"]


# --- best_possible_accuracy(d, receptive_field) -> float ---------------------------------------


def _best_possible_accuracy(d: int, receptive_field: int) -> float:
    """The key stands d positions before the last; the last output sees receptive_field inputs,
    the last one and the receptive_field - 1 before it. Out of sight, every key is a guess."""
    return 1.0 if d <= receptive_field - 1 else 1 / NUM_KEYS


check_best_possible_accuracy = Checker(
    exercise="best_possible_accuracy",
    library="torch",
    reference=_best_possible_accuracy,
    cases=[
        Case("d = 4, receptive field 17", (4, 17)),
        Case("d = 64, receptive field 17", (64, 17)),
        Case("d = 16, receptive field 17 (the key at the window's first position)", (16, 17)),
        Case("d = 17, receptive field 17 (the key just outside)", (17, 17)),
        Case("d = 256, receptive field 1000", (256, 1000)),
    ],
    mistakes=[
        Mistake(
            "off by one: the key at distance d = receptive_field counted as visible",
            "The last output sees itself and the receptive_field - 1 positions before it, so "
            "the farthest distance it reaches is receptive_field - 1.",
            lambda d, receptive_field: 1.0 if d <= receptive_field else 1 / NUM_KEYS,
        ),
        Mistake(
            "no ceiling: a CNN that trains long enough always finds the key",
            "The last output is computed from its receptive field only. When the key lies "
            "outside it, no weights can make the output depend on the key.",
            lambda d, receptive_field: 1.0,
        ),
        Mistake(
            "accuracy 0 when the key is out of sight",
            "A model that cannot see the key still answers one of the 8 keys, and one of them "
            "is right: it can do as well as a guess, 1 / 8.",
            lambda d, receptive_field: 1.0 if d < receptive_field else 0.0,
        ),
        Mistake(
            "a guess over the whole vocabulary, 1 / 16",
            f"Only the {NUM_KEYS} key tokens can be answers (the {VOCAB_SIZE - NUM_KEYS} "
            "distractors never are), and each is equally likely: a guess is right 1 time in 8.",
            lambda d, receptive_field: 1.0 if d < receptive_field else 1 / VOCAB_SIZE,
        ),
        Mistake(
            "a guess is right half the time",
            "The answer is one of 8 equally likely keys, not right-or-wrong: a blind guess is "
            "right 1 time in 8.",
            lambda d, receptive_field: 1.0 if d < receptive_field else 0.5,
        ),
    ],
)


# --- layers_to_connect(n, kernel_size, dilation_base) -> int -----------------------------------


def _receptive_fields(kernel_size: int, dilation_base: int, step: int | None = None):
    """Receptive fields after 0, 1, 2, ... layers; layer j adds step · dilation_base ** j."""
    step = kernel_size - 1 if step is None else step
    field, j = 1, 0
    while True:
        yield j, field
        field += step * dilation_base**j
        j += 1


def _layers_to_connect(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    """Fewest layers whose receptive field, 1 + (k - 1) · Σ_j base^j, reaches n positions."""
    return next(j for j, field in _receptive_fields(kernel_size, dilation_base) if field >= n)


def _one_layer_short(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    """The most layers whose receptive field does not exceed n: rounded down."""
    fields = _receptive_fields(kernel_size, dilation_base)
    return next(j for j, field in fields if field > n) - 1


def _needs_n_plus_one(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    return _layers_to_connect(n + 1, kernel_size, dilation_base)


def _kernel_size_per_layer(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    fields = _receptive_fields(kernel_size, dilation_base, step=kernel_size)
    return next(j for j, field in fields if field >= n)


def _ignores_dilation(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    return _layers_to_connect(n, kernel_size, 1)


def _log_base_two(n: int, kernel_size: int, dilation_base: int = 1) -> int:
    if dilation_base == 1:
        return _layers_to_connect(n, kernel_size, 1)
    return math.ceil(math.log2(n))


check_layers_to_connect = Checker(
    exercise="layers_to_connect",
    library="torch",
    reference=_layers_to_connect,
    cases=[
        Case("n = 256 positions, kernel 5, no dilation", (256, 5, 1)),
        Case("n = 17 positions, kernel 5, no dilation", (17, 5, 1)),
        Case("n = 256 positions, kernel 2, dilations 1, 2, 4, ... (WaveNet)", (256, 2, 2)),
        Case("n = 100 positions, kernel 3, dilations 1, 3, 9, ...", (100, 3, 3)),
        Case("n = 9 positions, kernel 3, dilations 1, 2, 4, ...", (9, 3, 2)),
        Case("n = 1000 positions, kernel 3, no dilation", (1000, 3, 1)),
    ],
    mistakes=[
        Mistake(
            "rounded down: the last layer's receptive field stops short of n",
            "You need a receptive field of at least n; when (n - 1) / (k - 1) is not a whole "
            "number, round the layer count up (math.ceil), not down.",
            _one_layer_short,
        ),
        Mistake(
            "each layer adds kernel_size positions, not kernel_size - 1",
            "A kernel of width k covers the position itself and k - 1 before it: each layer "
            "widens the receptive field by (k - 1) · dilation.",
            _kernel_size_per_layer,
        ),
        Mistake(
            "asked for n + 1 positions: counted the first position as a hop",
            "With 0 layers the last output already sees 1 position, itself: the receptive "
            "field after L layers is 1 + (k - 1) · (sum of the dilations), and it must reach n.",
            _needs_n_plus_one,
        ),
        Mistake(
            "ignored the dilation",
            "Layer j skips dilation_base ** j positions between its taps, so it widens the "
            "receptive field by (k - 1) · dilation_base ** j: the field grows geometrically.",
            _ignores_dilation,
        ),
        Mistake(
            "took log2(n) for every dilated stack",
            "log2 fits kernel 2 with dilations 1, 2, 4, ... only. In general add the layers' "
            "widenings, (k - 1) · base ** j, until the receptive field reaches n.",
            _log_base_two,
        ),
    ],
)


# --- dot_attention(decoder_states, encoder_states, source_real) --------------------------------


def _dot_attention(decoder_states, encoder_states, source_real):
    """context (B, T, D), weights (B, T, S): softmax over the real source positions of h_t · s_j."""
    scores = decoder_states @ encoder_states.transpose(1, 2)  # (B, T, S)
    scores = scores.masked_fill(~source_real[:, None, :], float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ encoder_states, weights


def _no_mask(decoder_states, encoder_states, source_real):
    weights = torch.softmax(decoder_states @ encoder_states.transpose(1, 2), dim=-1)
    return weights @ encoder_states, weights


def _softmax_over_targets(decoder_states, encoder_states, source_real):
    scores = decoder_states @ encoder_states.transpose(1, 2)
    weights = torch.softmax(scores.masked_fill(~source_real[:, None, :], float("-inf")), dim=1)
    return weights.nan_to_num(0.0) @ encoder_states, weights.nan_to_num(0.0)


def _scaled(decoder_states, encoder_states, source_real):
    scale = decoder_states.shape[-1] ** 0.5
    return _dot_attention(decoder_states / scale, encoder_states, source_real)


def _masked_after_softmax(decoder_states, encoder_states, source_real):
    weights = torch.softmax(decoder_states @ encoder_states.transpose(1, 2), dim=-1)
    weights = weights * source_real[:, None, :]
    return weights @ encoder_states, weights


def _masked_with_zero(decoder_states, encoder_states, source_real):
    scores = decoder_states @ encoder_states.transpose(1, 2)
    weights = torch.softmax(scores.masked_fill(~source_real[:, None, :], 0.0), dim=-1)
    return weights @ encoder_states, weights


def _fixed_context(decoder_states, encoder_states, source_real):
    B, T, _ = decoder_states.shape
    last = source_real.sum(dim=1) - 1  # (B,)
    weights = torch.nn.functional.one_hot(last, encoder_states.shape[1]).float()  # (B, S)
    weights = weights[:, None, :].expand(B, T, -1)
    return weights @ encoder_states, weights


def _states(B: int, L: int, D: int, seed: int) -> torch.Tensor:
    return torch.randn(B, L, D, generator=torch.Generator().manual_seed(seed))


def _real(lengths: list[int], S: int) -> torch.Tensor:
    return torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]


check_dot_attention = Checker(
    exercise="dot_attention",
    library="torch",
    reference=_dot_attention,
    cases=[
        Case(
            "B = 2 sentences, T = 3 target positions, S = 5 source positions (the second "
            "sentence has 3 real words and 2 paddings), D = 4",
            (_states(2, 3, 4, seed=1), _states(2, 5, 4, seed=2), _real([5, 3], 5)),
        ),
        Case(
            "B = 1, T = 1, S = 6, no padding, D = 8",
            (_states(1, 1, 8, seed=3), _states(1, 6, 8, seed=4), _real([6], 6)),
        ),
        Case(
            "B = 3, T = 4, S = 4 (lengths 4, 2, 1), D = 2",
            (_states(3, 4, 2, seed=5), _states(3, 4, 2, seed=6), _real([4, 2, 1], 4)),
        ),
    ],
    mistakes=[
        Mistake(
            "the fixed context: the encoder's last state, whatever the decoder asks",
            "That is the 2014 model without attention. Score every encoder state against the "
            "decoder state, h_t · s_j, and average the states with the softmax of the scores.",
            _fixed_context,
        ),
        Mistake(
            "no padding mask: padded source positions get weight too",
            "Padding is not part of the sentence. Set the scores of positions where "
            "source_real is False to -inf before the softmax.",
            _no_mask,
        ),
        Mistake(
            "the softmax runs over the target positions (dim=1), not over the source",
            "Each target position t distributes its attention over the S source positions: "
            "the weights of one row, scores[b, t, :], must sum to 1 (softmax over dim=-1).",
            _softmax_over_targets,
        ),
        Mistake(
            "the scores divided by √D",
            "Luong's dot score is the plain dot product h_t · s_j; the 1/√D scaling is the "
            "Transformer's (notebook 02). Leave it out here.",
            _scaled,
        ),
        Mistake(
            "masked after the softmax, without renormalising",
            "Zeroing weights after the softmax leaves rows that sum to less than 1. Mask the "
            "scores (-inf) before the softmax, so the real positions share all the weight.",
            _masked_after_softmax,
        ),
        Mistake(
            "masked with 0 instead of -inf",
            "A score of 0 still gets exp(0) = 1 in the softmax, so the padding keeps weight. "
            "Use float('-inf'): exp(-inf) = 0.",
            _masked_with_zero,
        ),
    ],
    forbidden={
        "helpers.attention.scaled_dot_product_attention": (
            "scores h_t · s_j with @, mask them, softmax over the source, weighted sum."
        ),
        "torch.nn.functional.scaled_dot_product_attention": (
            "scores h_t · s_j with @, mask them, softmax over the source, weighted sum."
        ),
    },
)
