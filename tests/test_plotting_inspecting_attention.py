"""`alignment_heatmap`, `layer_head_heatmap` and `aer_bars`, the figures of
`06_inspecting_attention`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from helpers.inspection import alignment_matrix
from helpers.plotting import aer_bars, alignment_heatmap, layer_head_heatmap


def test_alignment_heatmap_outlines_every_gold_link():
    weights = torch.softmax(torch.randn(3, 4), dim=-1)
    gold = alignment_matrix([(0, 0), (3, 1), (2, 2)], src_len=4, tgt_len=3)
    ax = alignment_heatmap(weights, gold, ["a", "b", "c"], ["w", "x", "y", "z"])
    (marks,) = ax.collections
    assert sorted(map(tuple, marks.get_offsets().tolist())) == [(0, 0), (2, 2), (3, 1)]
    with pytest.raises(ValueError, match=r"gold must be a \(T, S\) link matrix"):
        alignment_heatmap(weights, gold.T, ["a", "b", "c"], ["w", "x", "y", "z"])
    plt.close("all")


def test_layer_head_heatmap_writes_every_value():
    ax = layer_head_heatmap(torch.tensor([[0.1, 0.2], [0.3, 0.4]]), title="AER", label="AER")
    assert [t.get_text() for t in ax.texts] == ["0.10", "0.20", "0.30", "0.40"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["layer 0", "layer 1"]
    with pytest.raises(ValueError, match=r"values must be an \(L, H\) matrix"):
        layer_head_heatmap(torch.zeros(3), title="x", label="x")
    plt.close("all")


def test_aer_bars_draw_every_head_beside_the_baselines():
    values = torch.tensor([[0.4, 0.5], [0.1, 0.05]])
    ax = aer_bars(values, {"identity": 0.49, "proportional": 0.43}, title="AER")
    assert [round(bar.get_height(), 2) for bar in ax.patches] == [0.4, 0.5, 0.1, 0.05]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0", "0.1", "1.0", "1.1"]
    assert [line.get_ydata()[0] for line in ax.get_lines()] == [0.49, 0.43]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "identity 0.49",
        "proportional 0.43",
    ]
    with pytest.raises(ValueError, match=r"values must be an \(L, H\) matrix"):
        aer_bars(torch.zeros(3), {}, title="x")
    plt.close("all")
