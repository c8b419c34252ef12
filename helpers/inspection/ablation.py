"""Switching attention heads off, as derived in `06_inspecting_attention`.

``heads_of`` lists the heads of one part of a translator as (part, layer, head);
``ablated_heads`` switches chosen heads off while a block runs, so that a score such as BLEU
can be compared with and without them: it sets their output to zero, or, given the heads'
mean outputs from ``mean_head_outputs``, to that mean (*mean ablation*).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

from helpers._utils import describe_shape, evaluating
from helpers.inspection.recording import PARTS, _attention_modules, _check_parts
from helpers.multi_head_attention import MultiHeadAttention

__all__ = ["ablated_heads", "heads_of", "mean_head_outputs"]


def heads_of(model: nn.Module, part: str = "cross") -> list[tuple[str, int, int]]:
    """Every head of one part as (part, layer, head), e.g. all cross-attention heads."""
    modules = _attention_modules(model)
    if part not in modules:
        raise ValueError(f"part must be one of {PARTS}; got {part!r}")
    return [(part, layer, h) for layer, m in enumerate(modules[part]) for h in range(m.num_heads)]


def mean_head_outputs(
    model: nn.Module,
    src: torch.Tensor,
    tgt_in: torch.Tensor,
    parts: Sequence[str] = PARTS,
) -> dict[str, torch.Tensor]:
    """Each head's mean output over the real queries of a teacher-forced batch.

    src (B, S) and tgt_in (B, T) ids as in ``attention_maps``. Returns part -> (L, H, Dh): the
    head's output before the projection that mixes the heads, averaged over the real (not
    padding) query positions: source positions for "encoder", target positions for
    "decoder" and "cross". Runs in eval mode without gradients.
    """
    _check_parts(parts)
    modules = _attention_modules(model)

    def real_of(ids: torch.Tensor) -> torch.Tensor:
        found = model.real_tokens(ids)  # None when the model has no padding id
        return torch.ones_like(ids, dtype=torch.bool) if found is None else found

    queries = {"encoder": real_of(src), "decoder": real_of(tgt_in), "cross": real_of(tgt_in)}
    means: dict[str, list[torch.Tensor | None]] = {
        part: [None] * len(modules[part]) for part in parts
    }

    def record(part: str, layer: int, module: MultiHeadAttention, linear, args) -> None:
        merged = args[0]  # (B, T, D): the heads side by side
        heads = merged.view(*merged.shape[:-1], module.num_heads, -1)  # (B, T, H, Dh)
        real = queries[part].to(heads.device)
        means[part][layer] = heads[real].double().mean(dim=0)  # (H, Dh)

    with ExitStack() as stack, torch.no_grad(), evaluating(model):
        for part in parts:
            for layer, module in enumerate(modules[part]):
                handle = module.w_o.register_forward_pre_hook(
                    lambda linear, args, p=part, i=layer, m=module: record(p, i, m, linear, args)
                )
                stack.callback(handle.remove)
        model(src, tgt_in)
    return {part: torch.stack(means[part]).float() for part in parts}


def _chosen(model: nn.Module, heads: Iterable[tuple[str, int, int]]):
    """{module: (part, layer, [heads])} for the (part, layer, head) specs, checked."""
    modules = _attention_modules(model)
    chosen: dict[MultiHeadAttention, tuple[str, int, list[int]]] = {}
    for spec in heads:
        part, layer, head = spec
        if part not in modules:
            raise ValueError(f"a head is (part, layer, head) with part in {PARTS}; got {spec!r}")
        if not 0 <= layer < len(modules[part]) or not 0 <= head < modules[part][0].num_heads:
            raise ValueError(
                f"{part} has {len(modules[part])} layers of {modules[part][0].num_heads} heads; "
                f"got layer {layer}, head {head}"
            )
        chosen.setdefault(modules[part][layer], (part, layer, []))[2].append(head)
    return chosen


def _replacing(module: MultiHeadAttention, replacement: Mapping[int, torch.Tensor]):
    """A pre-hook for ``module.w_o`` that puts each chosen head's replacement (Dh,) in place
    of its output."""

    def hook(linear: nn.Linear, args: tuple) -> tuple:
        merged = args[0]
        heads = merged.view(*merged.shape[:-1], module.num_heads, -1).clone()  # (B, T, H, Dh)
        for head, value in replacement.items():
            heads[..., head, :] = value.to(heads)
        return (heads.flatten(-2), *args[1:])

    return hook


def _check_means(means: Mapping[str, torch.Tensor], part: str, module: MultiHeadAttention, L: int):
    expected = (L, module.num_heads, module.w_o.in_features // module.num_heads)
    if part not in means or tuple(means[part].shape) != expected:
        got = describe_shape(means[part]) if part in means else "nothing"
        raise ValueError(
            f"means[{part!r}] must be the (L, H, Dh) = {expected} mean outputs of "
            f"mean_head_outputs; got {got}"
        )


@contextmanager
def ablated_heads(
    model: nn.Module,
    heads: Iterable[tuple[str, int, int]],
    *,
    means: Mapping[str, torch.Tensor] | None = None,
) -> Iterator[None]:
    """Switch the chosen heads off while the block runs; restore the model after.

    ``heads`` lists (part, layer, head) with part "encoder", "decoder" (self-attention) or
    "cross". Without ``means`` a head's output is set to 0 before the output projection that
    mixes the heads (``MultiHeadAttention.head_mask``), as in Michel et al. (2019). With
    ``means`` (part -> (L, H, Dh), from ``mean_head_outputs``) it is set to its mean output
    instead, so the layer still receives the head's average contribution but nothing that
    depends on the sentence. Either way its attention weights are still computed.
    """
    chosen = _chosen(model, heads)
    layers = {part: len(ms) for part, ms in _attention_modules(model).items()}
    saved = {module: module.head_mask for module in chosen}
    try:
        with ExitStack() as stack:
            for module, (part, layer, zeroed) in chosen.items():
                if means is not None:
                    _check_means(means, part, module, layers[part])
                    replacement = {h: means[part][layer, h] for h in zeroed}
                    handle = module.w_o.register_forward_pre_hook(_replacing(module, replacement))
                    stack.callback(handle.remove)
                    continue
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
