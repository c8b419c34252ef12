"""The checkers of `09_beyond_translation`: references agree with the course's helpers,
correct variants pass, and every catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.exercises.beyond_translation import (
    check_patchify,
    check_predicted_masking,
    check_top_k_distribution,
)
from helpers.exercises.checking import ForbiddenCall
from helpers.model_families import next_token_distribution, patchify

CHECKERS = {
    "top_k_distribution": check_top_k_distribution,
    "predicted_masking": check_predicted_masking,
    "patchify": check_patchify,
}


@pytest.mark.parametrize("name", CHECKERS)
def test_each_mistake_is_named_at_its_first_failing_case(name):
    """At the first case where a mistake goes wrong, no mistake listed before it gives the
    same result, so the checker names the right one."""
    checker = CHECKERS[name]
    for mistake in checker.mistakes:
        with pytest.raises(AssertionError) as failure:
            checker(mistake.implementation)
        assert f"Likely mistake: {mistake.name}." in str(failure.value)


# ------------------------------------------------------------ top_k_distribution


def test_top_k_reference_is_the_course_distribution():
    for case in check_top_k_distribution.cases:
        logits, k, temperature = case.args
        torch.testing.assert_close(
            check_top_k_distribution.reference(*case.args),
            next_token_distribution(logits, temperature, k),
        )


def top_k_by_sorting(logits, k, temperature):
    probs = torch.softmax(logits / temperature, dim=-1)
    order = probs.argsort(dim=-1, descending=True)
    keep = torch.zeros_like(probs).scatter(-1, order[:, :k], 1.0)
    kept = probs * keep
    return kept / kept.sum(dim=-1, keepdim=True)


def top_k_in_loops(logits, k, temperature):
    rows = []
    for row in logits:
        values, indices = torch.topk(row / temperature, k)
        probs = torch.zeros_like(row)
        probs[indices] = torch.softmax(values, dim=0)
        rows.append(probs)
    return torch.stack(rows)


@pytest.mark.parametrize("fn", [top_k_by_sorting, top_k_in_loops])
def test_correct_top_k_alternatives_pass(fn, capsys):
    check_top_k_distribution(fn)
    assert capsys.readouterr().out.startswith("✓ top_k_distribution")


# ------------------------------------------------------------ predicted_masking


def test_the_predicted_shares_follow_from_the_rule():
    masked, changed, kept = check_predicted_masking.reference()
    assert (masked, changed, kept) == pytest.approx((0.15 * 0.8, 0.15 * (0.8 + 0.1), 0.1))


def test_rounded_predictions_pass(capsys):
    check_predicted_masking(lambda: (0.12, 0.13, 0.1))
    check_predicted_masking(lambda: (0.12, 0.14, 0.1))
    check_predicted_masking(lambda: (0.12, 0.135, 0.101))
    assert capsys.readouterr().out.count("✓ predicted_masking") == 3


# ------------------------------------------------------------ patchify


def test_patchify_reference_is_the_course_patchify_of_one_channel():
    for case in check_patchify.cases:
        images, P = case.args
        torch.testing.assert_close(
            check_patchify.reference(*case.args), patchify(images[:, None], P)
        )


def patchify_with_unfold(images, patch_size):
    P = patch_size
    return images.unfold(1, P, P).unfold(2, P, P).reshape(images.shape[0], -1, P * P)


def patchify_in_loops(images, patch_size):
    B, H, W = images.shape
    P = patch_size
    patches = [
        images[:, r : r + P, c : c + P].reshape(B, P * P)
        for r in range(0, H, P)
        for c in range(0, W, P)
    ]
    return torch.stack(patches, dim=1)


@pytest.mark.parametrize("fn", [patchify_with_unfold, patchify_in_loops])
def test_correct_patchify_alternatives_pass(fn, capsys):
    check_patchify(fn)
    assert capsys.readouterr().out.startswith("✓ patchify")


def patchify_with_functional_unfold(images, patch_size):
    return F.unfold(images[:, None], patch_size, stride=patch_size).transpose(1, 2)


def patchify_with_the_course(images, patch_size):
    return patchify(images[:, None], patch_size)


def top_k_with_the_course(logits, k, temperature):
    return next_token_distribution(logits, temperature, k)


@pytest.mark.parametrize(
    ("checker", "fn", "name"),
    [
        (check_patchify, patchify_with_functional_unfold, "torch.nn.functional.unfold"),
        (check_patchify, patchify_with_the_course, "helpers.model_families.patchify"),
        (
            check_top_k_distribution,
            top_k_with_the_course,
            "helpers.model_families.next_token_distribution",
        ),
    ],
)
def test_a_solution_that_calls_the_finished_function_is_refused(checker, fn, name):
    with pytest.raises(ForbiddenCall, match=name.replace(".", r"\.")):
        checker(fn)
