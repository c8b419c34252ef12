"""Switching attention heads off, as derived in `06_inspecting_attention`.

``heads_of`` lists the heads of one part of a translator as (part, layer, head);
``ablated_heads`` zeroes chosen heads while a block runs, so that a score such as BLEU can
be compared with and without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from helpers.inspection.recording import PARTS, _attention_modules
from helpers.multi_head_attention import MultiHeadAttention

__all__ = ["ablated_heads", "heads_of"]


def heads_of(model: nn.Module, part: str = "cross") -> list[tuple[str, int, int]]:
    """Every head of one part as (part, layer, head), e.g. all cross-attention heads."""
    modules = _attention_modules(model)
    if part not in modules:
        raise ValueError(f"part must be one of {PARTS}; got {part!r}")
    return [(part, layer, h) for layer, m in enumerate(modules[part]) for h in range(m.num_heads)]


@contextmanager
def ablated_heads(model: nn.Module, heads: Iterable[tuple[str, int, int]]) -> Iterator[None]:
    """Zero the output of the chosen heads while the block runs; restore the model after.

    ``heads`` lists (part, layer, head) with part "encoder", "decoder" (self-attention) or
    "cross". A zeroed head's output is set to 0 before the output projection that mixes the
    heads (``MultiHeadAttention.head_mask``), as in Michel et al. (2019); its attention
    weights are still computed.
    """
    modules = _attention_modules(model)
    chosen: dict[MultiHeadAttention, list[int]] = {}
    for spec in heads:
        part, layer, head = spec
        if part not in modules:
            raise ValueError(f"a head is (part, layer, head) with part in {PARTS}; got {spec!r}")
        if not 0 <= layer < len(modules[part]) or not 0 <= head < modules[part][0].num_heads:
            raise ValueError(
                f"{part} has {len(modules[part])} layers of {modules[part][0].num_heads} heads; "
                f"got layer {layer}, head {head}"
            )
        chosen.setdefault(modules[part][layer], []).append(head)
    saved = {module: module.head_mask for module in chosen}
    try:
        for module, zeroed in chosen.items():
            weight = module.w_o.weight
            mask = torch.ones(module.num_heads, device=weight.device, dtype=weight.dtype)
            if module.head_mask is not None:
                mask = mask * module.head_mask.to(mask)
            mask[zeroed] = 0.0
            module.head_mask = mask
        yield
    finally:
        for module, head_mask in saved.items():
            module.head_mask = head_mask
