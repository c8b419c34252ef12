"""Checkers for the exercises of `09_beyond_translation` (PyTorch).

- ``check_top_k_distribution(top_k_distribution)``: ``top_k_distribution(logits, k,
  temperature)`` -> the (B, V) probabilities a GPT samples its next token from: softmax of
  ``logits / temperature`` over the ``k`` largest logits of each row, 0 elsewhere
- ``check_predicted_masking(predicted_masking)``: ``predicted_masking()`` -> three shares
  predicted by hand for BERT's 15 % · (80/10/10) rule, compared within 0.006: of the
  maskable input tokens, the share that is [MASK] and the share that differs from the
  original; of the tokens the loss is computed on, the share whose input is the original
- ``check_patchify(patchify)``: ``patchify(images, patch_size)`` -> (B, N, P·P) from
  grey-scale images (B, H, W): patches row by row, each flattened row by row

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_beyond_translation.py`` proves it.
A solution that merely calls the course's ``helpers.model_families.next_token_distribution``
or ``patchify``, or ``torch.nn.functional.unfold``, is refused (``forbidden``).
"""

from __future__ import annotations

import torch

from helpers.exercises.checking import Case, Checker, Mistake

__all__ = ["check_patchify", "check_predicted_masking", "check_top_k_distribution"]


# --- top_k_distribution(logits, k, temperature) ---------------------------------------------


def _top_k_variant(*, temperature_applied=lambda logits, temperature: logits / temperature):
    """The distribution built from parts; the default is the correct one, and each mistake
    below that concerns the temperature swaps that part for its wrong version."""

    def top_k_distribution(logits, k, temperature):
        scaled = temperature_applied(logits, temperature)
        kth = scaled.topk(k, dim=-1).values[..., -1:]  # (B, 1): each row's k-th largest logit
        return torch.softmax(scaled.masked_fill(scaled < kth, float("-inf")), dim=-1)

    return top_k_distribution


_top_k_distribution = _top_k_variant()
_top_k_temperature_multiplied = _top_k_variant(
    temperature_applied=lambda logits, temperature: logits * temperature
)
_top_k_temperature_ignored = _top_k_variant(temperature_applied=lambda logits, temperature: logits)


def _top_k_without_renormalising(logits, k, temperature):
    probs = torch.softmax(logits / temperature, dim=-1)
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return probs.masked_fill(logits < kth, 0.0)


def _top_k_smallest(logits, k, temperature):
    kth = logits.topk(k, dim=-1, largest=False).values[..., -1:]
    return torch.softmax((logits / temperature).masked_fill(logits > kth, float("-inf")), dim=-1)


def _top_k_strict(logits, k, temperature):
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return torch.softmax((logits / temperature).masked_fill(logits <= kth, float("-inf")), -1)


def _top_k_zero_not_minus_inf(logits, k, temperature):
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return torch.softmax((logits / temperature).masked_fill(logits < kth, 0.0), dim=-1)


def _top_k_over_the_batch(logits, k, temperature):
    kth = logits.topk(min(k, logits.shape[0]), dim=0).values[-1:]
    return torch.softmax((logits / temperature).masked_fill(logits < kth, float("-inf")), -1)


def _top_k_filtered_logits(logits, k, temperature):
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return (logits / temperature).masked_fill(logits < kth, float("-inf"))


