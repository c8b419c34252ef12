"""The diagrams of the mechanism draw, carry their labels and keep their texts apart."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyBboxPatch

from helpers.diagrams import attention_flow_diagram, multi_head_diagram, transformer_diagram

EXPECTED = {
    attention_flow_diagram: [
        "X",
        "(T, D)",
        "W_Q",
        "W_K",
        "W_V",
        "(T, Dh)",
        "(S, Dh)",
        "\\sqrt{D_h}",
        "(T, S)",
        "mask",
        "softmax",
        "weighted sum",
        "Scaled dot-product attention",
    ],
    multi_head_diagram: [
        "(B, T, D)",
        "W_Q",
        "W_O",
        "split",
        "(B, H, T, Dh)",
        "Dh = D / H",
        "merge heads",
        "(B, T, H·Dh = D)",
        "head 1",
        "Multi-head attention",
    ],
    transformer_diagram: [
        "source ids",
        "shifted right",
        "positional",
        "√D",
        "N×",
        "self-attention",
        "masked (causal)",
        "cross-attention",
        "add & norm",
        "feed-forward",
        "memory",
        "(B, S, D)",
        "linear",
        "softmax",
        "next-token probabilities",
        "(B, T, V)",
    ],
}


def _texts(ax: plt.Axes) -> list[str]:
    texts = [t.get_text() for t in ax.texts] + [ax.get_title()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [t.get_text() for t in legend.get_texts()]
    return texts


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("draw", list(EXPECTED), ids=lambda f: f.__name__)
def test_draws_a_new_figure_with_its_labels(draw):
    ax = draw()
    assert isinstance(ax, plt.Axes)
    drawn = "\n".join(_texts(ax))
    missing = [label for label in EXPECTED[draw] if label not in drawn]
    assert not missing, f"{draw.__name__} lacks the labels {missing}"
    ax.figure.canvas.draw()


@pytest.mark.parametrize("draw", list(EXPECTED), ids=lambda f: f.__name__)
def test_draws_on_a_given_axes(draw):
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 8))
    assert draw(ax=right) is right
    assert not left.texts and right.texts
    fig.canvas.draw()


@pytest.mark.parametrize("draw", list(EXPECTED), ids=lambda f: f.__name__)
def test_no_two_texts_overlap_and_all_stay_inside_the_figure(draw):
    ax = draw()
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]
    page = fig.bbox
    for text, box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1, f"{text!r} leaves the figure"
        assert page.y0 <= box.y0 and box.y1 <= page.y1, f"{text!r} leaves the figure"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


@pytest.mark.parametrize("draw", list(EXPECTED), ids=lambda f: f.__name__)
def test_every_label_fits_inside_the_box_it_is_written_in(draw):
    ax = draw()
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        centre = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
        around = [b for b in boxes if b.contains(*centre)]
        if not around:
            continue
        box = min(around, key=lambda b: b.width * b.height)
        inside = box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0
        assert inside and extent.y1 <= box.y1, f"{text.get_text()!r} overflows its box"
