"""Training throughput (target tokens/s) of a training preset vs torch.nn.Transformer, and the
GPU measurements of notebook 05 (number formats, attention kernels, compile, host syncs).

    python -m benchmarks.training                    (part of `make benchmark`; --preset cpu)
    python -m benchmarks.training --preset gpu --device cuda
    python -m benchmarks.training --preset gpu --device cuda --suite --json benchmarks/gpu_results.json
    python -m benchmarks.training --record-run runs/gpu-check/multi30k --json benchmarks/gpu_results.json

One training step, ``helpers.translation.loop.train_step`` as the training loop runs it
(forward, label-smoothed loss, backward, clipping, Adam), of the preset's model on
token-budget batches with translation-like lengths, dropout as in the preset. The default
table: the course's Seq2SeqTransformer with PyTorch's fused attention and with the course's
own attention, and the same configuration built on ``torch.nn.Transformer`` (the reference),
each in float32 and, on a GPU, under bf16 autocast. Printed: target tokens per second and the
ratio of the reference's throughput to each row's (time per token relative to PyTorch:
1.00x = as fast, above 1 = slower).

``--suite`` adds, for the same preset (``helpers.translation.speed``): every number format
the device has (fp32, TF32, bf16, fp16 with loss scaling) with tokens/s and peak memory; each
backend of ``scaled_dot_product_attention`` on padded batches and on batches without padding,
checked against the math backend; ``torch.compile`` against eager; and the cost of reading
the loss on the host after every step. ``--json`` writes those figures, with the card, the
versions and the command, in the format ``benchmarks/gpu_results.json`` has (the notebook
reads that file). ``--record-run`` adds the figures of a finished training run (its log, and
the ``test.json`` that ``python -m helpers.translation evaluate --json`` wrote) to the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.timing import median_time, parse_and_pick_device
from benchmarks.transformer import PAD, TorchSeq2Seq
from helpers.translation.checkpoint import load_checkpoint
from helpers.translation.config import PRESETS, TrainConfig, build_model, config_from
from helpers.translation.precision import MixedPrecision, native_bf16
from helpers.translation.speed import (
    as_record,
    compile_speedup,
    format_speeds,
    host_sync_cost,
    number_formats,
    sdpa_backends,
    synthetic_batches,
    training_step,
)

VOCAB = (1500, 2000)  # about the bundled corpus's word vocabularies (English, German)


def reference_table(config: TrainConfig, batches, device: torch.device, repeats: int) -> dict:
    """number format -> model -> tokens/s: the course's model (both attentions) against the
    same configuration on torch.nn.Transformer; prints the table with the ratios."""
    tokens = sum(batch.num_tgt_tokens for batch in batches) / len(batches)
    modes = ["fp32"] + (["bf16"] if native_bf16(device) else [])
    header = f"{'model':<28} {'precision':>9} {'tokens/s':>10} {'vs torch':>9}"
    print(header)
    print("-" * len(header))
    table = {}
    for mode in modes:
        precision = MixedPrecision(device, mode)
        torch.manual_seed(0)
        models = {
            "torch.nn.Transformer": TorchSeq2Seq(
                config.d_model,
                config.nhead,
                config.num_encoder_layers,
                config.dim_feedforward,
                vocab=VOCAB,
                dropout=config.dropout,
                tie_weights=config.tie_weights,
            ),
        }
        for attention in ("fused", "course"):
            run = dataclasses.replace(config, attention=attention)
            models[f"course, {attention} attention"] = build_model(run, *VOCAB, PAD)
        rate = {}
        for name, model in models.items():
            step = training_step(model.to(device).train(), batches, precision, pad_id=PAD)
            rate[name] = tokens / median_time(step, device, repeats)
        reference = rate["torch.nn.Transformer"]
        for name, value in rate.items():
            print(f"{name:<28} {mode:>9} {value:>10,.0f} {reference / value:>8.2f}x")
        table[mode] = {name: {"tokens_per_second": value} for name, value in rate.items()}
    return table


def suite(config: TrainConfig, batches, device: torch.device, repeats: int, compile_: bool):
    """Every measurement of notebook 05's GPU section for ``config``'s model, printed; returns
    the figures by section."""

    def make_model():
        return build_model(config, *VOCAB, PAD)

    best = "bf16" if native_bf16(device) else "fp32"
    rows = [("fp32", "course")] + [(f, "fused") for f in number_formats(device)]
    formats = format_speeds(make_model, batches, rows, pad_id=PAD, calls=repeats)
    print("\nnumber formats (tokens/s, peak memory):")
    for (number_format, attention), speed in formats.items():
        print(f"  {number_format:5s} {attention:6s} attention {speed}")
    print("\nscaled_dot_product_attention backends, forward + backward:")
    torch.manual_seed(0)
    model = make_model().to(device)
    unpadded = synthetic_batches(config.max_tokens, 1, VOCAB, device, pad_id=PAD, padded=False)
    sdpa = {}
    for name, batch in (("padded", batches[0]), ("unpadded", unpadded[0])):
        sdpa[name] = sdpa_backends(model, batch, best, calls=repeats)
        for check in sdpa[name]:
            print(f"  {name:8s} {check}")
    del model
    without, every = host_sync_cost(make_model, batches, best, pad_id=PAD, calls=repeats)
    print(f"\nhost sync ({best}): loss left on the device {without}; read every step {every}")
    if compile_:
        compiled = compile_speedup(make_model, batches, best, pad_id=PAD, calls=repeats)
        print(f"\ntorch.compile ({best}): eager {compiled.eager}; compiled {compiled.compiled}")
        print(f"  {compiled.note}; the two compiling passes took {compiled.compile_seconds:.0f} s")
    else:
        compiled = None
        print("\ntorch.compile: skipped (--no-compile)")
    return {
        "formats": formats,
        "sdpa": sdpa,
        "compile": compiled,
        "host_sync": {"without": without, "every_step": every},
    }


def environment(device: torch.device) -> dict:
    """The card, driver, versions, date and command, for the results file."""
    on_cuda = device.type == "cuda"
    return {
        "card": torch.cuda.get_device_name(device) if on_cuda else f"CPU ({platform.processor()})",
        "driver": _driver() if on_cuda else None,
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "command": "python -m benchmarks.training " + shlex.join(sys.argv[1:]),
    }


def _driver() -> str | None:
    """The NVIDIA driver's version, as nvidia-smi reports it (None without nvidia-smi)."""
    try:
        query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
        return subprocess.run(query, capture_output=True, text=True, check=True).stdout.split()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return None


