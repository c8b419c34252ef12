"""Forward+backward time and peak memory of the course's attention vs PyTorch's, in one run.

    python -m benchmarks.attention            (what `make benchmark` runs)
    python -m benchmarks.attention --device cuda --sizes 512 1024 2048

For each size, the implementations run on the same inputs (B=8, H=8, T=S, Dh=64 by
default): the course's `helpers.attention.scaled_dot_product_attention`, PyTorch's
`torch.nn.functional.scaled_dot_product_attention` with its default (fused) kernel, and the
same PyTorch function restricted to its unfused "math" backend. It prints the median time of
forward+backward and the ratios ours / PyTorch. Peak memory: on CUDA, torch.cuda.max_memory_allocated during one step; on
the CPU, the growth of the process's peak resident memory during one step, measured in a
fresh subprocess per implementation and size so that earlier runs do not mask it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.attention import scaled_dot_product_attention


def _torch_math(q, k, v):
    with sdpa_kernel([SDPBackend.MATH]):
        return F.scaled_dot_product_attention(q, k, v)


ROOT = Path(__file__).resolve().parents[1]

IMPLEMENTATIONS = {
    "helpers": lambda q, k, v: scaled_dot_product_attention(q, k, v)[0],
    # PyTorch's default: the fastest kernel it has for the device (fused where it can).
    "torch": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    # PyTorch's unfused reference path: the same algorithm as ours, materialising T x S.
    "torch-math": _torch_math,
}


def make_inputs(B: int, H: int, T: int, Dh: int, device: torch.device, dtype: torch.dtype):
    g = torch.Generator(device="cpu").manual_seed(0)
    return [
        torch.randn(B, H, T, Dh, generator=g, dtype=dtype).to(device).requires_grad_()
        for _ in range(3)
    ]


def step(name: str, q, k, v) -> None:
    for t in (q, k, v):
        t.grad = None
    out = IMPLEMENTATIONS[name](q, k, v)
    out.sum().backward()


def peak_memory_mib(name: str, args: argparse.Namespace, T: int, device: torch.device) -> float:
    if device.type == "cuda":
        inputs = make_inputs(args.batch, args.heads, T, args.head_dim, device, args.dtype)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(name, *inputs)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    code = (
        "import json, torch, benchmarks.attention as b;"
        f"x = b.make_inputs({args.batch}, {args.heads}, {T}, {args.head_dim}, "
        f"torch.device('cpu'), torch.{args.dtype_name});"
        f"print(json.dumps(b.rss_growth_mib(lambda: b.step({name!r}, *x))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def rss_growth_mib(fn) -> float:
    """How far the resident memory peak rises above the current level while ``fn`` runs.

    Linux only: resets the high-water mark (VmHWM) through /proc/self/clear_refs first,
    since ru_maxrss would carry the parent process's peak across fork and exec.
    """
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024], help="T = S")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument(
        "--dtype", dest="dtype_name", default="float32", choices=["float32", "bfloat16", "float16"]
    )
    args, device = parse_and_pick_device(parser, repeats=5)
    args.dtype = getattr(torch, args.dtype_name)
    print(
        f"{args.dtype_name}, B={args.batch} H={args.heads} Dh={args.head_dim}, "
        f"forward+backward, median over about {args.repeats} calls"
    )
    header = (
        f"{'T=S':>5} {'helpers ms':>10} {'torch ms':>9} {'math ms':>8} {'vs torch':>8} "
        f"{'vs math':>7} {'helpers MiB':>11} {'torch MiB':>9} {'math MiB':>8} {'mem vs torch':>12}"
    )
    print(header)
    print("-" * len(header))
    for T in args.sizes:
        inputs = make_inputs(args.batch, args.heads, T, args.head_dim, device, args.dtype)
        ms = {
            n: 1e3 * median_time(partial(step, n, *inputs), device, args.repeats)
            for n in IMPLEMENTATIONS
        }
        del inputs
        mib = {n: peak_memory_mib(n, args, T, device) for n in IMPLEMENTATIONS}
        print(
            f"{T:>5} {ms['helpers']:>10.1f} {ms['torch']:>9.1f} {ms['torch-math']:>8.1f} "
            f"{ms['helpers'] / ms['torch']:>7.2f}x {ms['helpers'] / ms['torch-math']:>6.2f}x "
            f"{mib['helpers']:>11.0f} {mib['torch']:>9.0f} {mib['torch-math']:>8.0f} "
            f"{mib['helpers'] / max(mib['torch'], 1.0):>11.2f}x"
        )


if __name__ == "__main__":
    main()