def _logits_case(B: int, V: int, *, seed: int, scale: float = 2.0) -> torch.Tensor:
    """(B, V) logits without ties: a random permutation of evenly spaced values per row."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.linspace(-scale, scale, V)
    return torch.stack([values[torch.randperm(V, generator=generator)] for _ in range(B)])


check_top_k_distribution = Checker(
    exercise="top_k_distribution",
    library="torch",
    reference=_top_k_distribution,
    cases=[
        Case("logits (2, 6), k = 3, temperature 1", (_logits_case(2, 6, seed=0), 3, 1.0)),
        Case("logits (3, 8), k = 2, temperature 0.5", (_logits_case(3, 8, seed=1), 2, 0.5)),
        Case(
            "logits (2, 5), k = 5 (every token), temperature 2",
            (_logits_case(2, 5, seed=2), 5, 2.0),
        ),
        Case(
            "logits (2, 7), k = 1 (greedy), temperature 1.5", (_logits_case(2, 7, seed=3), 1, 1.5)
        ),
        Case(
            "large logits (4, 10) up to ±80, k = 4, temperature 0.8",
            (_logits_case(4, 10, seed=4, scale=80.0), 4, 0.8),
        ),
    ],
    mistakes=[
        Mistake(
            "returned the filtered logits, not probabilities",
            "Finish with a softmax over the vocabulary: the result must be a distribution, each "
            "row non-negative and summing to 1.",
            _top_k_filtered_logits,
        ),
        Mistake(
            "zeroed the probabilities outside the top k without renormalising",
            "After removing tokens the row sums to less than 1: either renormalise (divide by "
            "the row sum) or set the removed logits to -inf before the softmax.",
            _top_k_without_renormalising,
        ),
        Mistake(
            "set the removed logits to 0 instead of -inf",
            "A logit of 0 still gets probability exp(0) / Z > 0: fill the tokens outside the "
            "top k with float('-inf'), which the softmax turns into exactly 0.",
            _top_k_zero_not_minus_inf,
        ),
        Mistake(
            "kept the k smallest logits instead of the k largest",
            "Top-k keeps the k most likely tokens: logits.topk(k, dim=-1) returns the largest "
            "by default (largest=True).",
            _top_k_smallest,
        ),
        Mistake(
            "removed the k-th largest logit itself (a strict comparison), keeping k - 1 tokens",
            "Keep every logit >= the k-th largest one; remove only those strictly below it.",
            _top_k_strict,
        ),
        Mistake(
            "took the top k over the batch (dim 0) instead of over the vocabulary",
            "Each row is one sequence's distribution over the V tokens: take topk(k, dim=-1).",
            _top_k_over_the_batch,
        ),
        Mistake(
            "multiplied the logits by the temperature instead of dividing",
            "softmax(logits / temperature): a temperature below 1 sharpens the distribution, "
            "above 1 flattens it.",
            _top_k_temperature_multiplied,
        ),
        Mistake(
            "the temperature has no effect",
            "Divide the logits by the temperature before the softmax; dividing the "
            "probabilities by it changes nothing once they are renormalised.",
            _top_k_temperature_ignored,
        ),
    ],
    forbidden={
        "helpers.model_families.next_token_distribution": "divide by the temperature, set the "
        "logits below the k-th largest to -inf, then take the softmax."
    },
)


# --- predicted_masking() -> three shares, predicted by hand --------------------------------
# 15 % of the maskable tokens are chosen; of those, 80 % become [MASK], 10 % a random word
# (drawn from about 700, so it is the original only 1 time in 700: neglected within 0.006)
# and 10 % stay as they are.


def _predicted_masking():
    return (0.15 * 0.8, 0.15 * 0.9, 0.1)


def _masking_forgot_the_fifteen_percent():
    return (0.8, 0.9, 0.1)


def _masking_every_chosen_token_changes():
    return (0.12, 0.15, 0.0)


def _masking_random_counts_as_unchanged():
    return (0.12, 0.12, 0.2)


def _masking_unchanged_share_forgotten():
    return (0.12, 0.135, 0.0)


def _masking_shares_of_all_tokens_confused():
    return (0.15, 0.135, 0.1)


check_predicted_masking = Checker(
    exercise="predicted_masking",
    library="torch",
    reference=_predicted_masking,
    cases=[Case("BERT's rule: 15 % chosen, then 80 % [MASK], 10 % random, 10 % unchanged")],
    mistakes=[
        Mistake(
            "forgot that only 15 % of the tokens are chosen",
            "The 80/10/10 split applies to the chosen 15 % only: the [MASK] share of all "
            "tokens is 0.15 · 0.8.",
            _masking_forgot_the_fifteen_percent,
        ),
        Mistake(
            "counted the 15 % chosen as the [MASK] share",
            "Only 80 % of the chosen tokens become [MASK]: 0.15 · 0.8 = 0.12.",
            _masking_shares_of_all_tokens_confused,
        ),
        Mistake(
            "assumed every chosen token is changed",
            "10 % of the chosen tokens are left as they are, so the loss also asks the model to "
            "predict tokens it can see: 15 % · (80 % + 10 %) of the inputs change.",
            _masking_every_chosen_token_changes,
        ),
        Mistake(
            "counted the random replacements as unchanged",
            "A random word is (almost always) a different word: it changes the input, like "
            "[MASK]. Only the 10 % kept as they are match their target.",
            _masking_random_counts_as_unchanged,
        ),
        Mistake(
            "forgot the 10 % of chosen tokens that stay as they are",
            "Of the tokens the loss is computed on, 10 % were left unchanged: their input "
            "already is the answer.",
            _masking_unchanged_share_forgotten,
        ),
    ],
    atol=0.006,  # so that two decimals (0.13 or 0.14 for 0.135) pass
    rtol=0.0,
)


# --- patchify(images, patch_size) -----------------------------------------------------------


def _patch_variant(order: tuple[int, ...]):
    """Cut (B, H, W) into the grid (B, row, i, column, j), then permute it with ``order``;
    (0, 1, 3, 2, 4) is the correct order, (B, row, column, i, j)."""

    def patchify(images, patch_size):
        B, H, W = images.shape
        P = patch_size
        grid = images.reshape(B, H // P, P, W // P, P).permute(*order)
        return grid.reshape(B, (H // P) * (W // P), P * P)

    return patchify


_patchify = _patch_variant((0, 1, 3, 2, 4))
_patches_column_order = _patch_variant((0, 3, 1, 2, 4))
_patches_flattened_by_columns = _patch_variant((0, 1, 3, 4, 2))
_patches_of_the_transposed_image = _patch_variant((0, 3, 1, 4, 2))


def _patches_by_plain_reshape(images, patch_size):
    return images.reshape(images.shape[0], -1, patch_size**2)


def _patches_unfold_layout(images, patch_size):
    return _patchify(images, patch_size).transpose(1, 2)


def _images(B: int, H: int, W: int, *, seed: int) -> torch.Tensor:
    return torch.rand(B, H, W, generator=torch.Generator().manual_seed(seed))


check_patchify = Checker(
    exercise="patchify",
    library="torch",
    reference=_patchify,
    cases=[
        Case(
            "the 4 × 4 image of the numbers 0 to 15, patch size 2",
            (torch.arange(16.0).reshape(1, 4, 4), 2),
        ),
        Case("two random 6 × 4 images (not square), patch size 2", (_images(2, 6, 4, seed=0), 2)),
        Case("a random 6 × 6 image, patch size 3", (_images(1, 6, 6, seed=1), 3)),
        Case("three random 8 × 8 images, patch size 4", (_images(3, 8, 8, seed=2), 4)),
        Case(
            "a random 4 × 6 image, patch size 1 (every pixel a patch)",
            (_images(1, 4, 6, seed=3), 1),
        ),
    ],
    mistakes=[
        Mistake(
            "a plain reshape: each 'patch' is P · P consecutive pixels of one row, not a square",
            "Split each axis first, images.reshape(B, H/P, P, W/P, P), then bring the two "
            "patch-grid axes together (permute) before flattening each patch.",
            _patches_by_plain_reshape,
        ),
        Mistake(
            "patches taken column by column (top to bottom first) instead of row by row",
            "Number the patches like reading text: left to right along the first row of "
            "patches, then the next row. The patch-row axis must come before the patch-column "
            "axis.",
            _patches_column_order,
        ),
        Mistake(
            "each patch flattened column by column",
            "Flatten each P × P patch row by row: its first P numbers are the patch's top row.",
            _patches_flattened_by_columns,
        ),
        Mistake(
            "patchified the transposed image (rows and columns swapped)",
            "Keep H before W: both the order of the patches and the order inside each patch "
            "come out transposed.",
            _patches_of_the_transposed_image,
        ),
        Mistake(
            "returned the layout of torch.nn.functional.unfold, (B, P·P, N)",
            "The model wants one token per patch, (B, N, P·P): transpose the last two axes.",
            _patches_unfold_layout,
        ),
    ],
    atol=0.0,
    rtol=0.0,
    forbidden={
        "helpers.model_families.patchify": "reshape into a grid of patches, permute, flatten.",
        "torch.nn.functional.unfold": "reshape into a grid of patches, permute, flatten "
        "(Tensor.unfold, which slides along one axis, is fine).",
    },
)
