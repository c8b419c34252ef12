"""helpers.recurrence: the distance task, the three encoders and their shortcuts, the gradient
and graph measurements, the timing helper, and the recurrent encoder–decoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.decoding import translate
from helpers.multi_head_attention import MultiHeadAttention
from helpers.recurrence import (
    NUM_KEYS,
    VOCAB_SIZE,
    AttentionClassifier,
    ConvClassifier,
    LSTMClassifier,
    RNNEncoderDecoder,
    distance_accuracy,
    distance_batch,
    forward_backward_seconds,
    gradient_norms,
    graph_depth,
    last_query_output,
    measured_receptive_field,
    shortest_path,
    stepwise_lstm,
    train_on_distance,
)
from helpers.transformer import EncoderLayer
from helpers.translation.tokenization import WordVocab


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors this small run fastest on one thread, and never wait for a busy machine's others."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_distance_batch_puts_the_key_first_and_distractors_after():
    tokens, keys = distance_batch(50, 7, torch.Generator().manual_seed(0))
    assert tokens.shape == (50, 8) and keys.shape == (50,)
    assert torch.equal(tokens[:, 0], keys)
    assert keys.min() >= 0 and keys.max() < NUM_KEYS
    assert tokens[:, 1:].min() >= NUM_KEYS and tokens[:, 1:].max() < VOCAB_SIZE
    with pytest.raises(ValueError, match="d must be a positive integer"):
        distance_batch(3, 0)


def test_the_notebook_models_have_matched_parameter_counts():
    counts = [
        sum(p.numel() for p in model.parameters())
        for model in (LSTMClassifier(32), ConvClassifier(21, 4, 5), AttentionClassifier(32, 2, 64))
    ]
    assert max(counts) / min(counts) < 1.03, counts


@pytest.mark.parametrize(("T", "dilation_base"), [(40, 1), (9, 1), (60, 2)])
def test_cnn_last_output_from_its_receptive_field_equals_the_full_stack(T, dilation_base):
    torch.manual_seed(0)
    cnn = ConvClassifier(channels=6, num_layers=3, kernel_size=3, dilation_base=dilation_base)
    x = torch.randn(2, T, 6)
    torch.testing.assert_close(cnn.features(x), cnn.causal_stack(x)[:, -1])


@pytest.mark.parametrize(("num_layers", "kernel_size", "dilation_base"), [(4, 5, 1), (3, 2, 2)])
def test_cnn_receptive_field_is_what_the_gradients_reach(num_layers, kernel_size, dilation_base):
    torch.manual_seed(0)
    cnn = ConvClassifier(4, num_layers, kernel_size, dilation_base=dilation_base)
    reach = gradient_norms(lambda x: cnn.causal_stack(x)[:, -1], torch.randn(2, 40, 4))
    assert int((reach > 0).sum()) == cnn.receptive_field
    assert cnn.receptive_field == 1 + (kernel_size - 1) * sum(
        dilation_base**j for j in range(num_layers)
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_last_query_output_equals_the_full_layer(norm_first):
    torch.manual_seed(0)
    layer = EncoderLayer(16, 2, 32, dropout=0.0, norm_first=norm_first)
    x = torch.randn(3, 11, 16)
    torch.testing.assert_close(last_query_output(layer, x), layer(x)[:, -1])
    with pytest.raises(TypeError, match="EncoderLayer"):
        last_query_output(nn.Linear(16, 16), x)


def test_forget_bias_sets_the_forget_gate_bias():
    model = LSTMClassifier(8, forget_bias=1.0)
    total = model.lstm.bias_ih_l0 + model.lstm.bias_hh_l0  # (4D,): input, forget, cell, output
    assert torch.equal(total[8:16], torch.ones(8))


def test_gradient_norms_match_autograd_jacobians():
    torch.manual_seed(0)
    model = LSTMClassifier(4)
    x = torch.randn(2, 5, 4)
    per_sequence = [
        # jacobian: (1, O, 1, T, D) -> the norm over O and D for each position t
        torch.autograd.functional.jacobian(model.features, x[b : b + 1])[0, :, 0]
        .pow(2)
        .sum(dim=(0, 2))
        .sqrt()
        for b in range(2)
    ]
    expected = torch.stack(per_sequence).mean(dim=0).flip(0)  # entry d: position T - 1 - d
    torch.testing.assert_close(gradient_norms(model.features, x), expected)


def test_graph_depth_and_shortest_path_count_operations():
    x = torch.randn(3, requires_grad=True)
    y = torch.randn(3, requires_grad=True)
    out = ((x * 2).exp() + y).sum()  # x: mul, exp, add, sum; y: add, sum
    assert graph_depth(out) == 5  # four operations and x's AccumulateGrad
    assert shortest_path(out, x) == 4 and shortest_path(out, y) == 2
    with pytest.raises(ValueError, match="leaf"):
        shortest_path(out, x * 2)
    with pytest.raises(ValueError, match="does not depend"):
        shortest_path(out, torch.randn(3, requires_grad=True))
    with pytest.raises(ValueError, match="no autograd graph"):
        graph_depth(torch.randn(3))


def test_stepwise_lstm_keeps_the_numbers_and_shows_the_steps():
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 4, batch_first=True)
    depths = {}
    for T in (4, 8):
        x = torch.randn(1, T, 4, requires_grad=True)
        with stepwise_lstm():
            stepwise = lstm(x)[0]
            depths[T] = graph_depth(stepwise)
        torch.testing.assert_close(stepwise, lstm(x)[0])
    per_step = (depths[8] - depths[4]) / 4
    assert per_step >= 2 and depths[4] > 4 * per_step - 1


def test_train_on_distance_is_reproducible_and_learns_a_short_distance():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = AttentionClassifier(16, 2, 32)
        runs.append(train_on_distance(model, 2, steps=40, seed=1))
    assert runs[0] == runs[1] and len(runs[0]) == 40
    assert distance_accuracy(model, 2, n=200) > 0.9


def test_forward_backward_seconds_times_the_notebook_layers_on_the_cpu():
    """The timing cell's configuration (runs on a GPU when there is one), at a tiny size."""
    x = torch.randn(2, 16, 8)
    lstm = nn.LSTM(8, 8, batch_first=True)
    attention = MultiHeadAttention(8, 2, fused=True)
    for layer in (lambda x: lstm(x)[0], lambda x: attention(x, x, x)[0]):
        seconds = forward_backward_seconds(layer, x, min_run_time=0.01)
        assert 0 < seconds < 1


