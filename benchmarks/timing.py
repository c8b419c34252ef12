"""What every benchmark shares: its options, and timing with ``torch.utils.benchmark.Timer``.

The Timer fixes the number of threads, synchronises the GPU (or any accelerator) around each
timed block, warms up, and sizes its blocks so that the timer's own overhead does not count.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

import torch
from torch.utils import benchmark
from torch.utils.benchmark.utils.timer import timer as synchronising_clock

from helpers.device import pick_device

TIMER = "torch.utils.benchmark.Timer.blocked_autorange"


def median_time(step: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Median seconds per call of ``step()``, timed over about ``repeats`` calls.

    ``Timer.timeit(1)`` makes two warm-up calls and times a third, which tells how long a call
    takes; ``blocked_autorange`` then times blocks of calls until ``repeats`` such calls' worth
    of time has passed (at least one block) and returns their median. A step on the CPU is
    timed without waiting for an accelerator; elsewhere the Timer synchronises it.
    """
    timer = benchmark.Timer(
        stmt="step()",
        globals={"step": step},
        num_threads=torch.get_num_threads(),
        timer=timeit.default_timer if device.type == "cpu" else synchronising_clock,
    )
    one_call = timer.timeit(1).median
    return timer.blocked_autorange(min_run_time=repeats * one_call).median


def parse_and_pick_device(
    parser: argparse.ArgumentParser, *, repeats: int
) -> tuple[argparse.Namespace, torch.device]:
    """Add the options every benchmark has (--repeats, --device), parse, and say where it runs."""
    parser.add_argument(
        "--repeats",
        type=int,
        default=repeats,
        help="time about this many calls per measurement (default: %(default)s)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best found)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be a positive integer; got {args.repeats}")
    device, reason = pick_device(args.device)
    print(
        f"device: {device} ({reason}); torch {torch.__version__}; "
        f"{torch.get_num_threads()} CPU threads; timing: {TIMER}"
    )
    return args, device
