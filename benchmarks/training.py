"""Training throughput (target tokens/s) of a training preset vs torch.nn.Transformer.

    python -m benchmarks.training                    (part of `make benchmark`; --preset cpu)
    python -m benchmarks.training --preset gpu --device cuda

One training step, ``helpers.translation.loop.train_step`` as the training loop runs it
(forward, label-smoothed loss, backward, clipping, Adam), of the preset's model on
token-budget batches with translation-like lengths, dropout as in the preset. Rows:
the course's Seq2SeqTransformer with PyTorch's fused attention and with the course's own
attention, and the same configuration built on ``torch.nn.Transformer`` (the reference). On a
GPU each runs in float32 and under bf16 autocast. Printed: target tokens per second and the
ratio of the reference's throughput to each row's (time per token relative to PyTorch:
1.00x = as fast, above 1 = slower).
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.timing import median_time, parse_and_pick_device
from benchmarks.transformer import PAD, TorchSeq2Seq
from helpers.translation.batching import TranslationBatch
from helpers.translation.config import PRESETS, TrainConfig, build_model, config_from
from helpers.translation.loop import train_step
from helpers.translation.precision import MixedPrecision

VOCAB = (1500, 2000)  # about the bundled corpus's word vocabularies (English, German)
LENGTHS = (5, 24)  # target lengths drawn uniformly in this range, like the bundled corpus


def token_batches(max_tokens: int, count: int, device: torch.device) -> list[TranslationBatch]:
    """``count`` batches of B × L ≤ max_tokens padded tokens, lengths bucketed."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(count):
        L = int(torch.randint(LENGTHS[0], LENGTHS[1] + 1, (1,), generator=g))
        B = max_tokens // (L + 1)
        lengths = torch.randint(max(2, L - 3), L + 1, (B,), generator=g)
        src = torch.randint(4, VOCAB[0], (B, L), generator=g)
        tgt = torch.randint(4, VOCAB[1], (B, L + 1), generator=g)
        src[torch.arange(L) >= lengths[:, None]] = PAD
        tgt[torch.arange(L + 1) > lengths[:, None]] = PAD
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
        batch = TranslationBatch(
            src, tgt_in, tgt_out, src != PAD, tgt_in != PAD, int((tgt_out != PAD).sum())
        )
        batches.append(batch.to(device))
    return batches


def make_step(model, batches, precision: MixedPrecision, config: TrainConfig):
    """One call of ``train_step`` per call, cycling through ``batches``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    steps = iter(range(1, 10**9))

    def step() -> None:
        number = next(steps)
        train_step(
            model,
            batches[number % len(batches)],
            optimizer,
            precision,
            pad_id=PAD,
            label_smoothing=config.label_smoothing,
            clip_norm=config.clip_norm,
            step=number,
        )

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    parser.add_argument("--batches", type=int, default=8, help="distinct batches cycled through")
    args, device = parse_and_pick_device(parser, repeats=10)
    config = config_from(args.preset)
    batches = token_batches(config.max_tokens, args.batches, device)
    tokens = sum(batch.num_tgt_tokens for batch in batches) / len(batches)
    print(
        f"preset {args.preset}: D={config.d_model}, {config.nhead} heads, "
        f"{config.num_encoder_layers}+{config.num_decoder_layers} layers, FFN "
        f"{config.dim_feedforward}, {config.max_tokens} tokens per batch, median of {args.repeats}"
    )
    modes = ["fp32"] + (["bf16"] if device.type == "cuda" else [])
    header = f"{'model':<28} {'precision':>9} {'tokens/s':>10} {'vs torch':>9}"
    print(header)
    print("-" * len(header))
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
            run = config_from(args.preset, attention=attention)
            models[f"course, {attention} attention"] = build_model(run, *VOCAB, PAD)
        rate = {}
        for name, model in models.items():
            step = make_step(model.to(device).train(), batches, precision, config)
            rate[name] = tokens / median_time(step, device, args.repeats)
        reference = rate["torch.nn.Transformer"]
        for name, value in rate.items():
            print(f"{name:<28} {mode:>9} {value:>10,.0f} {reference / value:>8.2f}x")


if __name__ == "__main__":
    main()
