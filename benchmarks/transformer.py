"""Training-step time of the course's Seq2SeqTransformer vs the same model on torch.nn.Transformer.

    python -m benchmarks.transformer            (part of `make benchmark`)
    python -m benchmarks.transformer --device cuda

Both models have the same configuration, embeddings (scaled by √D), sinusoidal positions and
output projection; only the encoder–decoder core differs: the course's ``Transformer`` (with
its own attention, ``fused=False``, or PyTorch's fused kernel, ``fused=True``) against
``torch.nn.Transformer``. One step = forward, cross-entropy loss, backward, Adam update, on
padded token batches. Printed: median step time and the ratio ours / PyTorch.
"""

from __future__ import annotations

import argparse
import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.attention import causal_mask
from helpers.positional_encoding import SinusoidalPositionalEncoding
from helpers.transformer import Seq2SeqTransformer

PAD, VOCAB = 0, 1000
# (B, S = T, D, heads, layers per stack, feed-forward width)
SIZES = [(32, 32, 256, 8, 3, 1024), (16, 64, 512, 8, 3, 2048)]


class TorchSeq2Seq(nn.Module):
    """The reference: Seq2SeqTransformer's embeddings and projection around torch.nn.Transformer."""

    def __init__(
        self,
        d_model,
        nhead,
        layers,
        dim_feedforward,
        *,
        vocab=(VOCAB, VOCAB),
        dropout=0.0,
        tie_weights=False,
    ):
        super().__init__()
        self.d_model = d_model
        self.src_embedding = nn.Embedding(vocab[0], d_model, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(vocab[1], d_model, padding_idx=PAD)
        self.position = SinusoidalPositionalEncoding(d_model, 512, dropout=dropout)
        self.transformer = nn.Transformer(
            d_model, nhead, layers, layers, dim_feedforward, dropout=dropout, batch_first=True
        )
        self.generator = nn.Linear(d_model, vocab[1])
        if tie_weights:
            self.generator.weight = self.tgt_embedding.weight

    def forward(self, src, tgt):
        scale = math.sqrt(self.d_model)
        src_pad, tgt_pad = src == PAD, tgt == PAD  # PyTorch: True = masked out
        hidden = self.transformer(
            self.position(self.src_embedding(src) * scale),
            self.position(self.tgt_embedding(tgt) * scale),
            tgt_mask=~causal_mask(tgt.shape[1], device=tgt.device),
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return self.generator(hidden)


def batch(B: int, L: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    src = torch.randint(1, VOCAB, (B, L), generator=g)
    tgt = torch.randint(1, VOCAB, (B, L + 1), generator=g)
    lengths = torch.randint(L // 2, L + 1, (B,), generator=g)
    src[torch.arange(L) >= lengths[:, None]] = PAD  # right padding, as real batches have
    tgt[torch.arange(L + 1) > lengths[:, None]] = PAD
    return src.to(device), tgt.to(device)


def train_step(model: nn.Module, optimizer, src: torch.Tensor, tgt: torch.Tensor) -> None:
    logits = model(src, tgt[:, :-1])
    loss = F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args, device = parse_and_pick_device(parser, repeats=7)
    print(
        f"float32, dropout 0, training step (forward, loss, backward, Adam), "
        f"median over about {args.repeats} calls"
    )
    header = (
        f"{'B':>3} {'L':>3} {'D':>4} {'H':>2} {'N':>2} | {'torch ms':>8} {'ours ms':>8} "
        f"{'ratio':>6} | {'ours fused ms':>13} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for B, L, D, H, N, FF in SIZES:
        src, tgt = batch(B, L, device)
        models = {"torch": TorchSeq2Seq(D, H, N, FF)}
        for fused in (False, True):
            models[f"fused={fused}"] = Seq2SeqTransformer(
                VOCAB, VOCAB, D, H, N, N, FF, dropout=0.0, pad_id=PAD, fused=fused
            )
        ms = {}
        for name, model in models.items():
            model.to(device).train()
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
            step = partial(train_step, model, optimizer, src, tgt)
            ms[name] = 1e3 * median_time(step, device, args.repeats)
        ours, fused, theirs = ms["fused=False"], ms["fused=True"], ms["torch"]
        print(
            f"{B:>3} {L:>3} {D:>4} {H:>2} {N:>2} | {theirs:>8.1f} {ours:>8.1f} {ours / theirs:>5.2f}x "
            f"| {fused:>13.1f} {fused / theirs:>5.2f}x"
        )


if __name__ == "__main__":
    main()
