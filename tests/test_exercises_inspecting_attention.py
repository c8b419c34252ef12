"""The checkers of `06_inspecting_attention`: references agree with the course's helpers,
correct variants pass, and wrong ones are rejected with a hint."""

from __future__ import annotations

import random

import pytest
import torch

from helpers.exercises.inspecting_attention import (
    check_alignment_error_rate,
    check_argmax_alignment,
    check_predicted_baseline_aer,
)
from helpers.inspection import (
    alignment_counts,
    alignment_links,
    alignment_matrix,
    argmax_alignment,
    over_words,
)

# ------------------------------------------------------------ argmax_alignment alternatives


def argmax_alignment_loops(weights):
    T, S = weights.shape[0] - 1, weights.shape[1] - 1
    links = torch.zeros(T, S, dtype=torch.bool)
    for j in range(T):
        best = max(range(S), key=lambda i: (weights[j, i].item(), -i))
        links[j, best] = True
    return links


def argmax_alignment_scatter(weights):
    words = weights[:-1, :-1]
    best = words.max(dim=1).indices
    return torch.zeros_like(words, dtype=torch.bool).scatter(1, best[:, None], True)


def argmax_alignment_with_course_helpers(weights):
    return argmax_alignment(over_words(weights, "predicting"))


@pytest.mark.parametrize("fn", [argmax_alignment_loops, argmax_alignment_scatter])
def test_correct_argmax_alignment_alternatives_pass(fn, capsys):
    check_argmax_alignment(fn)
    assert capsys.readouterr().out.startswith("✓ argmax_alignment")


def test_the_first_case_has_a_word_whose_strongest_key_is_eos():
    (weights,) = check_argmax_alignment.cases[0].args
    assert (weights[:-1].argmax(dim=-1) == weights.shape[1] - 1).any()
    assert torch.allclose(weights.sum(dim=-1), torch.ones(weights.shape[0]))


def test_returning_numpy_says_the_exercise_works_in_pytorch():
    def as_numpy(weights):
        return check_argmax_alignment.reference(weights).numpy()

    with pytest.raises(AssertionError, match="this exercise works in PyTorch"):
        check_argmax_alignment(as_numpy)


def test_returning_integer_links_is_rejected():
    def as_integers(weights):
        return check_argmax_alignment.reference(weights).long()

    with pytest.raises(AssertionError, match=r"expected \(3, 4\) bool, got \(3, 4\) int64"):
        check_argmax_alignment(as_integers)


# ------------------------------------------------------------ alignment_error_rate alternatives


def aer_with_link_matrices(predicted, sure, possible):
    """The course's helpers, on link matrices big enough for every link."""
    links = predicted | sure | possible
    S, T = (max(side) + 1 for side in zip(*links, strict=True))
    as_matrix = [alignment_matrix(x, S, T) for x in (predicted, sure, possible)]
    return float(alignment_counts(*as_matrix).aer)


def aer_with_counts(predicted, sure, possible):
    a_s = sum(1 for link in predicted if link in sure)
    a_p = sum(1 for link in predicted if link in possible)
    return torch.tensor(1 - (a_s + a_p) / (len(predicted) + len(sure)))


@pytest.mark.parametrize("fn", [aer_with_counts])
def test_correct_alignment_error_rate_alternatives_pass(fn, capsys):
    check_alignment_error_rate(fn)
    assert capsys.readouterr().out.startswith("✓ alignment_error_rate")


@pytest.mark.parametrize(
    ("checker", "fn"),
    [
        (check_argmax_alignment, argmax_alignment_with_course_helpers),
        (check_alignment_error_rate, aer_with_link_matrices),
    ],
)
def test_a_solution_that_calls_the_course_helpers_is_refused(checker, fn):
    with pytest.raises(AssertionError, match="the course's reference implementation"):
        checker(fn)


def test_the_aer_reference_agrees_with_the_course_on_random_alignments():
    rng = random.Random(0)
    for _ in range(20):
        grid = [(i, j) for i in range(6) for j in range(5)]
        sure = set(rng.sample(grid, 6))
        possible = sure | set(rng.sample(grid, 4))
        predicted = set(rng.sample(grid, rng.randint(0, 8)))
        expected = check_alignment_error_rate.reference(predicted, sure, possible)
        counts = alignment_counts(*(alignment_matrix(x, 6, 5) for x in (predicted, sure, possible)))
        assert float(counts.aer) == pytest.approx(expected)


def test_the_argmax_reference_agrees_with_the_course_helpers():
    for case in check_argmax_alignment.cases:
        (weights,) = case.args
        expected = argmax_alignment(over_words(weights))
        assert torch.equal(check_argmax_alignment.reference(weights), expected)
    (hand_made,) = check_argmax_alignment.cases[0].args
    assert alignment_links(argmax_alignment(over_words(hand_made))) == [(0, 2), (1, 0), (3, 1)]


def test_precision_and_recall_averaged_is_still_rejected():
    def mean_of_precision_and_recall(predicted, sure, possible):
        precision = len(predicted & possible) / len(predicted)
        recall = len(predicted & sure) / len(sure)
        return 1 - (precision + recall) / 2

    with pytest.raises(AssertionError, match="the shape is right but the values are wrong"):
        check_alignment_error_rate(mean_of_precision_and_recall)


# ------------------------------------------------------------ predicted_baseline_aer


def test_the_baseline_sentence_is_the_notebooks_first_example_pair():
    from helpers.exercises import inspecting_attention as module
    from helpers.translation.data import load_dataset
    from helpers.translation.tokenization import tokenize

    (example,) = [
        e
        for e in load_dataset("toy-en-de", "test")
        if e.src == "A father has visited a bridge in the lake."
    ]
    assert tokenize(example.src) == module.BASELINE_SOURCE.split()
    assert tokenize(example.tgt) == module.BASELINE_TARGET.split()
    assert set(example.alignment) == module.BASELINE_GOLD


@pytest.mark.parametrize("proportional", [False, True])
def test_the_prediction_reference_agrees_with_the_course_baselines(proportional):
    from helpers.exercises import inspecting_attention as module
    from helpers.inspection import diagonal_alignment

    S, T = len(module.BASELINE_SOURCE.split()), len(module.BASELINE_TARGET.split())
    links = diagonal_alignment(S, T, proportional=proportional)
    gold = alignment_matrix(module.BASELINE_GOLD, S, T)
    name = "proportional" if proportional else "identity"
    expected = check_predicted_baseline_aer.reference(name)
    assert float(alignment_counts(links, gold).aer) == pytest.approx(expected)


def test_a_prediction_is_a_dict_of_two_numbers(capsys):
    check_predicted_baseline_aer({"identity": 1 - 6 / 19, "proportional": 0.37})
    assert capsys.readouterr().out.startswith("✓ predicted_baseline_aer")
    with pytest.raises(TypeError, match=r"a dict with the keys \['identity', 'proportional'\]"):
        check_predicted_baseline_aer({"identity": 0.68})
    with pytest.raises(AssertionError, match="Likely mistake: 1 − precision"):
        check_predicted_baseline_aer({"identity": 0.67, "proportional": 0.37})
    with pytest.raises(AssertionError, match="without the 1/2"):
        check_predicted_baseline_aer({"identity": 0.68, "proportional": 0.68})
