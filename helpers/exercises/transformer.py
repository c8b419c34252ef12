"""Checkers for the exercises of `04_transformer` (PyTorch).

- ``check_sinusoidal_encoding(sinusoidal_encoding)``: ``sinusoidal_encoding(max_len, d_model)``
  -> (max_len, D) with PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(p / 10000^(2i/D))
- ``check_decoder_layer(decoder_layer)``: ``decoder_layer(x, memory, self_attn, cross_attn,
  feed_forward, norms, tgt_attend)`` -> (B, T, D), the post-LN wiring of one decoder layer

Each mistake below is a small wrong implementation. The test cases are chosen so that every
mistake gives a result different from the correct one *and* from every other mistake, at
the first case where it goes wrong; ``tests/test_exercises_transformer.py`` proves it.
"""

from __future__ import annotations

import torch
from torch import nn

from helpers.exercises.checking import Case, Checker, Mistake
from helpers.multi_head_attention import MultiHeadAttention
from helpers.transformer import PositionwiseFeedForward

__all__ = ["check_decoder_layer", "check_sinusoidal_encoding"]


# --- sinusoidal_encoding(max_len, d_model) ---------------------------------------------------


def _sinusoidal_variant(
    *,
    base: float = 10_000.0,
    exponent=lambda i, D: 2 * i / D,
    first_position: int = 0,
    even=torch.sin,
    odd=torch.cos,
):
    """The encoding built from parts; the defaults give the correct table, and each mistake
    below swaps exactly one part for its wrong version."""

    def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
        position = torch.arange(first_position, first_position + max_len).double()[:, None]
        i = torch.arange(d_model // 2).double()  # one frequency per pair of dimensions
        angle = position / base ** exponent(i, d_model)  # (max_len, D/2)
        pe = torch.empty(max_len, d_model, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = even(angle), odd(angle)
        return pe.float()

    return sinusoidal_encoding


_sinusoidal = _sinusoidal_variant()
_sinusoidal_swapped = _sinusoidal_variant(even=torch.cos, odd=torch.sin)
_sinusoidal_base_1000 = _sinusoidal_variant(base=1_000.0)
_sinusoidal_exponent_i = _sinusoidal_variant(exponent=lambda i, D: i / D)
_sinusoidal_from_one = _sinusoidal_variant(first_position=1)


def _sinusoidal_per_dimension(max_len: int, d_model: int) -> torch.Tensor:
    """Every dimension j gets its own frequency 1 / 10000^(j/D), so cos and sin of a pair
    turn at different speeds."""
    position = torch.arange(max_len).double()[:, None]
    angle = position / 10_000.0 ** (torch.arange(d_model).double() / d_model)  # (max_len, D)
    pe = torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return pe.float()


def _sinusoidal_halves(max_len: int, d_model: int) -> torch.Tensor:
    """All the sines first, then all the cosines, instead of interleaving them."""
    pe = _sinusoidal(max_len, d_model)
    return torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=-1)


check_sinusoidal_encoding = Checker(
    exercise="sinusoidal_encoding",
    library="torch",
    reference=_sinusoidal,
    forbidden=dict.fromkeys(
        [
            "helpers.positional_encoding.sinusoidal_encoding",
        ],
        "positions as a column times the D/2 frequencies as a row, then sin in the even columns and cos in the odd ones.",
    ),
    cases=[
        Case("max_len = 6, d_model = 4", (6, 4)),
        Case("max_len = 1, d_model = 2 (position 0 only)", (1, 2)),
        Case("max_len = 50, d_model = 16", (50, 16)),
        Case("max_len = 128, d_model = 64", (128, 64)),
    ],
    mistakes=[
        Mistake(
            "sin and cos swapped: cos on the even dimensions, sin on the odd ones",
            "PE[p, 2i] = sin(angle) goes in the even columns (pe[:, 0::2]) and "
            "PE[p, 2i+1] = cos(angle) in the odd ones (pe[:, 1::2]). Row 0 must read "
            "0, 1, 0, 1, ...",
            _sinusoidal_swapped,
        ),
        Mistake(
            "frequency base 1000 instead of 10000",
            "The angle of pair i is p / 10000^(2i/D): the slowest clock turns once every "
            "2π·10000 positions.",
            _sinusoidal_base_1000,
        ),
        Mistake(
            "exponent i/D instead of 2i/D (i counts pairs of dimensions)",
            "With i = 0, 1, ..., D/2 - 1 numbering the pairs, the exponent is 2i/D, so the "
            "frequencies run from 1 all the way down to about 1/10000. Equivalently use "
            "torch.arange(0, D, 2) / D.",
            _sinusoidal_exponent_i,
        ),
        Mistake(
            "each dimension got its own frequency (exponent j/D for dimension j), so the sin "
            "and cos of a pair turn at different speeds",
            "Both dimensions of pair i share one angle p / 10000^(2i/D): compute the D/2 "
            "angles once, then take their sin for the even columns and their cos for the odd.",
            _sinusoidal_per_dimension,
        ),
        Mistake(
            "positions start at 1 instead of 0",
            "The first token is position 0, so row 0 is sin(0), cos(0), ... = 0, 1, 0, 1, .... "
            "Use torch.arange(max_len).",
            _sinusoidal_from_one,
        ),
        Mistake(
            "all the sines first and then all the cosines, instead of interleaving them",
            "Interleave: sin in the even columns, cos in the odd ones (pe[:, 0::2] = ..., "
            "pe[:, 1::2] = ...). Concatenating is a valid layout in other libraries, but not "
            "the formula asked for here.",
            _sinusoidal_halves,
        ),
    ],
)


# --- decoder_layer(x, memory, self_attn, cross_attn, feed_forward, norms, tgt_attend) --------


class _Attention(nn.Module):
    """Multi-head attention that returns only its output: (query, key, value, mask) -> (B, T, D)."""

    def __init__(self, d_model: int, nhead: int) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(d_model, nhead)

    def forward(self, query, key, value, mask=None):
        return self.attention(query, key, value, mask)[0]


def _decoder_case(B: int, T: int, S: int, D: int, *, seed: int, same_prefix: bool = False):
    """x (B, T, D), memory (B, S, D), the sublayers with random weights (norms included, so
    that swapping them shows), and a causal (T, T) mask. With ``same_prefix`` the B examples
    share their memory and differ only in the last target position."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        self_attn, cross_attn = _Attention(D, 2), _Attention(D, 2)
        feed_forward = PositionwiseFeedForward(D, 2 * D)
        norms = tuple(nn.LayerNorm(D) for _ in range(3))
        with torch.no_grad():
            for norm in norms:
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.normal_(0.0, 0.2)
        x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
        if same_prefix:
            x[1:, :-1], memory[1:] = x[0, :-1], memory[0]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return (x, memory, self_attn.eval(), cross_attn.eval(), feed_forward.eval(), norms, mask)


def _decoder_variant(
    *,
    residual=(True, True, True),
    cross=lambda x, memory: (x, memory, memory),
    mask=lambda m: m,
    placement: str = "post",
):
    """The layer built from parts; the defaults give the correct post-LN layer, and each
    mistake below swaps exactly one part for its wrong version."""

    def decoder_layer(x, memory, self_attn, cross_attn, feed_forward, norms, tgt_attend):
        sublayers = (
            lambda y: self_attn(y, y, y, mask(tgt_attend)),
            lambda y: cross_attn(*cross(y, memory)),
            feed_forward,
        )
        for sublayer, norm, keep in zip(sublayers, norms, residual, strict=True):
            if placement == "pre":
                x = x + sublayer(norm(x))
            elif placement == "norm the sublayer":
                x = x + norm(sublayer(x))
            else:
                x = norm(x + sublayer(x)) if keep else norm(sublayer(x))
        return x

    return decoder_layer


_decoder_layer = _decoder_variant()
_decoder_no_self_residual = _decoder_variant(residual=(False, True, True))
_decoder_no_cross_residual = _decoder_variant(residual=(True, False, True))
_decoder_no_ffn_residual = _decoder_variant(residual=(True, True, False))
_decoder_cross_reads_decoder = _decoder_variant(cross=lambda x, memory: (x, x, x))
_decoder_queries_from_memory = _decoder_variant(cross=lambda x, memory: (memory, x, x))
_decoder_ignores_mask = _decoder_variant(mask=lambda m: None)
_decoder_inverted_mask = _decoder_variant(mask=lambda m: ~m)
_decoder_pre_ln = _decoder_variant(placement="pre")
_decoder_norm_sublayer = _decoder_variant(placement="norm the sublayer")

check_decoder_layer = Checker(
    exercise="decoder_layer",
    library="torch",
    reference=_decoder_layer,
    forbidden=dict.fromkeys(
        [
            "helpers.transformer.DecoderLayer.forward",
            "torch.nn.TransformerDecoderLayer.forward",
        ],
        "for each sublayer in turn (self-attention, cross-attention, feed-forward), add its output to its input and apply its LayerNorm.",
    ),
    cases=[
        Case(
            "two targets x (2, 5, 8) that differ only in their last token, same memory (2, 3, 8): "
            "with the causal mask, their outputs at positions 0-3 must be equal",
            _decoder_case(2, 5, 3, 8, seed=2, same_prefix=True),
        ),
        Case(
            "x (2, 4, 8), memory (2, 6, 8) and a (4, 4) causal mask",
            _decoder_case(2, 4, 6, 8, seed=1),
        ),
        Case(
            "x (3, 3, 16), memory (3, 3, 16) (T = S) and a (3, 3) causal mask",
            _decoder_case(3, 3, 3, 16, seed=3),
        ),
        Case("one token: x (1, 1, 8), memory (1, 4, 8)", _decoder_case(1, 1, 4, 8, seed=4)),
    ],
    mistakes=[
        Mistake(
            "no residual connection around the masked self-attention",
            "Each sublayer is wrapped as norm(x + sublayer(x)): add x back before norms[0], "
            "x = norms[0](x + self_attn(x, x, x, tgt_attend)).",
            _decoder_no_self_residual,
        ),
        Mistake(
            "no residual connection around the cross-attention",
            "Add the decoder's x back before norms[1]: "
            "x = norms[1](x + cross_attn(x, memory, memory)).",
            _decoder_no_cross_residual,
        ),
        Mistake(
            "no residual connection around the feed-forward network",
            "Add x back before the last norm: return norms[2](x + feed_forward(x)).",
            _decoder_no_ffn_residual,
        ),
        Mistake(
            "the cross-attention reads the decoder (keys and values from x) instead of the "
            "encoder's memory",
            "Cross-attention asks the source sentence: queries from the decoder's x, keys and "
            "values from memory, cross_attn(x, memory, memory).",
            _decoder_cross_reads_decoder,
        ),
        Mistake(
            "the cross-attention takes its queries from memory and its keys and values from x",
            "The order is (query, key, value): cross_attn(x, memory, memory). There is one "
            "output per decoder position, T of them, not one per source position.",
            _decoder_queries_from_memory,
        ),
        Mistake(
            "ignored tgt_attend, so each position sees the future",
            "Pass tgt_attend to the self-attention: self_attn(x, x, x, tgt_attend). Without it "
            "position t attends to tokens after t, which at generation time do not exist yet.",
            _decoder_ignores_mask,
        ),
        Mistake(
            "inverted mask: passed ~tgt_attend, so each position sees only the future",
            "This course's masks mean True = may attend; pass tgt_attend as it is. (Only "
            "torch.nn.Transformer's boolean masks mean the opposite.)",
            _decoder_inverted_mask,
        ),
        Mistake(
            "pre-LN wiring x + sublayer(norm(x)) instead of post-LN norm(x + sublayer(x))",
            "This exercise asks for the 2017 paper's post-LN layer: add first, then "
            "normalise, x = norms[0](x + self_attn(x, x, x, tgt_attend)), and so on.",
            _decoder_pre_ln,
        ),
        Mistake(
            "normalised the sublayer's output and then added x: x + norm(sublayer(x))",
            "The norm goes around the sum: norm(x + sublayer(x)), so that every sublayer "
            "hands on a normalised x.",
            _decoder_norm_sublayer,
        ),
    ],
)
