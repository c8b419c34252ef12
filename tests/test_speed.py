"""helpers.translation.speed: the measurements of notebook 05's GPU section run (here on the CPU,
at a tiny size, never timed against a threshold), and the recorded GPU figures read back."""

from __future__ import annotations

import json

import pytest
import torch

from helpers.translation import speed
from helpers.translation.config import build_model, config_from
from helpers.translation.speed import (
    BackendCheck,
    Speed,
    as_record,
    compile_speedup,
    describe_gpu_figures,
    format_speeds,
    host_sync_cost,
    number_formats,
    recorded_gpu_figures,
    sdpa_backends,
    seconds_per_call,
    synthetic_batches,
)

VOCAB = (30, 40)
CONFIG = config_from("tiny", d_model=16, dim_feedforward=32, dropout=0.0)


def make_model():
    return build_model(CONFIG, *VOCAB, 0)


@pytest.fixture(scope="module")
def batches():
    return synthetic_batches(128, 2, VOCAB, "cpu")


def test_synthetic_batches_fit_the_budget_padded_or_not():
    for padded in (True, False):
        for batch in synthetic_batches(200, 3, VOCAB, "cpu", padded=padded, seed=1):
            B, L = batch.src.shape
            assert B * (L + 1) <= 200 and batch.tgt_out.shape == (B, L)
            assert batch.num_tgt_tokens == int(batch.tgt_real.sum())
            assert bool(batch.src_real.all()) == (not padded)


def test_seconds_per_call_times_the_calls_after_the_warm_up():
    calls = []
    seconds = seconds_per_call(lambda: calls.append(1), "cpu", calls=4, warmup=2)
    assert len(calls) == 6 and seconds >= 0


def test_number_formats_and_their_speeds_on_the_cpu(batches):
    assert number_formats("cpu") == ["fp32", "bf16"]
    rows = [("fp32", "course"), ("fp32", "fused"), ("bf16", "fused")]
    speeds = format_speeds(make_model, batches, rows, pad_id=0, calls=1)
    assert list(speeds) == rows
    assert all(s.tokens_per_second > 0 and s.peak_memory_mib is None for s in speeds.values())


def test_sdpa_backends_agree_and_those_that_cannot_run_say_why(batches):
    model = make_model().train()
    checks = {check.backend: check for check in sdpa_backends(model, batches[0], calls=1)}
    assert list(checks) == list(speed.SDPA_BACKENDS)
    for name in ("MATH", "FLASH_ATTENTION"):  # both built for the CPU
        assert checks[name].seconds > 0 and checks[name].max_difference < 1e-4
    assert checks["EFFICIENT_ATTENTION"].seconds is None and checks["EFFICIENT_ATTENTION"].note
    assert "cannot run here" in str(checks["EFFICIENT_ATTENTION"])
    assert model.training and all(p.grad is None for p in model.parameters())


def test_compile_speedup_reports_a_skipped_compile_and_times_a_compiled_model(batches, monkeypatch):
    monkeypatch.setattr(speed, "maybe_compile", lambda model, on: (model, "skipped: reason"))
    skipped = compile_speedup(make_model, batches, "fp32", pad_id=0, calls=1)
    assert skipped.compiled is None and skipped.note == "skipped: reason"
    assert skipped.speedup is None

    class Wrapped(torch.nn.Module):  # stands in for what torch.compile returns
        def __init__(self, model):
            super().__init__()
            self._orig_mod = model

        def forward(self, *args):
            return self._orig_mod(*args)

    monkeypatch.setattr(speed, "maybe_compile", lambda model, on: (Wrapped(model), "on"))
    compiled = compile_speedup(make_model, batches, "fp32", pad_id=0, calls=1)
    assert compiled.compiled.tokens_per_second > 0 and compiled.compile_seconds > 0
    assert compiled.speedup > 0


def test_host_sync_cost_measures_both_ways(batches):
    without, every = host_sync_cost(make_model, batches, "fp32", pad_id=0, calls=1)
    assert without.tokens_per_second > 0 and every.tokens_per_second > 0


def test_the_committed_gpu_figures_say_not_measured_yet_until_a_gpu_run():
    figures = recorded_gpu_figures()
    if figures["status"] != "measured":
        assert describe_gpu_figures("formats").startswith("GPU figure: not measured yet")
    for section in ("formats", "sdpa", "compile", "host_sync", "reference", "multi30k"):
        assert section in figures


def test_recorded_figures_are_described_section_by_section(tmp_path):
    record = {
        "status": "measured", "card": "NVIDIA Test", "date": "2026-01-01", "torch": "2.x",
        "cuda": "12.x", "command": "bash benchmarks/gpu_check.sh",
        "formats": {("bf16", "fused"): Speed(1e6, 900.0)},
        "sdpa": {"padded": [BackendCheck("MATH", 0.01, 0.0), BackendCheck("FLASH", None, None, "no")]},
        "compile": speed.CompileCheck(Speed(1.0), Speed(1.5), 40.0, "on"),
        "host_sync": {"without": Speed(2.0), "every_step": Speed(1.0)},
        "reference": {"fp32": {"torch.nn.Transformer": {"tokens_per_second": 5.0}}},
        "multi30k": {
            "dataset": "multi30k", "minutes": 5.0, "steps": 1234, "test_bleu": 38.2, "beam": 4,
            "bleu_signature": "nrefs:1|case:mixed",
        },
    }  # fmt: skip
    path = tmp_path / "gpu_results.json"
    path.write_text(json.dumps(as_record(record)))
    text = {
        section: describe_gpu_figures(section, path)
        for section in record
        if section in speed._SECTION_LINES
    }
    assert all(lines.startswith("GPU figures (NVIDIA Test, 2026-01-01") for lines in text.values())
    assert "bf16/fused" in text["formats"] and "peak 900 MiB" in text["formats"]
    assert "FLASH" in text["sdpa"] and "cannot run here: no" in text["sdpa"]
    assert "1.50x eager" in text["compile"] and "2.00x the time per token" in text["host_sync"]
    assert "test BLEU 38.2 (beam 4" in text["multi30k"]