def record_run(run_dir: Path, results: dict) -> dict:
    """The "multi30k" section from a finished run: its configuration and last log line
    (``log.jsonl``), and its test scores (``test.json`` from ``evaluate --json``)."""
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    test = json.loads((run_dir / "test.json").read_text())
    config = load_checkpoint(run_dir / "last.pt")["config"]
    results["multi30k"] = {
        "dataset": config["dataset"],
        "minutes": log[-1]["minutes"],
        "steps": log[-1]["step"],
        "best_valid_bleu": max(line["valid_bleu"] for line in log),
        "test_bleu": test["bleu"],
        "test_chrf": test["chrf"],
        "beam": test["beam"],
        "bleu_signature": test["bleu_signature"],
        "config": config,
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    parser.add_argument("--batches", type=int, default=8, help="distinct batches cycled through")
    parser.add_argument("--suite", action="store_true", help="all of notebook 05's measurements")
    parser.add_argument("--no-compile", action="store_true", help="--suite without compile")
    parser.add_argument("--json", type=Path, default=None, help="write (or update) the figures")
    parser.add_argument("--record-run", type=Path, default=None, help="a finished run's dir")
    args, device = parse_and_pick_device(parser, repeats=10)
    if args.record_run is not None:
        results = json.loads(args.json.read_text()) if args.json.exists() else {}
        args.json.write_text(json.dumps(record_run(args.record_run, results), indent=1) + "\n")
        print(f"recorded {args.record_run} in {args.json}")
        return
    config = config_from(args.preset)
    batches = synthetic_batches(config.max_tokens, args.batches, VOCAB, device, pad_id=PAD)
    print(
        f"preset {args.preset}: D={config.d_model}, {config.nhead} heads, "
        f"{config.num_encoder_layers}+{config.num_decoder_layers} layers, FFN "
        f"{config.dim_feedforward}, {config.max_tokens} tokens per batch, median of {args.repeats}"
    )
    figures = {"reference": reference_table(config, batches, device, args.repeats)}
    if args.suite:
        figures.update(suite(config, batches, device, args.repeats, not args.no_compile))
    if args.json is not None:
        status = "measured" if device.type == "cuda" else f"measured on {device}, not a GPU"
        record = {"status": status, **environment(device), "preset": args.preset}
        args.json.write_text(json.dumps({**record, **as_record(figures)}, indent=1) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
