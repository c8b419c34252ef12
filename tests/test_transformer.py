"""helpers.positional_encoding and helpers.transformer: parity with torch.nn.Transformer for
both norm placements, causality, and the token-level Seq2SeqTransformer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.attention import causal_mask
from helpers.positional_encoding import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)
from helpers.transformer import (
    DecoderLayer,
    EncoderLayer,
    Seq2SeqTransformer,
    Transformer,
    combine_masks,
)


def test_sinusoidal_values_follow_the_formula():
    pe = sinusoidal_encoding(50, 8)
    for p in (0, 1, 7, 49):
        for i in range(4):
            angle = p / 10_000 ** (2 * i / 8)
            assert math.isclose(pe[p, 2 * i].item(), math.sin(angle), abs_tol=1e-5)
            assert math.isclose(pe[p, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-5)


def test_shifted_encoding_is_a_rotation_of_the_encoding():
    D, k = 16, 5
    pe = sinusoidal_encoding(100, D).double()
    rotation = torch.zeros(D, D, dtype=torch.float64)  # PE[p + k] = PE[p] @ rotation
    for i in range(D // 2):
        angle = k / 10_000 ** (2 * i / D)
        c, s = math.cos(angle), math.sin(angle)
        # sin(a + b) = sin a cos b + cos a sin b;  cos(a + b) = cos a cos b - sin a sin b
        rotation[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    assert torch.allclose(pe[:-k] @ rotation, pe[k:], atol=1e-5)


@pytest.mark.parametrize("module", [SinusoidalPositionalEncoding, LearnedPositionalEmbedding])
def test_positional_modules_add_position_and_check_length(module):
    layer = module(8, max_len=6).eval()
    x = torch.zeros(2, 4, 8)
    out = layer(x)
    assert out.shape == (2, 4, 8) and torch.equal(out[0], out[1])
    assert not torch.allclose(out[0, 0], out[0, 1])
    with pytest.raises(ValueError, match="T = 7 exceeds max_len = 6"):
        layer(torch.zeros(1, 7, 8))
    with pytest.raises(ValueError, match=r"\(B, T, D\) with D = 8; got \(1, 4, 5\)"):
        layer(torch.zeros(1, 4, 5))


def test_sinusoidal_rejects_odd_width():
    with pytest.raises(ValueError, match="even d_model"):
        sinusoidal_encoding(10, 7)


def _torch_transformer(norm_first: bool, activation="relu", seed=0):
    torch.manual_seed(seed)
    module = nn.Transformer(
        d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=32,
        dropout=0.1, activation=activation, batch_first=True, norm_first=norm_first,
    )  # fmt: skip
    with torch.no_grad():  # PyTorch starts biases at 0 and norms at 1: make them count
        for p in module.parameters():
            if p.ndim == 1:
                p.add_(0.1 * torch.randn_like(p))
    return module.eval()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_from_torch_matches_outputs_with_padding_and_causal_masks(norm_first, fused):
    theirs = _torch_transformer(norm_first)
    ours = Transformer.from_torch(theirs, fused=fused).eval()
    g = torch.Generator().manual_seed(1)
    B, S, T = 3, 7, 5
    src, tgt = torch.randn(B, S, 16, generator=g), torch.randn(B, T, 16, generator=g)
    src_real = torch.arange(S) < torch.tensor([7, 4, 2])[:, None]  # (B, S), True = real
    tgt_real = torch.arange(T) < torch.tensor([5, 5, 3])[:, None]
    causal = causal_mask(T)
    # Gradients stay enabled so that PyTorch takes its ordinary (not nested-tensor) path.
    expected = theirs(
        src, tgt, tgt_mask=~causal, src_key_padding_mask=~src_real,
        tgt_key_padding_mask=~tgt_real, memory_key_padding_mask=~src_real,
    )  # fmt: skip
    output = ours(
        src, tgt, tgt_attend=causal, src_real=src_real,
        tgt_real=tgt_real, memory_real=src_real,
    )  # fmt: skip
    assert torch.allclose(output, expected, atol=1e-5), (output - expected).abs().max()
    assert torch.allclose(ours(src, tgt), theirs(src, tgt), atol=1e-5)


def test_from_torch_gelu_and_parameter_count():
    theirs = _torch_transformer(False, activation="gelu")
    ours = Transformer.from_torch(theirs).eval()
    src, tgt = torch.randn(2, 4, 16), torch.randn(2, 3, 16)
    assert torch.allclose(ours(src, tgt), theirs(src, tgt), atol=1e-5)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(theirs)


def test_from_torch_rejects_sequence_first():
    with pytest.raises(ValueError, match="batch_first=True"):
        Transformer.from_torch(nn.Transformer(16, 4, 1, 1, 32))
    with pytest.raises(TypeError, match="expected torch.nn.Transformer; got Linear"):
        Transformer.from_torch(nn.Linear(2, 2))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_is_causal_and_reads_the_encoder(norm_first):
    torch.manual_seed(0)
    layer = DecoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first).eval()
    x, memory = torch.randn(1, 6, 16), torch.randn(1, 4, 16)
    out = layer(x, memory, causal_mask(6))
    changed = x.clone()
    changed[0, 4] += torch.randn(
        16
    )  # change a future token (not by a constant: LayerNorm erases that)
    out2 = layer(changed, memory, causal_mask(6))
    assert torch.equal(out[0, :4], out2[0, :4]) and not torch.allclose(out[0, 4:], out2[0, 4:])
    out3 = layer(x, memory + 1.0, causal_mask(6))
    assert not torch.allclose(out, out3)
    unmasked = layer(x, memory)
    assert not torch.allclose(unmasked[0, :4], layer(changed, memory)[0, :4])


@pytest.mark.parametrize("norm_first", [False, True])
def test_post_ln_output_is_normalised_pre_ln_is_not(norm_first):
    torch.manual_seed(0)
    layer = EncoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first).eval()
    out = layer(torch.randn(2, 5, 16) * 5)
    normalised = torch.allclose(out.mean(-1), torch.zeros(2, 5), atol=1e-5)
    assert normalised is not norm_first


def test_combine_masks():
    pad = torch.tensor([[True, True, False]])
    assert combine_masks(None, None) is None
    combined = combine_masks(causal_mask(3), pad)
    assert combined.shape == (1, 1, 3, 3)
    assert combined[0, 0].tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, False],
    ]
    with pytest.raises(ValueError, match=r"boolean \(B, S\), True for real tokens"):
        combine_masks(None, pad.float())


def _seq2seq(**kwargs):
    torch.manual_seed(0)
    args = dict(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                dim_feedforward=32, dropout=0.0, pad_id=0)  # fmt: skip
    return Seq2SeqTransformer(11, 13, **{**args, **kwargs}).eval()


def test_seq2seq_shapes_and_encode_decode_halves():
    model = _seq2seq()
    src = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    tgt = torch.tensor([[1, 8, 9], [1, 10, 0]])
    logits = model(src, tgt)
    assert logits.shape == (2, 3, 13)
    assert torch.allclose(logits, model.decode(tgt, model.encode(src), model.real_tokens(src)))


def test_seq2seq_ignores_padding_and_the_future():
    model = _seq2seq()
    src = torch.tensor([[3, 4, 5, 0, 0]])
    tgt = torch.tensor([[1, 8, 9, 2]])
    logits = model(src, tgt)
    assert torch.allclose(logits, model(src[:, :3], tgt), atol=1e-5)  # padding is invisible
    changed = tgt.clone()
    changed[0, 3] = 5
    assert torch.allclose(logits[:, :3], model(src, changed)[:, :3], atol=1e-6)  # causal


def test_seq2seq_embeddings_scaled_and_weights_tied():
    model = _seq2seq(tie_weights=True, positional="learned")
    assert model.generator.weight is model.tgt_embedding.weight
    untied = _seq2seq(positional="learned")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(untied) - count(model) == 13 * 16


def test_seq2seq_errors():
    with pytest.raises(ValueError, match="positional must be one of"):
        _seq2seq(positional="rotary")
    model = _seq2seq()
    with pytest.raises(ValueError, match=r"src must be a \(B, L\) tensor of integer token ids"):
        model(torch.randn(2, 3), torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="same batch size"):
        Transformer(16, 4, 1, 1, 32)(torch.randn(2, 3, 16), torch.randn(3, 3, 16))


def test_decode_takes_the_memory_real_token_mask_not_the_source_ids():
    model = _seq2seq()
    src = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    tgt = torch.tensor([[1, 8, 9], [1, 10, 0]])
    memory = model.encode(src)
    with pytest.raises(ValueError, match=r"boolean \(B, S\), True for real tokens"):
        model.decode(tgt, memory, src)  # the ids, as the old signature took them
    with pytest.raises(ValueError, match=r"memory_real must be the \(B, S\) real-token mask"):
        model.decode(tgt, memory, model.real_tokens(src)[:, :2])
    # Padding is invisible to the decoder: a shorter, unpadded source gives the same logits.
    short = model.decode(tgt[1:], model.encode(src[1:, :2]), model.real_tokens(src[1:, :2]))
    padded = model.decode(tgt[1:], memory[1:], model.real_tokens(src)[1:])
    assert torch.allclose(short, padded, atol=1e-6)
