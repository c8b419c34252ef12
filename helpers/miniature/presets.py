"""The sizes of the three models of `09_beyond_translation`: a CPU preset and a GPU preset.

The notebook trains the ``"cpu"`` preset on a CPU (each model in well under a minute on two
cores) and the ``"gpu"`` preset on a GPU, with the same cells. ``preset_kind(device)`` says
which applies; ``build(family, kind, ...)`` makes the model, seeded by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from helpers.model_families import BERT, GPT, VisionTransformer

__all__ = ["PRESETS", "Preset", "build", "preset_kind"]


@dataclass(frozen=True)
class Preset:
    """A model's constructor arguments and how to train it: AdamW for ``steps`` updates of
    ``batch_size`` examples at peak learning rate ``lr``, with ``weight_decay``."""

    model: dict = field(default_factory=dict)
    steps: int = 1
    batch_size: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.01


PRESETS: dict[str, dict[str, Preset]] = {
    "cpu": {
        "gpt": Preset(
            {"max_len": 64, "d_model": 64, "nhead": 4, "num_layers": 2, "dim_feedforward": 256},
            steps=800,
            batch_size=32,
            lr=6e-3,
        ),
        "bert": Preset(
            {"max_len": 24, "d_model": 64, "nhead": 4, "num_layers": 2, "dim_feedforward": 256},
            steps=800,
            batch_size=64,
            lr=3e-3,
        ),
        "vit": Preset(
            {
                "patch_size": 2,
                "d_model": 64,
                "nhead": 4,
                "num_layers": 2,
                "dim_feedforward": 128,
                "dropout": 0.1,
            },
            steps=800,
            batch_size=64,
            lr=2e-3,
            weight_decay=0.05,
        ),
    },
    "gpu": {  # nanoGPT's "baby GPT" for Shakespeare's characters, and matching sizes
        "gpt": Preset(
            {
                "max_len": 256,
                "d_model": 384,
                "nhead": 6,
                "num_layers": 6,
                "dim_feedforward": 1536,
                "dropout": 0.2,
            },
            steps=3000,
            batch_size=64,
            lr=1e-3,
        ),
        "bert": Preset(
            {"max_len": 24, "d_model": 256, "nhead": 8, "num_layers": 4, "dim_feedforward": 1024},
            steps=4000,
            batch_size=256,
            lr=1e-3,
        ),
        "vit": Preset(
            {
                "patch_size": 2,
                "d_model": 192,
                "nhead": 6,
                "num_layers": 6,
                "dim_feedforward": 768,
                "dropout": 0.1,
            },
            steps=4000,
            batch_size=128,
            lr=1e-3,
            weight_decay=0.05,
        ),
    },
}


def preset_kind(device: torch.device) -> str:
    """``"cpu"`` on a CPU, ``"gpu"`` on any accelerator (CUDA, Apple's MPS)."""
    return "cpu" if torch.device(device).type == "cpu" else "gpu"


def build(family: str, kind: str, *, vocab_size: int | None = None, pad_id: int = 0) -> nn.Module:
    """A fresh ``GPT``, ``BERT`` or ``VisionTransformer`` (``family`` "gpt", "bert" or "vit")
    of the ``kind`` preset; the token models need ``vocab_size``."""
    if kind not in PRESETS or family not in PRESETS[kind]:
        raise ValueError(
            f"kind must be one of {sorted(PRESETS)} and family one of {sorted(PRESETS['cpu'])}; "
            f"got {kind!r}, {family!r}"
        )
    arguments = PRESETS[kind][family].model
    if family == "vit":
        return VisionTransformer(**arguments)
    if vocab_size is None:
        raise ValueError(f"a {family} needs vocab_size")
    if family == "gpt":
        return GPT(vocab_size, **arguments)
    return BERT(vocab_size, **arguments, pad_id=pad_id)
