"""The benchmark scripts run end to end (on tiny sizes) and print their ratio tables.

These are smoke tests that keep the scripts from rotting; the figures themselves come from
full runs recorded in benchmarks/RESULTS.md, never from a timed test."""

from __future__ import annotations

import importlib
import json
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


def test_training_benchmark_suite_writes_the_figures_notebook_05_reads(
    monkeypatch, capsys, tmp_path
):
    """`--suite --json` (what benchmarks/gpu_check.sh runs on a GPU) at a tiny size on the CPU:
    every section of benchmarks/gpu_results.json is written, marked as not a GPU run."""
    out = tmp_path / "figures.json"
    argv = ["benchmark", "--preset", "tiny", "--batches", "1", "--repeats", "1", "--device", "cpu"]
    monkeypatch.setattr(sys, "argv", [*argv, "--suite", "--no-compile", "--json", str(out)])
    presets = importlib.import_module("helpers.translation.config").PRESETS
    monkeypatch.setitem(presets, "tiny", {**presets["tiny"], "max_tokens": 128})
    importlib.import_module("benchmarks.training").main()
    figures = json.loads(out.read_text())
    assert figures["status"] == "measured on cpu, not a GPU"
    assert set(figures["formats"]) == {"fp32/course", "fp32/fused", "bf16/fused"}
    assert [check["backend"] for check in figures["sdpa"]["unpadded"]][:2] == [
        "MATH",
        "FLASH_ATTENTION",
    ]
    assert figures["host_sync"]["every_step"]["tokens_per_second"] > 0
    assert "torch.nn.Transformer" in figures["reference"]["fp32"]
    assert f"figures written to {out}" in capsys.readouterr().out


def test_efficient_attention_benchmark_prints_time_and_memory_ratios(monkeypatch, capsys):
    argv = ["--sizes", "32", "--heads", "2", "--block-size", "8", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", ["benchmark", "--device", "cpu", *argv])
    importlib.import_module("benchmarks.efficient_attention").main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if RATIO.search(line)]
    assert len(rows) == 2 and all(len(RATIO.findall(row)) == 2 for row in rows), out


def test_kv_cache_benchmark_prints_the_speed_up(monkeypatch, capsys):
    argv = ["--lengths", "3", "--batch", "2", "--repeats", "1", "--device", "cpu"]
    monkeypatch.setattr(sys, "argv", ["benchmark", *argv])
    importlib.import_module("benchmarks.kv_cache").main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if RATIO.search(line)]
    assert len(rows) == 1 and rows[0].split()[0] == "3", out


def test_recurrence_benchmark_prints_lstm_over_attention_ratios(monkeypatch, capsys):
    argv = ["--sizes", "8", "16", "--batch", "2", "--width", "8", "--heads", "2", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", ["benchmark", "--device", "cpu", *argv])
    importlib.import_module("benchmarks.recurrence").main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if RATIO.search(line)]
    assert [row.split()[0] for row in rows] == ["8", "16"], out
    assert all(len(RATIO.findall(row)) == 2 for row in rows), out
