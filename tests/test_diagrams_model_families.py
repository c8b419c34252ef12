"""The diagram of notebook 09: GPT, BERT and ViT side by side, drawn with the same checks as
the other diagrams (labels present, nothing overlapping or overflowing its box)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Rectangle

import tests.test_diagrams as diagram_checks
from helpers.diagrams import KIND_COLOURS, model_families_diagram

LABELS = [
    "One block, three model families",
    "GPT: decoder-only",
    "BERT: encoder-only",
    "ViT: encoder-only on patches",
    "causal self-attention",
    "bidirectional self-attention",
    "feed-forward",
    "final LayerNorm",
    "N×",
    "(B, T) ids",
    "(B, N, C·P·P)",
    "[class] token",
    "(B, T, V)",
    "(B, C)",
    "mask",
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_draws_the_three_families_with_their_labels():
    ax = model_families_diagram()
    drawn = "\n".join(diagram_checks._texts(ax))
    missing = [label for label in LABELS if label not in drawn]
    assert not missing, f"model_families_diagram lacks the labels {missing}"


def test_the_masks_are_causal_for_gpt_and_full_for_bert_and_vit():
    ax = model_families_diagram()
    cells = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() < 0.5]
    filled = [p for p in cells if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(cells) == 3 * 16 and len(filled) == 10 + 16 + 16  # a triangle and two squares
    assert all(
        tuple(round(c, 3) for c in p.get_facecolor()[:3])
        == tuple(round(int(KIND_COLOURS["softmax"][i : i + 2], 16) / 255, 3) for i in (1, 3, 5))
        for p in filled
    )


def test_draws_on_a_given_axes():
    diagram_checks.test_draws_on_a_given_axes(model_families_diagram)


def test_no_two_texts_overlap_and_all_stay_inside_the_figure():
    diagram_checks.test_no_two_texts_overlap_and_all_stay_inside_the_figure(model_families_diagram)


def test_every_label_fits_inside_the_box_it_is_written_in():
    diagram_checks.test_every_label_fits_inside_the_box_it_is_written_in(model_families_diagram)
