"""`softmax_temperature_bars`, the figure behind the temperature widget of
`02_softmax_and_attention`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from helpers.plotting import softmax_temperature_bars

LABELS = ["the", "cat", "sat", "on", "mat"]
LOGITS = np.array([1.0, 3.0, 2.0, -1.0, 0.5])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def heights(ax: plt.Axes) -> np.ndarray:
    return np.array([bar.get_height() for bar in ax.patches])


@pytest.mark.parametrize("temperature", [0.1, 1.0, 4.0, 100.0])
def test_bars_are_the_softmax_of_logits_over_temperature(temperature):
    ax = softmax_temperature_bars(LOGITS, temperature, labels=LABELS)
    expected = torch.softmax(torch.tensor(LOGITS) / temperature, dim=0).numpy()
    np.testing.assert_allclose(heights(ax), expected, rtol=1e-6, atol=1e-12)
    assert heights(ax).sum() == pytest.approx(1.0)


def test_lower_temperature_is_sharper():
    maxima = [heights(softmax_temperature_bars(LOGITS, t)).max() for t in (0.25, 1.0, 4.0)]
    assert maxima[0] > maxima[1] > maxima[2] > 1 / len(LOGITS)


def test_labels_title_axes_and_values_written_on_bars():
    ax = softmax_temperature_bars(torch.tensor(LOGITS), 0.5, labels=LABELS)
    assert [label.get_text() for label in ax.get_xticklabels()] == LABELS
    assert ax.get_title() == "softmax at τ = 0.5"
    assert ax.get_xlabel() == "key"
    assert ax.get_ylabel() == "softmax weight"
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] >= 1.0
    written = [text.get_text() for text in ax.texts]
    assert written == [f"{w:.2f}" for w in heights(ax)]


def test_largest_logit_is_highlighted_and_default_labels_are_positions():
    ax = softmax_temperature_bars([0.0, 2.0, 2.0, 1.0], 1.0)
    colours = [bar.get_facecolor() for bar in ax.patches]
    assert colours[1] == colours[2] == to_rgba("tab:orange")
    assert colours[0] == colours[3] == to_rgba("tab:blue")
    assert [label.get_text() for label in ax.get_xticklabels()] == ["0", "1", "2", "3"]


def test_large_logits_do_not_overflow():
    ax = softmax_temperature_bars([1000.0, 999.0, -1000.0], 0.1)
    assert np.isfinite(heights(ax)).all()
    assert heights(ax)[0] == pytest.approx(1 / (1 + np.exp(-10.0)))  # scores 10000 and 9990


def test_draws_on_the_given_axes():
    fig, axes = plt.subplots(1, 2)
    returned = softmax_temperature_bars(LOGITS, 2.0, ax=axes[1])
    assert returned is axes[1]
    assert len(axes[0].patches) == 0
    assert len(axes[1].patches) == len(LOGITS)


@pytest.mark.parametrize(
    ("logits", "temperature", "labels", "expected"),
    [
        (np.ones((2, 3)), 1.0, None, r"non-empty 1-D vector \(S,\); got shape \(2, 3\)"),
        (np.array([]), 1.0, None, r"got shape \(0,\)"),
        ([1.0, float("nan")], 1.0, None, "logits must be finite numbers; got"),
        (LOGITS, 0.0, None, "temperature must be a positive, finite number; got 0.0"),
        (LOGITS, -1.0, None, "got -1.0"),
        (LOGITS, float("inf"), None, "got inf"),
        (LOGITS, "hot", None, "got 'hot'"),
        (LOGITS, True, None, "got True"),
        (LOGITS, 1.0, ["a", "b"], "one label per logit, S=5; got 2"),
    ],
)
def test_bad_input_names_expected_and_received(logits, temperature, labels, expected):
    with pytest.raises(ValueError, match=expected):
        softmax_temperature_bars(logits, temperature, labels=labels)
