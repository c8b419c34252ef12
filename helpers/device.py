"""Which device to compute on, and why; introduced in `00_start_here`.

The course runs unchanged on a laptop CPU and on a GPU machine: notebooks ask
``pick_device()`` instead of hard-coding ``"cuda"``. Order of preference: CUDA, then Apple's
MPS, then the CPU. Override it with the ``preference`` argument or the environment variable
``COURSE_DEVICE`` (e.g. ``COURSE_DEVICE=cpu`` to compare timings on a GPU machine).
"""

from __future__ import annotations

import os

import torch

__all__ = ["pick_device"]

ENV_VAR = "COURSE_DEVICE"


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return torch.backends.mps.is_available()
    return kind == "cpu"


def pick_device(preference: str | None = None) -> tuple[torch.device, str]:
    """The device to use and a one-line reason, e.g. ``(device('cpu'), 'no GPU found ...')``.

    preference: "cuda", "cuda:1", "mps" or "cpu"; ``None`` reads ``COURSE_DEVICE`` and
    otherwise picks the best available. Asking for a device that is not there raises
    ``ValueError`` rather than silently running somewhere else.
    """
    preference = preference or os.environ.get(ENV_VAR) or None
    if preference is not None:
        try:
            device = torch.device(preference)
        except RuntimeError:
            raise ValueError(
                f"device must be one of 'cuda', 'cuda:N', 'mps' or 'cpu'; got {preference!r}"
            ) from None
        if not _available(device.type):
            raise ValueError(f"device {preference!r} was requested but is not available here")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(
                f"device {preference!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
        source = "argument" if os.environ.get(ENV_VAR) != preference else f"${ENV_VAR}"
        return device, f"{device} requested by {source}"
    if torch.cuda.is_available():
        return torch.device("cuda"), f"CUDA GPU found: {torch.cuda.get_device_name(0)}"
    if torch.backends.mps.is_available():
        return torch.device("mps"), "Apple GPU (MPS) found"
    return torch.device("cpu"), "no GPU found (neither CUDA nor Apple MPS), using the CPU"
