"""The encoder–decoder Transformer of "Attention Is All You Need", as derived in `04_transformer`.

Built from the course's own pieces: ``MultiHeadAttention`` (notebook 03) and the positional
encodings of ``helpers.positional_encoding``. ``Transformer`` mirrors the constructor and
the batch-first forward of ``torch.nn.Transformer`` and can copy its weights
(``Transformer.from_torch``). Its masks use this course's convention, and their names say
so, so that a torch user cannot misread them:

- ``src_attend`` (S, S), ``tgt_attend`` (T, T), ``memory_attend`` (T, S): True = may attend;
- ``src_real`` (B, S), ``tgt_real`` (B, T), ``memory_real`` (B, S): True = a real token,
  False = padding.

``torch.nn.Transformer`` calls them ``src_mask`` … ``memory_key_padding_mask``, and its boolean
masks mean the opposite, True = masked out: ``tgt_attend`` is ``~tgt_mask`` and ``src_real``
is ``~src_key_padding_mask``.

``tgt_is_causal=True`` makes the decoder's self-attention causal without a (T, T) mask, so that
PyTorch's fused kernel may run it as ``is_causal``; ``Seq2SeqTransformer`` uses it. Unpadded
batches run with no mask at all (what lets PyTorch pick its flash kernel on a GPU): on the CPU
a real-token mask with no padding in it is dropped, and on an accelerator, where finding that
out would make the host wait for the device, ``Seq2SeqTransformer(...)(src, tgt,
padded=False)`` says so. For decoding one token at a time, ``DecoderCache`` keeps each
decoder layer's keys and values (``Seq2SeqTransformer.new_cache``); `08_efficient_attention`
explains it and measures what it saves.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from helpers._utils import describe_shape
from helpers.multi_head_attention import KVCache, MultiHeadAttention
from helpers.positional_encoding import LearnedPositionalEmbedding, SinusoidalPositionalEncoding

__all__ = [
    "DecoderLayer",
    "EncoderLayer",
    "PositionwiseFeedForward",
    "Seq2SeqTransformer",
    "Transformer",
]

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def combine_masks(attend: torch.Tensor | None, real: torch.Tensor | None) -> torch.Tensor | None:
    """One mask for (B, H, T, S) scores from an attention pattern ``attend`` (T, S), True = may
    attend, and the keys' ``real`` (B, S), True = a real token; returns (T, S), (B, 1, 1, S),
    (B, 1, T, S) or None.

    On the CPU, ``real`` is left out when every key is real: the result is the same, and with
    no mask at all PyTorch's fused attention may use its fastest kernel. On an accelerator the
    mask is kept, since finding out would make the host wait for the device (a sync).
    """
    if real is None:
        return attend
    if real.dtype != torch.bool or real.ndim != 2:
        raise ValueError(
            "real-token masks must be boolean (B, S), True for real tokens; got "
            f"{real.dtype} of shape {describe_shape(real)}"
        )
    if real.device.type == "cpu" and bool(real.all()):
        return attend
    keys = real[:, None, None, :]  # (B, 1, 1, S)
    return keys if attend is None else attend & keys


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = W2 · dropout(activation(W1 x + b1)) + b2, applied to every position alone.

    (B, T, D) -> (B, T, D), with a hidden width ``dim_feedforward``.
    """

    def __init__(
        self,
        d_model: int,
        dim_feedforward: int,
        dropout: float = 0.0,
        activation: Literal["relu", "gelu"] = "relu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.activation = ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class _Sublayers(nn.Module):
    """What both layers share: self-attention, (for the decoder) cross-attention, a feed-forward
    network, one LayerNorm and one dropout per sublayer, and the residual wiring: post-LN
    ``norm(x + f(x))`` (the 2017 paper) or pre-LN ``x + f(norm(x))`` (``norm_first``, easier
    to train deep)."""

    cross_attention: bool  # set by each layer class

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Literal["relu", "gelu"] = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        bias: bool = True,
        *,
        fused: bool = False,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout, bias, fused=fused)
        if self.cross_attention:
            self.cross_attn = MultiHeadAttention(d_model, nhead, dropout, bias, fused=fused)
        self.feed_forward = PositionwiseFeedForward(
            d_model, dim_feedforward, dropout, activation, bias
        )
        for i in range(1, 3 + self.cross_attention):  # norm1, dropout1, ... as in torch.nn's layers
            setattr(self, f"norm{i}", nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
            setattr(self, f"dropout{i}", nn.Dropout(dropout))

    def _residual(self, x: torch.Tensor, sublayer, norm: nn.LayerNorm, dropout: nn.Dropout):
        if self.norm_first:
            return x + dropout(sublayer(norm(x)))
        return norm(x + dropout(sublayer(x)))


class EncoderLayer(_Sublayers):
    """Self-attention then feed-forward, each with a residual connection, LayerNorm and dropout.

    forward(x (B, S, D), src_attend) -> (B, S, D); ``src_attend`` True = may attend,
    broadcastable to (B, H, S, S). Same parameters as ``torch.nn.TransformerEncoderLayer``.
    A decoder-only model (a GPT) stacks these with ``is_causal=True``, and, for incremental
    decoding, a ``KVCache`` per layer (x then holds the new positions only).
    """

    cross_attention = False

    def forward(
        self,
        x: torch.Tensor,
        src_attend: torch.Tensor | None = None,
        *,
        is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        x = self._residual(
            x,
            lambda y: self.self_attn(y, y, y, src_attend, is_causal=is_causal, cache=cache)[0],
            self.norm1,
            self.dropout1,
        )
        return self._residual(x, self.feed_forward, self.norm2, self.dropout2)


class DecoderLayer(_Sublayers):
    """Masked self-attention, cross-attention over the encoder output, then feed-forward.

    forward(x (B, T, D), memory (B, S, D), tgt_attend, memory_attend) -> (B, T, D), both masks
    True = may attend; ``tgt_is_causal`` adds the causal pattern to the self-attention. The
    cross-attention takes its queries from the decoder and its keys and values from
    ``memory``. Same parameters as ``torch.nn.TransformerDecoderLayer``. ``cache``, a pair of
    ``KVCache`` (self-attention, cross-attention), makes x the new positions only.
    """

    cross_attention = True

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        tgt_attend: torch.Tensor | None = None,
        memory_attend: torch.Tensor | None = None,
        *,
        tgt_is_causal: bool = False,
        cache: tuple[KVCache, KVCache] | None = None,
    ) -> torch.Tensor:
        self_cache, cross_cache = (None, None) if cache is None else cache
        x = self._residual(
            x,
            lambda y: self.self_attn(
                y, y, y, tgt_attend, is_causal=tgt_is_causal, cache=self_cache
            )[0],
            self.norm1,
            self.dropout1,
        )
        x = self._residual(
            x,
            lambda y: self.cross_attn(y, memory, memory, memory_attend, cache=cross_cache)[0],
            self.norm2,
            self.dropout2,
        )
        return self._residual(x, self.feed_forward, self.norm3, self.dropout3)


class DecoderCache:
    """What incremental decoding keeps between steps, for a decoder of L layers.

    Per layer, a pair of ``KVCache``: the self-attention's keys and values of every target
    position so far, and the cross-attention's keys and values of the memory (projected at
    the first step, then reused). Its size, 2 · L · B · (t + S) · G · Dh numbers (G key/value
    heads of width Dh), grows with the t positions decoded; ``nbytes`` measures it.
    """

    def __init__(self, num_layers: int) -> None:
        self.layers = [(KVCache(), KVCache(static=True)) for _ in range(num_layers)]

    @property
    def length(self) -> int:
        """Target positions held, t."""
        return self.layers[0][0].length if self.layers else 0

    @property
    def nbytes(self) -> int:
        """Bytes held by every cached key and value."""
        return sum(cache.nbytes for pair in self.layers for cache in pair)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the batch rows ``index`` (B',) in every layer, as beam search needs."""
        for pair in self.layers:
            for cache in pair:
                cache.reorder(index)


class Transformer(nn.Module):
    """The encoder–decoder core, with ``torch.nn.Transformer``'s constructor arguments.

    forward(src (B, S, D), tgt (B, T, D), masks...) -> (B, T, D), batch first. Like PyTorch's,
    both stacks end with a LayerNorm.
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Literal["relu", "gelu"] = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        bias: bool = True,
        *,
        fused: bool = False,
    ) -> None:
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps)
        layer_kwargs = {"norm_first": norm_first, "bias": bias, "fused": fused}
        self.d_model, self.nhead = d_model, nhead
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(*layer_args, **layer_kwargs) for _ in range(num_encoder_layers)
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(*layer_args, **layer_kwargs) for _ in range(num_decoder_layers)
        )
        self.encoder_norm = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.decoder_norm = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)

    def encode(
        self,
        src: torch.Tensor,
        src_attend: torch.Tensor | None = None,
        src_real: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """src (B, S, D) -> memory (B, S, D)."""
        mask = combine_masks(src_attend, src_real)
        for layer in self.encoder_layers:
            src = layer(src, mask)
        return self.encoder_norm(src)

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        tgt_attend: torch.Tensor | None = None,
        memory_attend: torch.Tensor | None = None,
        tgt_real: torch.Tensor | None = None,
        memory_real: torch.Tensor | None = None,
        *,
        tgt_is_causal: bool = False,
        cache: DecoderCache | None = None,
    ) -> torch.Tensor:
        """tgt (B, T, D), memory (B, S, D) -> (B, T, D).

        With ``cache`` (from ``new_cache``), tgt holds the new positions only, (B, n, D), and
        ``tgt_attend`` (n, t) and ``tgt_real`` (B, t) cover all t positions so far.
        """
        self_mask = combine_masks(tgt_attend, tgt_real)
        cross_mask = combine_masks(memory_attend, memory_real)
        caches = [None] * len(self.decoder_layers) if cache is None else cache.layers
        for layer, layer_cache in zip(self.decoder_layers, caches, strict=True):
            tgt = layer(
                tgt, memory, self_mask, cross_mask, tgt_is_causal=tgt_is_causal, cache=layer_cache
            )
        return self.decoder_norm(tgt)

    def new_cache(self) -> DecoderCache:
        """An empty ``DecoderCache`` for this decoder's layers."""
        return DecoderCache(len(self.decoder_layers))

    def forward(
        self,
        src: torch.Tensor,
        tgt: torch.Tensor,
        src_attend: torch.Tensor | None = None,
        tgt_attend: torch.Tensor | None = None,
        memory_attend: torch.Tensor | None = None,
        src_real: torch.Tensor | None = None,
        tgt_real: torch.Tensor | None = None,
        memory_real: torch.Tensor | None = None,
        *,
        tgt_is_causal: bool = False,
    ) -> torch.Tensor:
        for name, x in (("src", src), ("tgt", tgt)):
            if x.ndim != 3 or x.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} must have shape (B, L, D) with D = d_model = {self.d_model}; "
                    f"got {tuple(x.shape)}"
                )
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"src and tgt must have the same batch size B; got {src.shape[0]} and {tgt.shape[0]}"
            )
        memory = self.encode(src, src_attend, src_real)
        return self.decode(
            tgt,
            memory,
            tgt_attend,
            memory_attend,
            tgt_real,
            memory_real,
            tgt_is_causal=tgt_is_causal,
        )

    @classmethod
    def from_torch(cls, module: nn.Transformer, *, fused: bool = False) -> Transformer:
        """A copy of a ``torch.nn.Transformer(batch_first=True)`` with the same weights.

        In eval mode the outputs agree with PyTorch's once its masks are given in this
        course's convention: ``tgt_attend=~tgt_mask``, ``src_real=~src_key_padding_mask``, ….
        """
        if not isinstance(module, nn.Transformer):
            raise TypeError(f"expected torch.nn.Transformer; got {type(module).__name__}")
        first = module.encoder.layers[0]
        if not first.self_attn.batch_first:
            raise ValueError("from_torch needs a torch.nn.Transformer built with batch_first=True")
        activation = {F.relu: "relu", F.gelu: "gelu"}.get(first.activation)
        if activation is None:
            raise ValueError(
                f"from_torch supports relu and gelu activations; got {first.activation}"
            )
        copy = cls(
            d_model=module.d_model,
            nhead=module.nhead,
            num_encoder_layers=len(module.encoder.layers),
            num_decoder_layers=len(module.decoder.layers),
            dim_feedforward=first.linear1.out_features,
            dropout=first.dropout.p,
            activation=activation,
            layer_norm_eps=first.norm1.eps,
            norm_first=first.norm_first,
            bias=first.linear1.bias is not None,
            fused=fused,
        )
        pairs = [(copy.encoder_norm, module.encoder.norm), (copy.decoder_norm, module.decoder.norm)]
        for ours, theirs in zip(copy.encoder_layers, module.encoder.layers, strict=True):
            ours.self_attn = MultiHeadAttention.from_torch(theirs.self_attn, fused=fused)
            pairs += [(ours.norm1, theirs.norm1), (ours.norm2, theirs.norm2)]
            pairs += [(ours.feed_forward.linear1, theirs.linear1)]
            pairs += [(ours.feed_forward.linear2, theirs.linear2)]
        for ours, theirs in zip(copy.decoder_layers, module.decoder.layers, strict=True):
            ours.self_attn = MultiHeadAttention.from_torch(theirs.self_attn, fused=fused)
            ours.cross_attn = MultiHeadAttention.from_torch(theirs.multihead_attn, fused=fused)
            pairs += [(ours.norm1, theirs.norm1), (ours.norm2, theirs.norm2)]
            pairs += [(ours.norm3, theirs.norm3), (ours.feed_forward.linear1, theirs.linear1)]
            pairs += [(ours.feed_forward.linear2, theirs.linear2)]
        with torch.no_grad():
            for ours, theirs in pairs:
                ours.load_state_dict(theirs.state_dict())
        return copy.to(first.linear1.weight.device, first.linear1.weight.dtype)


