"""`decoding_steps`, the picture of greedy decoding in `04_transformer`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch, Rectangle

from helpers.plotting import decoding_steps


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def boxes(ax: plt.Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_each_row_is_the_previous_input_plus_its_prediction():
    ax = decoding_steps(["3", "2", "1", "<eos>"])
    rows = {}
    for text in ax.texts:
        x, y = text.get_position()
        rows.setdefault(round(y), []).append((round(x), text.get_text()))
    assert [[token for _, token in sorted(rows[k])] for k in sorted(rows)] == [
        ["<bos>", "3"],
        ["<bos>", "3", "2"],
        ["<bos>", "3", "2", "1"],
        ["<bos>", "3", "2", "1", "<eos>"],
    ]


def test_the_prediction_of_each_step_is_highlighted_and_carried_down():
    ax = decoding_steps(["a", "b", "c"], start=["<s>", "x"])
    orange = [b for b in boxes(ax) if b.get_facecolor() == to_rgba("tab:orange")]
    assert sorted((round(b.get_x() + b.get_width() / 2), b.get_y() < 0.5) for b in orange) == [
        (2, True),
        (3, False),
        (4, False),
    ]
    assert len(boxes(ax)) == 3 + 4 + 5
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 2  # one fewer than the steps: the last prediction goes nowhere
    assert [label.get_text() for label in ax.get_yticklabels()] == ["step 1", "step 2", "step 3"]
    assert ax.get_title() and ax.get_xlabel() == "target position"


def test_draws_on_a_given_axes():
    _, ax = plt.subplots()
    assert decoding_steps(["1"], ax=ax) is ax


@pytest.mark.parametrize(("predictions", "start"), [([], ("<bos>",)), (["1"], ())])
def test_empty_input_is_rejected(predictions, start):
    with pytest.raises(ValueError, match="at least one start token and one prediction"):
        decoding_steps(predictions, start)
