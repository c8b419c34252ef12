"""The checkers of `04_transformer`: references pass, correct variants pass, and every
catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.exercises.transformer import check_decoder_layer, check_sinusoidal_encoding
from helpers.positional_encoding import sinusoidal_encoding
from helpers.transformer import DecoderLayer

CHECKERS = {
    "sinusoidal_encoding": check_sinusoidal_encoding,
    "decoder_layer": check_decoder_layer,
}


# ------------------------------------------------------------ sinusoidal_encoding alternatives


def sinusoidal_loops(max_len, d_model):
    pe = torch.zeros(max_len, d_model)
    for p in range(max_len):
        for i in range(d_model // 2):
            angle = p / 10_000 ** (2 * i / d_model)
            pe[p, 2 * i], pe[p, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return pe


def sinusoidal_exp_log_float64(max_len, d_model):
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10_000.0) / d_model))
    angle = position * frequency
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(1)  # interleave the pairs


@pytest.mark.parametrize("fn", [sinusoidal_loops, sinusoidal_exp_log_float64])
def test_correct_sinusoidal_alternatives_pass(fn, capsys):
    check_sinusoidal_encoding(fn)
    assert capsys.readouterr().out.startswith("✓ sinusoidal_encoding")


def test_calling_the_course_encoding_is_refused():
    with pytest.raises(AssertionError, match="the course's reference implementation"):
        check_sinusoidal_encoding(sinusoidal_encoding)


# ------------------------------------------------------------ decoder_layer alternatives


def decoder_layer_explicit(x, memory, self_attn, cross_attn, feed_forward, norms, tgt_attend):
    norm1, norm2, norm3 = norms
    h = norm1(x + self_attn(x, x, x, tgt_attend))
    h = norm2(h + cross_attn(h, memory, memory))
    return norm3(h + feed_forward(h))


def decoder_layer_loop(x, memory, self_attn, cross_attn, feed_forward, norms, tgt_attend):
    sublayers = [
        lambda y: self_attn(y, y, y, mask=tgt_attend),
        lambda y: cross_attn(y, memory, memory, None),
        feed_forward,
    ]
    for sublayer, norm in zip(sublayers, norms, strict=True):
        x = norm(x + sublayer(x))
    return x


@pytest.mark.parametrize("fn", [decoder_layer_explicit, decoder_layer_loop])
def test_correct_decoder_layer_alternatives_pass(fn, capsys):
    check_decoder_layer(fn)
    assert capsys.readouterr().out.startswith("✓ decoder_layer")


def test_the_reference_is_the_course_decoder_layer():
    """Given a DecoderLayer's own sublayers, the reference computes what the layer computes."""
    torch.manual_seed(0)
    layer = DecoderLayer(8, 2, 16, dropout=0.0).eval()
    x, memory, mask = torch.randn(2, 5, 8), torch.randn(2, 3, 8), torch.ones(5, 5).tril().bool()
    wired = check_decoder_layer.reference(
        x,
        memory,
        lambda q, k, v, m=None: layer.self_attn(q, k, v, m)[0],
        lambda q, k, v, m=None: layer.cross_attn(q, k, v, m)[0],
        layer.feed_forward,
        (layer.norm1, layer.norm2, layer.norm3),
        mask,
    )
    torch.testing.assert_close(wired, layer(x, memory, mask))


def test_first_case_is_a_future_token_perturbation():
    """Two targets equal up to their last token: a causal layer keeps the earlier outputs
    equal, the layer that ignores the mask does not."""
    case = check_decoder_layer.cases[0]
    x = case.args[0]
    assert torch.equal(x[0, :-1], x[1, :-1]) and not torch.equal(x[0, -1], x[1, -1])
    ignores_mask = next(m for m in check_decoder_layer.mistakes if "ignored tgt_attend" in m.name)
    right = check_decoder_layer.reference(*case.args)
    wrong = ignores_mask.implementation(*case.args)
    torch.testing.assert_close(right[0, :-1], right[1, :-1])
    assert not torch.allclose(wrong[0, :-1], wrong[1, :-1], atol=1e-3)


def test_dropping_every_residual_is_still_rejected():
    def no_residuals(x, memory, self_attn, cross_attn, feed_forward, norms, tgt_attend):
        x = norms[0](self_attn(x, x, x, tgt_attend))
        x = norms[1](cross_attn(x, memory, memory))
        return norms[2](feed_forward(x))

    with pytest.raises(AssertionError, match="the shape is right but the values are wrong"):
        check_decoder_layer(no_residuals)


# ------------------------------------------------------------ NumPy instead of PyTorch


@pytest.mark.parametrize("name", CHECKERS)
def test_returning_numpy_says_the_exercise_works_in_pytorch(name):
    checker = CHECKERS[name]

    def as_numpy(*args, **kwargs):
        return checker.reference(*args, **kwargs).detach().numpy()

    with pytest.raises(AssertionError, match="this exercise works in PyTorch"):
        checker(as_numpy)
