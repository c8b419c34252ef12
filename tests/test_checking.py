"""The checker machinery: right answers pass, wrong ones are diagnosed, inputs stay intact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.exercises.checking import Case, Checker, Mistake

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def _double_rows(x):
    return 2 * x


def make_checker(library="numpy", reference=_double_rows, cases=None, mistakes=()):
    return Checker(
        exercise="double",
        library=library,
        reference=reference,
        cases=cases or [Case("a 2x3 matrix", (X,))],
        mistakes=list(mistakes),
    )


def test_correct_function_prints_one_success_line(capsys):
    make_checker()(lambda x: x + x)
    assert capsys.readouterr().out == "✓ double: your answer passed the check.\n"


def test_wrong_values_matching_a_mistake_name_it():
    checker = make_checker(
        mistakes=[
            Mistake("added one", "Multiply, do not add.", lambda x: x + 1),
            Mistake("squared", "Twice x is not x squared.", lambda x: x**2),
        ]
    )
    with pytest.raises(AssertionError) as failure:
        checker(lambda x: x * x)
    message = str(failure.value)
    assert "on a 2x3 matrix" in message
    assert "values are wrong (largest difference 24)" in message
    assert "Likely mistake: squared.\nHint: Twice x is not x squared." in message
    assert "added one" not in message


def test_unknown_mistake_gets_a_plain_message_without_a_hint():
    checker = make_checker(mistakes=[Mistake("added one", "Multiply.", lambda x: x + 1)])
    with pytest.raises(AssertionError) as failure:
        checker(lambda x: 3 * x)
    assert "Likely mistake" not in str(failure.value)


def test_wrong_shape_is_reported_with_both_shapes():
    with pytest.raises(AssertionError, match=r"expected \(2, 3\) float64, got \(3, 2\) float64"):
        make_checker()(lambda x: 2 * x.T)


def test_exception_is_matched_to_a_mistake_that_raises_the_same_way():
    checker = make_checker(
        mistakes=[Mistake("matmul with itself", "Shapes (2,3)@(2,3) do not fit.", lambda x: x @ x)]
    )
    with pytest.raises(AssertionError, match="(?s)raised ValueError.*Likely mistake: matmul"):
        checker(lambda x: np.matmul(x, x))


def test_not_implemented_passes_through_untouched():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        make_checker()(stub)


def test_inputs_are_copied_so_in_place_changes_cannot_spoil_the_check():
    def in_place(x):
        x *= 2
        return x

    make_checker(cases=[Case("first", (X,)), Case("second", (X,))])(in_place)
    assert X[0, 0] == 1.0


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_only_matches_nan():
    checker = make_checker(
        reference=lambda x: np.exp(x) / np.exp(x).sum(),
        cases=[Case("huge logits", (np.array([1000.0, 1000.0]),))],
        mistakes=[
            Mistake(
                "no max subtraction", "Subtract the max.", lambda x: np.exp(x) / np.exp(x).sum()
            )
        ],
    )
    # The reference itself overflows here: NaN must equal NaN for the reference to pass.
    checker(lambda x: np.exp(x) / np.exp(x).sum())
    with pytest.raises(AssertionError, match="your result contains NaN"):
        make_checker(
            reference=lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
            cases=[Case("huge logits", (np.array([1000.0, 1000.0]),))],
        )(lambda x: np.exp(x) / np.exp(x).sum())


def test_bool_results_must_be_bool():
    checker = make_checker(
        reference=lambda x: x > 2,
        mistakes=[Mistake("float mask", "Return bools.", lambda x: (x > 2).astype(float))],
    )
    checker(lambda x: ~(x <= 2))
    with pytest.raises(AssertionError, match="float mask"):
        checker(lambda x: (x > 2) * 1.0)


def test_tuple_results_are_compared_element_by_element():
    checker = make_checker(
        library="torch",
        reference=lambda t: (t.sum(-1), t.max(-1).values),
        cases=[Case("a 2x3 tensor", (torch.tensor(X),))],
        mistakes=[
            Mistake("swapped", "Return (sum, max).", lambda t: (t.max(-1).values, t.sum(-1)))
        ],
    )
    checker(lambda t: (t.sum(dim=1), t.amax(dim=1)))
    with pytest.raises(AssertionError, match="Likely mistake: swapped"):
        checker(lambda t: (t.amax(dim=1), t.sum(dim=1)))
    with pytest.raises(AssertionError, match="expected a tuple of 2 results"):
        checker(lambda t: t.sum(dim=1))


def test_library_mismatch_is_explained_both_ways():
    with pytest.raises(AssertionError, match="(?s)works in NumPy.*returned a torch.Tensor"):
        make_checker()(lambda x: torch.tensor(2 * x))
    torch_checker = make_checker(library="torch", cases=[Case("a tensor", (torch.tensor(X),))])
    with pytest.raises(AssertionError, match="(?s)works in PyTorch.*returned numpy.ndarray"):
        torch_checker(lambda t: 2 * t.numpy())


def test_misuse_of_the_checker_itself_fails_clearly():
    with pytest.raises(TypeError, match="pass your function itself"):
        make_checker()(np.array([1.0]))
    with pytest.raises(ValueError, match="library must be 'numpy' or 'torch'"):
        make_checker(library="jax")
