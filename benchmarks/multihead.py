"""Forward+backward time of the course's multi-head attention vs torch.nn.MultiheadAttention.

    python -m benchmarks.multihead                 (part of `make benchmark`)
    python -m benchmarks.multihead --device cuda

Self-attention in training mode (dropout 0), on the same inputs and the same weights
(``MultiHeadAttention.from_torch``), for a few (B, T, D, H) sizes. Two pairs, each compared
in the same run:
- the course's from-scratch path (returns per-head weights) against
  ``nn.MultiheadAttention(..., need_weights=True)``, which also materialises the weights;
- the course's fused path (``need_weights=False``: PyTorch's fused kernel, no weights)
  against ``nn.MultiheadAttention(..., need_weights=False)``, which uses the same kernel.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch import nn

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.multi_head_attention import MultiHeadAttention

SIZES = [(16, 128, 256, 8), (8, 256, 512, 8), (4, 512, 512, 8)]  # (B, T, D, H)


def step(module: nn.Module, x: torch.Tensor, need_weights: bool) -> None:
    module.zero_grad(set_to_none=True)
    x.grad = None
    out, _ = module(x, x, x, need_weights=need_weights)
    out.sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args, device = parse_and_pick_device(parser, repeats=7)
    print(f"float32 self-attention, forward+backward, median over about {args.repeats} calls")
    header = (
        f"{'B':>3} {'T':>4} {'D':>4} {'H':>2} | {'scratch ms':>10} {'torch ms':>8} {'ratio':>6} "
        f"| {'fused ms':>8} {'torch ms':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for B, T, D, H in SIZES:
        torch.manual_seed(0)
        theirs = nn.MultiheadAttention(D, H, batch_first=True).to(device).train()
        ours = MultiHeadAttention.from_torch(theirs).to(device).train()
        x = torch.randn(B, T, D, device=device, requires_grad=True)
        ms = {
            (name, weights): 1e3
            * median_time(partial(step, module, x, weights), device, args.repeats)
            for name, module in (("ours", ours), ("torch", theirs))
            for weights in (True, False)
        }
        scratch, torch_w = ms[("ours", True)], ms[("torch", True)]
        fused, torch_f = ms[("ours", False)], ms[("torch", False)]
        print(
            f"{B:>3} {T:>4} {D:>4} {H:>2} | {scratch:>10.1f} {torch_w:>8.1f} {scratch / torch_w:>5.2f}x "
            f"| {fused:>8.1f} {torch_f:>8.1f} {fused / torch_f:>5.2f}x"
        )


if __name__ == "__main__":
    main()
