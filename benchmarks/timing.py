"""Timing shared by the benchmarks: the median of repeated runs, synchronised on a GPU."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


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