class Seq2SeqTransformer(nn.Module):
    """Token ids in, next-token logits out: embeddings · √D + positions, the core, a projection.

    forward(src (B, S) ids, tgt (B, T) ids) -> logits (B, T, V_tgt). With ``pad_id`` set, padding
    masks are built from the ids (``real_tokens``); the decoder is always causal.
    ``encode``/``decode`` expose the two halves for autoregressive decoding: ``decode`` takes the
    memory's real-token mask, ``real_tokens(src)``, and optionally a key-value cache from
    ``new_cache()``. ``tie_weights`` shares the target embedding with the output projection.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        *,
        max_len: int = 512,
        pad_id: int | None = None,
        positional: Literal["sinusoidal", "learned"] = "sinusoidal",
        tie_weights: bool = False,
        norm_first: bool = False,
        activation: Literal["relu", "gelu"] = "relu",
        fused: bool = False,
    ) -> None:
        super().__init__()
        positions = {
            "sinusoidal": SinusoidalPositionalEncoding,
            "learned": LearnedPositionalEmbedding,
        }
        if positional not in positions:
            raise ValueError(f"positional must be one of {sorted(positions)}; got {positional!r}")
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embedding = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_id)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
        self.src_position = positions[positional](d_model, max_len, dropout)
        self.tgt_position = positions[positional](d_model, max_len, dropout)
        self.transformer = Transformer(
            d_model,
            nhead,
            num_encoder_layers,
            num_decoder_layers,
            dim_feedforward,
            dropout,
            activation,
            norm_first=norm_first,
            fused=fused,
        )
        self.generator = nn.Linear(d_model, tgt_vocab_size)
        # Embeddings start at std D^-0.5, so that after the · √D scaling token vectors have unit
        # size, like the positions added to them (as fairseq does); with tied weights this also
        # keeps the first logits small. (nn.Embedding's default std 1 would make them √D too big.)
        for embedding in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
            if pad_id is not None:
                nn.init.zeros_(embedding.weight[pad_id])
        if tie_weights:
            self.generator.weight = self.tgt_embedding.weight

    def real_tokens(self, ids: torch.Tensor) -> torch.Tensor | None:
        """(B, L) ids -> (B, L) boolean, True = a real token (not ``pad_id``); None without pad_id."""
        return None if self.pad_id is None else ids != self.pad_id

    @staticmethod
    def _check_ids(name: str, ids: torch.Tensor) -> None:
        if ids.ndim != 2 or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"{name} must be a (B, L) tensor of integer token ids; got {ids.dtype} of shape "
                f"{tuple(ids.shape)}"
            )

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """src (B, S) ids -> memory (B, S, D)."""
        return self._encode(src, self.real_tokens(src))

    def _encode(self, src: torch.Tensor, src_real: torch.Tensor | None) -> torch.Tensor:
        self._check_ids("src", src)
        x = self.src_position(self.src_embedding(src) * math.sqrt(self.d_model))
        return self.transformer.encode(x, src_real=src_real)

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        memory_real: torch.Tensor | None = None,
        *,
        cache: DecoderCache | None = None,
    ) -> torch.Tensor:
        """tgt (B, T) ids so far, memory (B, S, D), memory_real (B, S) -> logits (B, T, V).

        ``memory_real`` is True for the memory positions of real source tokens, i.e.
        ``real_tokens(src)``; None means every source position is real.

        With ``cache`` (from ``new_cache()``, the same one at every step) the decoder layers run
        on the positions of ``tgt`` that the cache has not seen, and only their logits come
        back: (B, T - t, V) after t cached positions, (B, 1, V) when one token was added. The
        earlier positions' keys and values come from the cache; the result is the same as
        without it, within float rounding.
        """
        return self._decode(tgt, memory, memory_real, cache, self.real_tokens(tgt))

    def _decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        memory_real: torch.Tensor | None,
        cache: DecoderCache | None,
        tgt_real: torch.Tensor | None,
    ) -> torch.Tensor:
        self._check_ids("tgt", tgt)
        if memory_real is not None and memory_real.shape != memory.shape[:2]:
            raise ValueError(
                "memory_real must be the (B, S) real-token mask of the source, real_tokens(src); "
                f"got {describe_shape(memory_real)} for memory {describe_shape(memory)}"
            )
        start = 0 if cache is None else cache.length
        if start >= tgt.shape[1]:
            raise ValueError(
                f"tgt must extend the {start} positions the cache holds; got {tgt.shape[1]} ids"
            )
        # Embedding the whole prefix is cheap; the layers below run on the new positions only.
        y = self.tgt_position(self.tgt_embedding(tgt) * math.sqrt(self.d_model))[:, start:]
        attend, is_causal = None, cache is None  # without a cache: causal, and no (T, T) mask
        if cache is not None and tgt.shape[1] - start > 1:  # new query i sees keys <= start + i
            attend = torch.ones(tgt.shape[1] - start, tgt.shape[1], dtype=torch.bool)
            attend = attend.tril(start).to(tgt.device)
        hidden = self.transformer.decode(
            y,
            memory,
            tgt_attend=attend,
            tgt_real=tgt_real,
            memory_real=memory_real,
            tgt_is_causal=is_causal,
            cache=cache,
        )
        return self.generator(hidden)

    def new_cache(self) -> DecoderCache:
        """An empty key-value cache for ``decode(..., cache=...)`` (see ``helpers.decoding``)."""
        return self.transformer.new_cache()

    def forward(
        self, src: torch.Tensor, tgt: torch.Tensor, *, padded: bool | None = None
    ) -> torch.Tensor:
        """src (B, S), tgt (B, T) ids -> logits (B, T, V).

        ``padded=False`` promises that no id is ``pad_id`` (known on the host when the batch was
        built), so no padding mask is built at all, even on an accelerator; the default finds
        out from the ids (``real_tokens``).
        """
        if padded is False:
            return self._decode(tgt, self._encode(src, None), None, None, None)
        return self.decode(tgt, self.encode(src), self.real_tokens(src))
