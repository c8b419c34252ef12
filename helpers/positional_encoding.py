"""Position information for attention, as derived in `04_transformer`.

Attention by itself is blind to order: permuting the tokens permutes the outputs. Adding a
position-dependent vector to each token's embedding fixes that. Two ways are provided: the
fixed sinusoidal encodings of "Attention Is All You Need" and learned position embeddings.
Both map (B, T, D) -> (B, T, D).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LearnedPositionalEmbedding", "SinusoidalPositionalEncoding", "sinusoidal_encoding"]


def sinusoidal_encoding(max_len: int, d_model: int, base: float = 10_000.0) -> torch.Tensor:
    """(max_len, D) table: PE[p, 2i] = sin(p / base^(2i/D)), PE[p, 2i+1] = cos(p / base^(2i/D)).

    Each pair of dimensions is a clock turning at its own frequency, from one turn every
    2π positions down to one every 2π·base positions; PE(p + k) is a rotation of PE(p),
    a linear function of it that depends only on k.
    """
    if max_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError(
            f"sinusoidal_encoding needs max_len >= 1 and an even d_model >= 2; "
            f"got max_len = {max_len}, d_model = {d_model}"
        )
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    frequency = torch.exp(
        -math.log(base) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model
    )  # (D/2,): base^(-2i/D)
    pe = torch.empty(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * frequency)
    pe[:, 1::2] = torch.cos(position * frequency)
    return pe


def _check_length(x: torch.Tensor, d_model: int, max_len: int) -> None:
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ValueError(f"x must have shape (B, T, D) with D = {d_model}; got {tuple(x.shape)}")
    if x.shape[1] > max_len:
        raise ValueError(
            f"sequence length T = {x.shape[1]} exceeds max_len = {max_len}; "
            "build the module with a larger max_len"
        )


class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[:T], then dropout: (B, T, D) -> (B, T, D). No learned parameters."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_length(x, self.d_model, self.max_len)
        return self.dropout(x + self.pe[: x.shape[1]])


class LearnedPositionalEmbedding(nn.Module):
    """x + E[position], with a learned (max_len, D) table, then dropout: (B, T, D) -> (B, T, D)."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.embedding = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_length(x, self.d_model, self.max_len)
        positions = torch.arange(x.shape[1], device=x.device)
        return self.dropout(x + self.embedding(positions))
