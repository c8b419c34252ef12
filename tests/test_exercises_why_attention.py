"""The checkers of `07_why_attention`: references pass, correct variants pass, every catalogued
mistake is rejected with its own name and hint, a wrong answer outside the catalogue is still
rejected, and the dot attention cannot be delegated to the course's or PyTorch's attention.
The notebook's model answers pass too, and the layer counts agree with measured receptive
fields."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from helpers.attention import scaled_dot_product_attention
from helpers.exercises.checking import ForbiddenCall
from helpers.exercises.why_attention import (
    check_best_possible_accuracy,
    check_dot_attention,
    check_layers_to_connect,
)
from helpers.recurrence import measured_receptive_field

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_why_attention.ipynb"
CHECKERS = [check_best_possible_accuracy, check_layers_to_connect, check_dot_attention]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: c.exercise)
def test_each_mistake_is_named_with_its_own_hint(checker):
    for mistake in checker.mistakes:
        with pytest.raises(AssertionError) as failure:
            checker(mistake.implementation)
        assert f"Likely mistake: {mistake.name}." in str(failure.value)
        assert f"Hint: {mistake.hint}" in str(failure.value)


def test_wrong_answers_outside_the_catalogues_are_still_rejected():
    for checker, wrong in [
        (check_best_possible_accuracy, lambda d, receptive_field: 0.9),
        (check_layers_to_connect, lambda n, kernel_size, dilation_base=1: 3),
        (check_dot_attention, lambda h, s, real: (h * 0, torch.zeros(*h.shape[:2], s.shape[1]))),
    ]:
        with pytest.raises(AssertionError) as failure:
            checker(wrong)
        assert "Likely mistake" not in str(failure.value)


# ------------------------------------------------------------ correct alternatives pass


def best_possible_accuracy_from_fraction(d, receptive_field):
    return float(d < receptive_field) * (1 - 1 / 8) + 1 / 8


def layers_by_formula(n, kernel_size, dilation_base=1):
    if dilation_base == 1:
        return math.ceil((n - 1) / (kernel_size - 1))
    # 1 + (k - 1)(b^L - 1)/(b - 1) >= n  <=>  b^L >= 1 + (n - 1)(b - 1)/(k - 1)
    target = 1 + (n - 1) * (dilation_base - 1) / (kernel_size - 1)
    layers = math.ceil(math.log(target, dilation_base) - 1e-12)
    return layers


def layers_by_recursion(n, kernel_size, dilation_base=1, layers=0, field=1):
    if field >= n:
        return layers
    grown = field + (kernel_size - 1) * dilation_base**layers
    return layers_by_recursion(n, kernel_size, dilation_base, layers + 1, grown)


def dot_attention_einsum(decoder_states, encoder_states, source_real):
    scores = torch.einsum("btd,bsd->bts", decoder_states, encoder_states)
    scores = torch.where(source_real[:, None, :], scores, torch.tensor(float("-inf")))
    weights = scores.softmax(dim=-1)
    return torch.einsum("bts,bsd->btd", weights, encoder_states), weights


def dot_attention_stable_by_hand(decoder_states, encoder_states, source_real):
    scores = decoder_states @ encoder_states.mT
    scores = scores - scores.amax(dim=-1, keepdim=True)
    exp = scores.exp() * source_real[:, None, :]
    weights = exp / exp.sum(dim=-1, keepdim=True)
    return weights @ encoder_states, weights


@pytest.mark.parametrize(
    ("checker", "solution"),
    [
        (check_best_possible_accuracy, best_possible_accuracy_from_fraction),
        (check_layers_to_connect, layers_by_formula),
        (check_layers_to_connect, layers_by_recursion),
        (check_dot_attention, dot_attention_einsum),
        (check_dot_attention, dot_attention_stable_by_hand),
    ],
)
def test_correct_alternatives_pass(checker, solution, capsys):
    checker(solution)
    assert capsys.readouterr().out.startswith(f"✓ {checker.exercise}")


# ------------------------------------------------------------ delegating is refused


def test_dot_attention_may_not_call_an_attention_function():
    def course(decoder_states, encoder_states, source_real):
        return scaled_dot_product_attention(
            decoder_states, encoder_states, encoder_states, source_real[:, None, :], scale=1.0
        )

    def pytorch(decoder_states, encoder_states, source_real):
        context = F.scaled_dot_product_attention(
            decoder_states, encoder_states, encoder_states, source_real[:, None, :], scale=1.0
        )
        return context, _weights(decoder_states, encoder_states, source_real)

    for delegate in (course, pytorch):
        with pytest.raises(ForbiddenCall, match="write it yourself"):
            check_dot_attention(delegate)


def _weights(decoder_states, encoder_states, source_real):
    scores = (decoder_states @ encoder_states.mT).masked_fill(~source_real[:, None, :], -math.inf)
    return scores.softmax(dim=-1)


# ------------------------------------------------------------ the notebook and the measurements


def _solution_functions() -> dict:
    """The notebook's solution cells, run: its model answers."""
    namespace = {"torch": torch, "NUM_KEYS": 8}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            exec(cell.source, namespace)  # noqa: S102 - the course's own notebook
    return namespace


def test_the_notebooks_model_answers_pass():
    answers = _solution_functions()
    for checker in CHECKERS:
        checker(answers[checker.exercise])


@pytest.mark.parametrize(
    ("n", "kernel_size", "dilation_base"), [(256, 5, 1), (256, 2, 2), (30, 3, 3)]
)
def test_layers_to_connect_matches_measured_receptive_fields(n, kernel_size, dilation_base):
    layers = check_layers_to_connect.reference(n, kernel_size, dilation_base)
    short = measured_receptive_field(layers - 1, kernel_size, dilation_base, length=400)
    enough = measured_receptive_field(layers, kernel_size, dilation_base, length=400)
    assert short < n <= enough
