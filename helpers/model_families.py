"""A GPT, a BERT and a Vision Transformer from one set of blocks, as derived in
`09_beyond_translation`.

Every model here is the same stack of the course's ``EncoderLayer`` (self-attention and a
feed-forward network, notebook 04) with a final LayerNorm, ``SelfAttentionStack``; what
differs is the mask, what goes in and what comes out:

- ``GPT`` (decoder-only): token ids in, a **causal** mask, next-token logits out. A decoder
  layer without its cross-attention is exactly an encoder layer; the causal mask is all that
  is left of "decoder".
- ``BERT`` (encoder-only): token ids in, **no** mask beyond padding (every token sees every
  other), logits for masked-out tokens (``mask_tokens``: 15 %, then 80/10/10) or a class.
- ``VisionTransformer`` (encoder-only on images): ``patchify`` cuts an image into patches
  that become tokens, a learned class token goes first, learned positions are added, and the
  class token's output is classified.

The third family, the encoder–decoder (the translator of notebooks 04–06, T5's shape), is
``helpers.transformer.Seq2SeqTransformer``. ``generate`` samples from a GPT with temperature
and top-k (``next_token_distribution``), with the key-value cache of notebook 08;
``self_attention_maps`` records every layer's attention weights.

All three stacks are pre-LN (``x + f(norm(x))``, as in GPT-2 and ViT) with GELU activations.
Shapes: B batch, T tokens, D model width, H heads, V vocabulary, C classes, N patches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from helpers._utils import check_positive_int, describe_shape, evaluating
from helpers.multi_head_attention import KVCache
from helpers.positional_encoding import LearnedPositionalEmbedding
from helpers.transformer import EncoderLayer, combine_masks

__all__ = [
    "BERT",
    "GPT",
    "IGNORE_INDEX",
    "SelfAttentionStack",
    "VisionTransformer",
    "generate",
    "mask_tokens",
    "next_token_distribution",
    "patchify",
    "self_attention_maps",
]

IGNORE_INDEX = -100  # a target that the loss skips (F.cross_entropy's default ignore_index)
EMBEDDING_STD = 0.02  # GPT-2's and BERT's initialisation of token and position embeddings


class SelfAttentionStack(nn.Module):
    """N pre-LN ``EncoderLayer`` blocks and a final LayerNorm: (B, T, D) -> (B, T, D).

    ``causal=True`` gives every position the keys up to itself only (a GPT); ``False`` lets
    every position see every other (a BERT, a ViT). ``real`` (B, T), True = a real token,
    hides padding keys. ``cache`` (from ``new_cache``, one ``KVCache`` per layer) is for
    generating one token at a time: x then holds the new positions only, and their keys and
    values are appended to those of the positions before them.

    The attention runs PyTorch's fused kernel (``fused=True``, the same result as the
    course's path within float tolerance, as notebook 03 showed, and faster);
    ``self_attention_maps`` switches to the course's path to record the weights.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        num_layers: int,
        dim_feedforward: int,
        dropout: float = 0.0,
        *,
        causal: bool = False,
        fused: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int("num_layers", num_layers)
        self.causal = causal
        self.layers = nn.ModuleList(
            EncoderLayer(
                d_model, nhead, dim_feedforward, dropout, "gelu", norm_first=True, fused=fused
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def new_cache(self) -> list[KVCache]:
        """One empty ``KVCache`` per layer, for ``forward(..., cache=...)``."""
        return [KVCache() for _ in self.layers]

    def forward(
        self,
        x: torch.Tensor,
        real: torch.Tensor | None = None,
        *,
        cache: list[KVCache] | None = None,
    ) -> torch.Tensor:
        start = 0 if cache is None else cache[0].length  # positions already in the cache
        attend = None
        if self.causal and cache is not None:  # new query i sits at start + i: keys <= start + i
            T = x.shape[1]
            attend = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(start)
        mask = combine_masks(attend, real)
        is_causal = self.causal and cache is None  # the pattern without a (T, T) mask tensor
        for layer, layer_cache in zip(self.layers, cache or [None] * len(self.layers), strict=True):
            x = layer(x, mask, is_causal=is_causal, cache=layer_cache)
        return self.norm(x)

    def extra_repr(self) -> str:
        return f"causal={self.causal}"


def _check_ids(ids: torch.Tensor, max_len: int) -> None:
    if ids.ndim != 2 or ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(
            f"ids must be a (B, T) tensor of integer token ids; got {ids.dtype} of shape "
            f"{describe_shape(ids)}"
        )
    if ids.shape[1] > max_len:
        raise ValueError(f"T = {ids.shape[1]} tokens exceed the model's max_len = {max_len}")


class _TokenModel(nn.Module):
    """What the GPT and the BERT share: token embeddings and learned positions (both
    initialised at std 0.02, as GPT-2 and BERT do), the stack (causal or not, set by each
    class) and a language-model head D -> V that shares its weights with the token embedding."""

    causal: bool  # set by each model class

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.max_len = check_positive_int("max_len", max_len)
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position = LearnedPositionalEmbedding(d_model, max_len, dropout)
        nn.init.normal_(self.token_embedding.weight, std=EMBEDDING_STD)
        nn.init.normal_(self.position.embedding.weight, std=EMBEDDING_STD)
        self.blocks = SelfAttentionStack(
            d_model, nhead, num_layers, dim_feedforward, dropout, causal=self.causal
        )
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.token_embedding.weight

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> token embeddings + positions (B, T, D)."""
        _check_ids(ids, self.max_len)
        return self.position(self.token_embedding(ids))


class GPT(_TokenModel):
    """A decoder-only language model: ids (B, T) -> next-token logits (B, T, V).

    ``GPT(vocab_size, max_len, d_model=64, nhead=4, num_layers=2, dim_feedforward=256,
    dropout=0.0)``: token embeddings + learned positions -> ``SelfAttentionStack(causal=True)``
    -> ``lm_head``, a linear layer D -> V that shares its weights with the token embedding (as
    GPT-2 does). The logits at position t predict token t + 1 from tokens 0..t only.
    """

    causal = True

    def forward(self, ids: torch.Tensor, *, cache: list[KVCache] | None = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V). With ``cache`` (from ``new_cache()``, the same one
        at every step) the blocks run on the positions the cache has not seen yet, and only
        their logits come back; the result is the same as without it, within float rounding."""
        start = 0 if cache is None else cache[0].length
        if start >= ids.shape[1]:
            raise ValueError(
                f"ids must extend the {start} positions the cache holds; got {ids.shape[1]}"
            )
        x = self.embed(ids)[:, start:]  # (B, T - start, D): the new positions
        return self.lm_head(self.blocks(x, cache=cache))  # (B, T - start, V)

    def new_cache(self) -> list[KVCache]:
        """An empty key-value cache for ``forward(..., cache=...)``: one ``KVCache`` per layer."""
        return self.blocks.new_cache()


class BERT(_TokenModel):
    """An encoder-only model: ids (B, T) -> masked-token logits (B, T, V), or classes (B, C).

    ``BERT(vocab_size, max_len, ...sizes as for GPT..., pad_id=0, num_classes=2)``: token
    embeddings + learned positions -> ``SelfAttentionStack(causal=False)``, padding
    (``pad_id``) hidden from every query. Two heads read the same hidden states: ``lm_head``
    (D -> V, weights shared with the token embedding) predicts the masked tokens, and
    ``classifier`` (D -> C) reads the mean of the real tokens' hidden states. (BERT itself
    classifies from its first token, [CLS], which its second pre-training task, next-sentence
    prediction, trains; masked-token prediction alone never trains the first token's output,
    so this miniature, which skips that task, averages instead.)
    """

    causal = False

    def __init__(
        self, vocab_size: int, max_len: int, *sizes, pad_id: int = 0, num_classes: int = 2, **kw
    ) -> None:
        super().__init__(vocab_size, max_len, *sizes, **kw)
        self.pad_id = pad_id
        self.classifier = nn.Linear(
            self.lm_head.in_features, check_positive_int("num_classes", num_classes)
        )

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> hidden states (B, T, D), every position seeing every real token."""
        return self.blocks(self.embed(ids), real=ids != self.pad_id)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.encode(ids))  # (B, T, V)

    def classify(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> class logits (B, C), from the mean hidden state of the real tokens."""
        real = (ids != self.pad_id).unsqueeze(-1)  # (B, T, 1)
        hidden = self.encode(ids).masked_fill(~real, 0.0)
        return self.classifier(hidden.sum(dim=1) / real.sum(dim=1).clamp(min=1))


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) images -> (B, N, C·P·P) patches, N = (H / P) · (W / P), P = patch_size.

    Patches are taken row by row (left to right, then top to bottom), and each patch is
    flattened channel by channel, each channel row by row: the order of
    ``torch.nn.functional.unfold(images, P, stride=P).transpose(1, 2)``.
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W); got {describe_shape(images)}")
    B, C, H, W = images.shape
    P = check_positive_int("patch_size", patch_size)
    if H % P or W % P:
        raise ValueError(f"H = {H} and W = {W} must be multiples of patch_size = {P}")
    grid = images.reshape(B, C, H // P, P, W // P, P)  # (B, C, row, i, column, j)
    return grid.permute(0, 2, 4, 1, 3, 5).reshape(B, (H // P) * (W // P), C * P * P)


class VisionTransformer(nn.Module):
    """A ViT: images (B, C, H, W) -> class logits (B, classes).

    ``patchify`` -> a linear patch embedding (C·P·P -> D) -> a learned class token put first
    -> learned positions for the 1 + N tokens -> ``SelfAttentionStack(causal=False)`` -> a
    linear classifier on the class token's output.
    """

    def __init__(
        self,
        image_size: int = 8,
        patch_size: int = 2,
        channels: int = 1,
        num_classes: int = 10,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size = {image_size} must be a multiple of patch_size = {patch_size}"
            )
        self.patch_size = patch_size
        self.num_patches = (image_size // patch_size) ** 2
        self.patch_embedding = nn.Linear(channels * patch_size**2, d_model)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.position = LearnedPositionalEmbedding(d_model, 1 + self.num_patches, dropout)
        nn.init.normal_(self.position.embedding.weight, std=EMBEDDING_STD)
        self.blocks = SelfAttentionStack(d_model, nhead, num_layers, dim_feedforward, dropout)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(patchify(images, self.patch_size))  # (B, N, D)
        cls = self.class_token.expand(patches.shape[0], -1, -1)  # (B, 1, D)
        x = self.position(torch.cat([cls, patches], dim=1))  # (B, 1 + N, D)
        return self.head(self.blocks(x)[:, 0])  # (B, classes)


def mask_tokens(
    ids: torch.Tensor,
    maskable: torch.Tensor,
    *,
    mask_id: int,
    random_ids: Sequence[int] | torch.Tensor,
    rate: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's corruption: returns ``(inputs, targets)``, both (B, T), from ids (B, T).

    Each ``maskable`` position (B, T, True = may be chosen; padding and [CLS] are not) is
    chosen with probability ``rate``. A chosen token becomes ``mask_id`` with probability
    0.8, a token drawn uniformly from ``random_ids`` with probability 0.1, and stays as it
    is with probability 0.1. ``targets`` holds the original id at chosen positions and
    ``IGNORE_INDEX`` elsewhere, so that the loss is computed on the chosen tokens only.
    """
    if ids.shape != maskable.shape or maskable.dtype != torch.bool:
        raise ValueError(
            "maskable must be a boolean tensor of the shape of ids; got "
            f"{maskable.dtype} {describe_shape(maskable)} for ids {describe_shape(ids)}"
        )
    random_ids = torch.as_tensor(random_ids, device=ids.device)

    def uniform() -> torch.Tensor:
        return torch.rand(ids.shape, generator=generator, device=ids.device)

    chosen = maskable & (uniform() < rate)
    action = uniform()  # < 0.8: [MASK]; 0.8 to 0.9: a random token; >= 0.9: unchanged
    draw = torch.randint(len(random_ids), ids.shape, generator=generator, device=ids.device)
    inputs = torch.where(chosen & (action < 0.8), mask_id, ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids[draw], inputs)
    return inputs, torch.where(chosen, ids, IGNORE_INDEX)


def next_token_distribution(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None
) -> torch.Tensor:
    """Logits (..., V) -> the probabilities (..., V) that sampling draws the next token from.

    softmax(logits / temperature) restricted to the ``top_k`` most likely tokens (all when
    None) and renormalised. Tokens tied with the k-th largest logit are kept too.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 (use top_k=1 for greedy); got {temperature}")
    logits = logits / temperature
    if top_k is not None:
        k = min(check_positive_int("top_k", top_k), logits.shape[-1])
        kth = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.softmax(logits, dim=-1)


def generate(
    model: GPT,
    ids: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Sample ``max_new_tokens`` tokens after the prompt ``ids`` (B, T0): returns (B, T0 + n).

    The next token is drawn from ``next_token_distribution`` of the last position's logits
    with ``generator`` (seed it for repeatable samples). With ``use_cache`` the model keeps
    every layer's keys and values (``KVCache``, notebook 08) and each step runs the newest
    token only, as long as the sequence fits in ``max_len``; after that, and without the
    cache, every step reruns the last ``max_len`` tokens. Both give the same samples. Runs in
    eval mode without gradients and puts the model back in the mode it was in.
    """
    check_positive_int("max_new_tokens", max_new_tokens)
    cache = model.new_cache() if use_cache else None
    with evaluating(model):
        for _ in range(max_new_tokens):
            if cache is not None and ids.shape[1] <= model.max_len:
                logits = model(ids, cache=cache)[:, -1]  # (B, V): the newest positions only
            else:
                logits = model(ids[:, -model.max_len :])[:, -1]  # (B, V): the whole window
            probs = next_token_distribution(logits, temperature, top_k)
            next_id = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            ids = torch.cat([ids, next_id], dim=1)
    return ids


def _stack_of(model: nn.Module) -> SelfAttentionStack:
    stack = getattr(model, "blocks", model)
    if not isinstance(stack, SelfAttentionStack):
        raise TypeError(
            "expected a SelfAttentionStack or a model holding one as .blocks (GPT, BERT, "
            f"VisionTransformer); got {type(model).__name__}"
        )
    return stack


def self_attention_maps(model: nn.Module, *inputs: torch.Tensor) -> list[torch.Tensor]:
    """Run ``model(*inputs)`` in eval mode; returns every layer's weights, (B, H, T, T) each.

    Works with any model holding a ``SelfAttentionStack`` as ``.blocks``; row i of a map is
    query i's attention over the keys. The attention takes the course's path while recording
    (the fused kernel computes no weights), and the model is left as it was.
    """
    attentions, maps = [layer.self_attn for layer in _stack_of(model).layers], []
    fused = [attention.fused for attention in attentions]
    hooks = [
        attention.register_forward_hook(lambda module, args, out: maps.append(out[1]))
        for attention in attentions
    ]
    try:
        for attention in attentions:
            attention.fused = False
        with evaluating(model):
            model(*inputs)
    finally:
        for attention, was_fused, hook in zip(attentions, fused, hooks, strict=True):
            attention.fused = was_fused
            hook.remove()
    return maps
