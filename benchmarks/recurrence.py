"""Forward+backward time of an LSTM against self-attention of the same width, in one run.

    python -m benchmarks.recurrence
    python -m benchmarks.recurrence --device cuda --sizes 128 512 2048 8192

For each sequence length T, on the same input (B=8, D=64, 4 heads by default): PyTorch's
``nn.LSTM`` (oneDNN on the CPU, cuDNN on a GPU: T steps, one after another) and the course's
``MultiHeadAttention`` as self-attention, with PyTorch's fused kernel (``fused=True``) and
with the course's own path, which materialises the T x T weights. It prints the median time
of forward+backward and the ratios LSTM / attention: above 1, attention is the faster one.
This is the measurement of `07_why_attention`, section 6, at sizes a notebook cannot afford.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch import nn

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.multi_head_attention import MultiHeadAttention


def layers(d_model: int, heads: int, device: torch.device) -> dict:
    """name -> a function x (B, T, D) -> (B, T, D), with its own weights on ``device``."""
    lstm = nn.LSTM(d_model, d_model, batch_first=True).to(device)
    fused = MultiHeadAttention(d_model, heads, fused=True).to(device)
    course = MultiHeadAttention(d_model, heads).to(device)
    return {
        "LSTM": lambda x: lstm(x)[0],
        "fused": lambda x: fused(x, x, x)[0],
        "course": lambda x: course(x, x, x)[0],
    }


def step(layer, x: torch.Tensor) -> None:
    x.grad = None
    layer(x).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024], help="T")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--width", type=int, default=64, help="D")
    parser.add_argument("--heads", type=int, default=4)
    args, device = parse_and_pick_device(parser, repeats=5)
    print(
        f"float32, B={args.batch} D={args.width} H={args.heads}, forward+backward, "
        f"median over about {args.repeats} calls"
    )
    header = (
        f"{'T':>6} {'LSTM ms':>9} {'fused ms':>9} {'course ms':>10} "
        f"{'LSTM/fused':>10} {'LSTM/course':>11}"
    )
    print(header)
    print("-" * len(header))
    for T in args.sizes:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(args.batch, T, args.width, generator=generator).to(device)
        x.requires_grad_()
        ms = {
            name: 1e3 * median_time(partial(step, layer, x), device, args.repeats)
            for name, layer in layers(args.width, args.heads, device).items()
        }
        print(
            f"{T:>6} {ms['LSTM']:>9.2f} {ms['fused']:>9.2f} {ms['course']:>10.2f} "
            f"{ms['LSTM'] / ms['fused']:>9.2f}x {ms['LSTM'] / ms['course']:>10.2f}x"
        )


if __name__ == "__main__":
    main()
