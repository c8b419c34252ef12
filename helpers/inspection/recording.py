"""Recording every attention map of a translator, as derived in `06_inspecting_attention`.

``recording_attention`` (a context manager) and ``attention_maps`` record the weights of
every layer and head of a ``Seq2SeqTransformer`` (encoder self-attention, decoder
self-attention and cross-attention) without changing what the model computes;
``attention_entropy`` and ``attention_mass`` summarise a head in one number.
Shapes: B batch, H heads, S source length, T target length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from helpers._utils import describe_shape, evaluating
from helpers.multi_head_attention import MultiHeadAttention
from helpers.transformer import Seq2SeqTransformer, Transformer

__all__ = [
    "PARTS",
    "AttentionMaps",
    "attention_entropy",
    "attention_maps",
    "attention_mass",
    "recording_attention",
]

PARTS = ("encoder", "decoder", "cross")  # encoder self-, decoder self-, cross-attention


@dataclass
class AttentionMaps:
    """Every attention map of one forward pass, per layer: lists over layers of tensors.

    ``encoder[l]``: (B, H, S, S) encoder self-attention; ``decoder[l]``: (B, H, T, T) masked
    decoder self-attention; ``cross[l]``: (B, H, T, S), decoder queries over the source.
    Rows are queries, columns keys; padding keys get weight 0.
    """

    encoder: list[torch.Tensor | None]
    decoder: list[torch.Tensor | None]
    cross: list[torch.Tensor | None]

    def for_bertviz(
        self,
        index: int = 0,
        src_len: int | None = None,
        tgt_len: int | None = None,
        *,
        encoder_tokens: Sequence[str] | None = None,
        decoder_tokens: Sequence[str] | None = None,
    ) -> dict[str, tuple[torch.Tensor, ...] | list[str]]:
        """Example ``index`` in the format of bertviz's ``model_view`` and ``head_view``.

        Returns ``encoder_attention``, ``decoder_attention`` and ``cross_attention``: tuples
        over layers of (1, H, ·, ·) tensors (B = 1, as bertviz requires), cut to the first
        ``src_len`` source and ``tgt_len`` target positions (drop the padding; default: keep
        all). With ``encoder_tokens`` (S labels) and ``decoder_tokens`` (T labels, the
        decoder's inputs) the dict also holds them, checked against the maps' sizes, so that
        ``model_view(**maps.for_bertviz(0, encoder_tokens=..., decoder_tokens=...))`` draws
        every map.
        """
        missing = [
            part
            for part in PARTS
            if not getattr(self, part) or any(m is None for m in getattr(self, part))
        ]
        if missing:
            raise ValueError(f"no maps recorded yet for {', '.join(missing)}: run the model first")
        B = self.cross[0].shape[0]
        if not -B <= index < B:
            raise ValueError(f"index must lie in [0, B={B}); got {index}")
        if src_len is None and encoder_tokens is not None:
            src_len = len(encoder_tokens)
        if tgt_len is None and decoder_tokens is not None:
            tgt_len = len(decoder_tokens)
        s, t = slice(src_len), slice(tgt_len)
        pick = {"encoder": (s, s), "decoder": (t, t), "cross": (t, s)}
        views: dict[str, tuple[torch.Tensor, ...] | list[str]] = {
            f"{part}_attention": tuple(
                m[index : index + 1 or None, :, rows, columns] for m in getattr(self, part)
            )
            for part, (rows, columns) in pick.items()
        }
        S, T = views["cross_attention"][0].shape[-1], views["cross_attention"][0].shape[-2]
        for name, tokens, size in (("encoder", encoder_tokens, S), ("decoder", decoder_tokens, T)):
            if tokens is None:
                continue
            if len(tokens) != size:
                raise ValueError(
                    f"{name}_tokens must label the {size} {name} positions; got {len(tokens)}"
                )
            views[f"{name}_tokens"] = list(tokens)
        return views


def _attention_modules(model: nn.Module) -> dict[str, list[MultiHeadAttention]]:
    """The MultiHeadAttention modules of a Seq2SeqTransformer or Transformer, by part."""
    core = model.transformer if isinstance(model, Seq2SeqTransformer) else model
    if not isinstance(core, Transformer):
        raise TypeError(
            "expected the course's Seq2SeqTransformer or Transformer (helpers.transformer); "
            f"got {type(model).__name__}"
        )
    return {
        "encoder": [layer.self_attn for layer in core.encoder_layers],
        "decoder": [layer.self_attn for layer in core.decoder_layers],
        "cross": [layer.cross_attn for layer in core.decoder_layers],
    }


def _record(store: list, layer: int, module: nn.Module, args, output) -> None:
    store[layer] = output[1].detach()


def _check_parts(parts: Sequence[str]) -> None:
    if isinstance(parts, str) or not set(parts) <= set(PARTS):
        raise ValueError(f"parts must be a list drawn from {PARTS}; got {parts!r}")


@contextmanager
def recording_attention(model: nn.Module, parts: Sequence[str] = PARTS) -> Iterator[AttentionMaps]:
    """Record the attention weights of every layer and head while the block runs.

    Yields an ``AttentionMaps`` whose entries hold, per layer, the weights of the latest call
    of that attention module (None before the first); a part not in ``parts`` stays an empty
    list. Modules built with ``fused=True`` take the course's path while recording, which
    computes the weights and gives the same outputs within float tolerance; their setting
    and the hooks are restored on exit.
    """
    _check_parts(parts)
    modules = _attention_modules(model)
    maps = AttentionMaps(
        **{part: [None] * len(ms) if part in parts else [] for part, ms in modules.items()}
    )
    saved, handles = [], []
    try:
        for part in parts:
            for layer, module in enumerate(modules[part]):
                saved.append((module, module.fused))
                module.fused = False  # the course's path, which returns the weights
                handles.append(
                    module.register_forward_hook(partial(_record, getattr(maps, part), layer))
                )
        yield maps
    finally:
        for handle in handles:
            handle.remove()
        for module, fused in saved:
            module.fused = fused


def attention_maps(
    model: Seq2SeqTransformer,
    src: torch.Tensor,
    tgt_in: torch.Tensor,
    parts: Sequence[str] = PARTS,
) -> AttentionMaps:
    """The attention maps of one teacher-forced pass: src (B, S) ids, tgt_in (B, T) ids.

    ``tgt_in`` is the decoder's input (BOS first, as in ``TranslationBatch.tgt_in``);
    ``parts`` picks what to record (default: all). Runs in eval mode without gradients and
    puts the model back in the mode it was in.
    """
    with evaluating(model), recording_attention(model, parts) as maps:
        model(src, tgt_in)
    return maps


# --- summaries of a head --------------------------------------------------------------------


def _query_mask(weights: torch.Tensor, query_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, T) boolean, True for real queries; all True if not given."""
    if weights.ndim != 4:
        raise ValueError(f"weights must have shape (B, H, T, S); got {describe_shape(weights)}")
    B, _, T, _ = weights.shape
    if query_mask is None:
        return torch.ones(B, T, dtype=torch.bool, device=weights.device)
    if query_mask.dtype != torch.bool or query_mask.shape != (B, T):
        raise ValueError(
            f"query_mask must be a boolean (B, T) = ({B}, {T}) tensor, True for real queries; "
            f"got {query_mask.dtype} of shape {describe_shape(query_mask)}"
        )
    if not query_mask.any():
        raise ValueError("query_mask selects no query: there is nothing to average over")
    return query_mask


def attention_entropy(
    weights: torch.Tensor, query_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean entropy of each head's attention rows, in nats: weights (B, H, T, S) -> (H,).

    A row's entropy is -Σ_s w_s log w_s (0 · log 0 = 0, so padding keys add nothing): 0 for
    a head that looks at one key, log S for one that spreads evenly over S keys. The mean
    runs over the real queries of every example; ``query_mask`` (B, T) is True for them
    (default: all).
    """
    real = _query_mask(weights, query_mask)
    entropy = torch.special.entr(weights.double()).sum(dim=-1)  # (B, H, T)
    return (entropy * real[:, None]).sum(dim=(0, 2)) / real.sum()


def attention_mass(
    weights: torch.Tensor, keys: torch.Tensor, query_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean weight each head puts on the selected keys: weights (B, H, T, S) -> (H,).

    ``keys`` is boolean and broadcasts to (B, T, S): True for the keys to count, e.g. the
    previous token (a (T, S) band), or punctuation and EOS ((B, 1, S)). The mean runs over
    real queries as in ``attention_entropy``.
    """
    real = _query_mask(weights, query_mask)
    B, _, T, S = weights.shape
    if keys.dtype != torch.bool:
        raise ValueError(f"keys must be a boolean tensor; got {keys.dtype}")
    try:
        keys = torch.broadcast_to(keys, (B, T, S))
    except RuntimeError as error:
        raise ValueError(
            f"keys must broadcast to (B, T, S) = ({B}, {T}, {S}); got {describe_shape(keys)}"
        ) from error
    mass = (weights.double() * keys[:, None]).sum(dim=-1)  # (B, H, T)
    return (mass * real[:, None]).sum(dim=(0, 2)) / real.sum()
