"""helpers.device picks the best device and honours overrides."""

from __future__ import annotations

import pytest
import torch

from helpers import device as device_module
from helpers.device import pick_device


def test_cpu_when_no_gpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    device, reason = pick_device()
    assert device == torch.device("cpu") and "no GPU found" in reason


def test_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "Fake GPU")
    assert pick_device() == (torch.device("cuda"), "CUDA GPU found: Fake GPU")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device()[0] == torch.device("mps")


def test_overrides_by_argument_and_environment(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert pick_device("cpu") == (torch.device("cpu"), "cpu requested by argument")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert pick_device() == (torch.device("cpu"), "cpu requested by $COURSE_DEVICE")


def test_unavailable_or_malformed_requests_fail_clearly(monkeypatch):
    monkeypatch.setattr(device_module, "_available", lambda kind: kind == "cpu")
    with pytest.raises(ValueError, match="'cuda' was requested but is not available"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="one of 'cuda', 'cuda:N', 'mps' or 'cpu'; got 'gpu'"):
        pick_device("gpu")
