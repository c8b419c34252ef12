"""Exact attention without the N × N matrix: time and peak memory against PyTorch's fused kernel.

    python -m benchmarks.efficient_attention                 (N = 4096, the goal's size)
    python -m benchmarks.efficient_attention --sizes 1024 4096 16384 --device cuda

For each N, on the same inputs (B=1, H=8, Dh=64, float32, forward only, non-causal and
causal): PyTorch's `torch.nn.functional.scaled_dot_product_attention` (its default kernel:
fused, flash-style on the CPU), the reference every ratio divides by; the course's tiled
attention with the online softmax (`helpers.efficient_attention.tiled_attention`, plain
PyTorch, exact); and, for scale, the course's own attention, which holds the N × N weights
(`helpers.attention`, skipped above --max-dense). Median time per call, and peak memory:
what the call's tensors hold at most, beyond its inputs (`helpers.efficient_attention.
peak_memory`: PyTorch's profiler on the CPU, the allocator's peak on CUDA).

Goals at N = 4096 (issue 15): the tiled attention's peak memory ≤ 1.5× and its time ≤ 2× the
fused kernel's. Other jobs on a shared machine move the times (not the memory); record the
load average beside the figures.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
import torch.nn.functional as F

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.attention import scaled_dot_product_attention
from helpers.efficient_attention import peak_memory, tiled_attention

GOALS = {"memory": 1.5, "time": 2.0}


def implementations(block_size: int) -> dict:
    """name -> fn(q, k, v, is_causal) returning the output."""
    return {
        "torch": lambda q, k, v, c: F.scaled_dot_product_attention(q, k, v, is_causal=c),
        "tiled": lambda q, k, v, c: tiled_attention(q, k, v, is_causal=c, block_size=block_size),
        "course": lambda q, k, v, c: scaled_dot_product_attention(
            q, k, v, _causal(q) if c else None
        )[0],
    }


def _causal(q: torch.Tensor) -> torch.Tensor:
    T = q.shape[-2]
    return torch.ones(T, T, dtype=torch.bool, device=q.device).tril()


def make_inputs(args: argparse.Namespace, N: int, device: torch.device) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    shape = (args.batch, args.heads, N, args.head_dim)
    return [torch.randn(*shape, generator=g).to(device) for _ in range(3)]


def measure(args: argparse.Namespace, N: int, device: torch.device, is_causal: bool) -> dict:
    """name -> (milliseconds, MiB) at one size."""
    q, k, v = make_inputs(args, N, device)
    results = {}
    for name, fn in implementations(args.block_size).items():
        if name == "course" and N > args.max_dense:
            continue
        call = partial(fn, q, k, v, is_causal)
        with torch.inference_mode():
            ms = 1e3 * median_time(call, device, args.repeats)
            mib = peak_memory(call, device) / 2**20
        results[name] = (ms, mib)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096], help="N = T = S")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument(
        "--max-dense", type=int, default=4096, help="largest N for the course's dense attention"
    )
    args, device = parse_and_pick_device(parser, repeats=5)
    print(
        f"float32, B={args.batch} H={args.heads} Dh={args.head_dim}, forward, tiles of "
        f"{args.block_size}; ratios against torch (fused)"
    )
    header = (
        f"{'N':>6} {'causal':>6} | {'torch ms':>9} {'tiled ms':>9} {'time':>6} | "
        f"{'torch MiB':>9} {'tiled MiB':>9} {'memory':>6} | {'course ms':>9} {'course MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for N in args.sizes:
        for is_causal in (False, True):
            r = measure(args, N, device, is_causal)
            (t_ms, t_mib), (x_ms, x_mib) = r["torch"], r["tiled"]
            course = (
                f"{r['course'][0]:>9.1f} {r['course'][1]:>10.1f}"
                if "course" in r
                else f"{'-':>9} {'-':>10}"
            )
            print(
                f"{N:>6} {str(is_causal):>6} | {t_ms:>9.1f} {x_ms:>9.1f} {x_ms / t_ms:>5.2f}x | "
                f"{t_mib:>9.1f} {x_mib:>9.1f} {x_mib / t_mib:>5.2f}x | {course}"
            )
    print(f"goals: tiled memory <= {GOALS['memory']}x and time <= {GOALS['time']}x torch's")


if __name__ == "__main__":
    main()