def _tiny_translator(attention: bool) -> tuple[RNNEncoderDecoder, WordVocab]:
    vocab = WordVocab.build(["a b c d e f g"])
    torch.manual_seed(0)
    return RNNEncoderDecoder(
        len(vocab), len(vocab), attention=attention, pad_id=vocab.pad_id, d_embed=8, d_hidden=8
    ), vocab


def test_both_translators_have_the_same_parameters():
    fixed, _ = _tiny_translator(False)
    attentive, _ = _tiny_translator(True)
    assert [p.shape for p in fixed.parameters()] == [p.shape for p in attentive.parameters()]


@pytest.mark.parametrize("attention", [False, True])
def test_padding_does_not_change_a_translators_logits(attention):
    model, vocab = _tiny_translator(attention)
    src = torch.tensor([[4, 5, 6, vocab.eos_id]])
    padded = torch.tensor([[4, 5, 6, vocab.eos_id, vocab.pad_id, vocab.pad_id]])
    tgt = torch.tensor([[vocab.bos_id, 7, 8]])
    torch.testing.assert_close(model(src, tgt), model(padded, tgt))


def test_the_fixed_context_sees_the_source_through_its_last_state_only():
    model, vocab = _tiny_translator(False)
    memory = torch.randn(1, 4, 8)
    changed = memory.clone()
    changed[:, :3] = torch.randn(1, 3, 8)  # every state but the last
    tgt = torch.tensor([[vocab.bos_id, 7]])
    torch.testing.assert_close(model.decode(tgt, memory), model.decode(tgt, changed))
    attentive, _ = _tiny_translator(True)
    assert not torch.allclose(attentive.decode(tgt, memory), attentive.decode(tgt, changed))


def test_the_course_decoder_translates_with_it():
    model, vocab = _tiny_translator(True)
    outputs = translate(model, ["a b c", "d e"], vocab, vocab, max_len=5)
    assert len(outputs) == 2 and all(isinstance(text, str) for text in outputs)


@pytest.mark.parametrize(
    ("num_layers", "kernel_size", "dilation_base"), [(1, 5, 1), (16, 5, 1), (8, 2, 2), (4, 5, 5)]
)
def test_measured_receptive_field_is_the_wiring(num_layers, kernel_size, dilation_base):
    expected = ConvClassifier(1, num_layers, kernel_size, dilation_base=dilation_base)
    assert measured_receptive_field(num_layers, kernel_size, dilation_base) == min(
        expected.receptive_field, 1000
    )
