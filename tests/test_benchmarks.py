"""The benchmark scripts run end to end (on tiny sizes) and print their ratio tables.

These are smoke tests that keep the scripts from rotting; the figures themselves come from
full runs recorded in benchmarks/RESULTS.md, never from a timed test."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

import benchmarks.attention
import benchmarks.multihead
import benchmarks.transformer

RATIO = re.compile(r"\d+\.\d\dx")


@pytest.mark.parametrize(
    ("module", "argv", "sizes"),
    [
        (
            benchmarks.attention,
            ["--sizes", "16", "--batch", "2", "--heads", "2", "--head-dim", "8"],
            None,
        ),
        (benchmarks.multihead, [], [(2, 8, 16, 2)]),
        (benchmarks.transformer, [], [(2, 6, 16, 2, 1, 32)]),
    ],
    ids=["attention", "multihead", "transformer"],
)
def test_benchmark_prints_a_ratio_table(module, argv, sizes, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["benchmark", "--repeats", "1", "--device", "cpu", *argv])
    if sizes is not None:
        monkeypatch.setattr(module, "SIZES", sizes)
    module.main()
    out = capsys.readouterr().out
    assert out.startswith("device: cpu")
    rows = [line for line in out.splitlines() if RATIO.search(line)]
    assert len(rows) == 1 and len(RATIO.findall(rows[0])) >= 2, out


def test_training_benchmark_prints_throughput_against_torch(monkeypatch, capsys):
    argv = ["benchmark", "--preset", "tiny", "--batches", "2", "--repeats", "1", "--device", "cpu"]
    monkeypatch.setattr(sys, "argv", argv)
    # imported here, so that a broken import fails this test and not the other scripts' ones
    importlib.import_module("benchmarks.training").main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if RATIO.search(line)]
    assert [row.split()[0] for row in rows] == ["torch.nn.Transformer", "course,", "course,"], out
    assert rows[0].endswith("1.00x")
