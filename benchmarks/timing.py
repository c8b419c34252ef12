"""Timing shared by the benchmarks: the median of repeated runs, synchronised on a GPU."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from helpers.device import pick_device


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_time(step: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Median wall time in seconds of ``step()`` over ``repeats`` runs, after one warm-up."""
    step()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_and_pick_device(
    parser: argparse.ArgumentParser, *, repeats: int
) -> tuple[argparse.Namespace, torch.device]:
    """Add the options every benchmark has (--repeats, --device), parse, and say where it runs."""
    parser.add_argument("--repeats", type=int, default=repeats, help="timed runs per measurement")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best found)")
    args = parser.parse_args()
    device, reason = pick_device(args.device)
    print(
        f"device: {device} ({reason}); torch {torch.__version__}; "
        f"{torch.get_num_threads()} CPU threads"
    )
    return args, device
