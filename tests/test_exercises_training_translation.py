"""The checkers of `05_training_translation`: references agree with the course's helpers,
correct variants pass, and every catalogued mistake is rejected with its own name and hint."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.decoding import greedy_decode
from helpers.exercises.training_translation import (
    check_beam_step,
    check_greedy_decode,
    check_inverse_sqrt_lr,
    check_label_smoothed_loss,
)
from helpers.training import inverse_sqrt_lr, label_smoothed_cross_entropy

CHECKERS = {
    "label_smoothed_loss": check_label_smoothed_loss,
    "inverse_sqrt_lr": check_inverse_sqrt_lr,
    "greedy_decode": check_greedy_decode,
    "beam_step": check_beam_step,
}


@pytest.mark.parametrize("name", CHECKERS)
def test_each_mistake_is_named_at_its_first_failing_case(name):
    """At the first case where a mistake goes wrong, no mistake listed before it gives the
    same result, so the checker names the right one (and the catalogue test can rely on it)."""
    checker = CHECKERS[name]
    for mistake in checker.mistakes:
        with pytest.raises(AssertionError) as failure:
            checker(mistake.implementation)
        assert f"Likely mistake: {mistake.name}." in str(failure.value)


# ------------------------------------------------------------ label_smoothed_loss


def test_loss_reference_is_the_course_loss():
    for case in check_label_smoothed_loss.cases:
        logits, target, smoothing, pad_id = case.args
        torch.testing.assert_close(
            check_label_smoothed_loss.reference(*case.args),
            label_smoothed_cross_entropy(logits, target, smoothing=smoothing, ignore_index=pad_id),
        )


def loss_with_pytorch(logits, target, smoothing, pad_id):
    return F.cross_entropy(
        logits.flatten(0, 1), target.flatten(), ignore_index=pad_id, label_smoothing=smoothing
    )


def loss_with_smoothed_distribution(logits, target, smoothing, pad_id):
    V = logits.shape[-1]
    q = torch.full_like(logits, smoothing / V)  # (B, T, V): the smoothed target
    q.scatter_add_(-1, target.unsqueeze(-1), torch.full_like(logits[..., :1], 1 - smoothing))
    loss = -(q * logits.double().log_softmax(-1)).sum(-1)  # (B, T)
    real = target != pad_id
    return loss[real].mean()


def loss_in_loops(logits, target, smoothing, pad_id):
    total, count = 0.0, 0
    for b in range(target.shape[0]):
        for t in range(target.shape[1]):
            if target[b, t] != pad_id:
                log_p = torch.log_softmax(logits[b, t], dim=0)
                total = total - (1 - smoothing) * log_p[target[b, t]] - smoothing * log_p.mean()
                count += 1
    return total / count


@pytest.mark.parametrize("fn", [loss_with_smoothed_distribution, loss_in_loops])
def test_correct_loss_alternatives_pass(fn, capsys):
    check_label_smoothed_loss(fn)
    assert capsys.readouterr().out.startswith("✓ label_smoothed_loss")


def test_calling_pytorchs_label_smoothing_is_refused():
    """Correct, but it is PyTorch's implementation, not the learner's: the checker says so."""
    torch.testing.assert_close(
        loss_with_pytorch(*check_label_smoothed_loss.cases[0].args),
        check_label_smoothed_loss.reference(*check_label_smoothed_loss.cases[0].args),
    )
    with pytest.raises(AssertionError, match="calls torch.nn.functional.cross_entropy"):
        check_label_smoothed_loss(loss_with_pytorch)


def test_log_of_softmax_is_exact_on_small_logits_and_infinite_on_large_ones():
    """Only the last case, a confident model, catches log(softmax(x)): the test data must
    really make a probability underflow."""
    mistake = next(m for m in check_label_smoothed_loss.mistakes if "log of the softmax" in m.name)
    *ordinary, confident = check_label_smoothed_loss.cases
    for case in ordinary:
        torch.testing.assert_close(
            mistake.implementation(*case.args), check_label_smoothed_loss.reference(*case.args)
        )
    assert torch.isinf(mistake.implementation(*confident.args))
    assert torch.isfinite(check_label_smoothed_loss.reference(*confident.args))


# ------------------------------------------------------------ inverse_sqrt_lr


def test_lr_reference_is_the_course_schedule():
    for case in check_inverse_sqrt_lr.cases:
        step, d_model, warmup = case.args
        assert check_inverse_sqrt_lr.reference(*case.args) == pytest.approx(
            inverse_sqrt_lr(step, d_model=d_model, warmup_steps=warmup), rel=1e-12
        )


def lr_with_if(step, d_model, warmup_steps):
    if step < warmup_steps:
        return step * warmup_steps**-1.5 / math.sqrt(d_model)
    return 1 / math.sqrt(d_model * step)


def lr_as_tensor(step, d_model, warmup_steps):
    s = torch.tensor(float(step), dtype=torch.float64)
    return d_model**-0.5 * torch.minimum(s.rsqrt(), s * warmup_steps**-1.5)


@pytest.mark.parametrize("fn", [lr_with_if, lr_as_tensor])
def test_correct_lr_alternatives_pass(fn, capsys):
    check_inverse_sqrt_lr(fn)
    assert capsys.readouterr().out.startswith("✓ inverse_sqrt_lr")


def test_lr_checker_sees_relative_errors_of_tiny_rates():
    """Learning rates are ~1e-7 to 1e-3, below the default atol: an error of 1 % must fail."""
    with pytest.raises(AssertionError, match="values are wrong"):
        check_inverse_sqrt_lr(lambda step, d, w: 1.01 * lr_with_if(step, d, w))


# ------------------------------------------------------------ greedy_decode


def test_greedy_reference_is_the_course_decoder():
    for case in check_greedy_decode.cases:
        model, src, bos_id, eos_id, max_len = case.args
        expected = greedy_decode(
            model, src, bos_id=bos_id, eos_id=eos_id, pad_id=0, max_len=max_len
        )
        assert check_greedy_decode.reference(*case.args) == expected


def test_greedy_cases_cover_early_ends_empty_outputs_and_cut_offs():
    lengths = []
    for case in check_greedy_decode.cases:
        max_len = case.args[-1]
        lengths.append([len(row) for row in check_greedy_decode.reference(*case.args)])
        assert any(n < max_len for n in lengths[-1])
    assert lengths[0] == [3] and lengths[1] == [5, 0, 1]
    assert lengths[2][0] == 6 and lengths[3].count(8) == 3  # cut off at max_len


def greedy_one_sentence_at_a_time_reencoding(model, src, bos_id, eos_id, max_len):
    """Re-encodes the source at every step and decodes one sentence at a time: slower, same
    behaviour."""
    outputs = []
    for sentence in src:
        sentence = sentence[None]  # (1, S)
        tgt = [bos_id]
        for _ in range(max_len):
            logits = model.decode(
                torch.tensor([tgt]), model.encode(sentence), model.real_tokens(sentence)
            )
            token = int(logits[0, -1].argmax())
            if token == eos_id:
                break
            tgt.append(token)
        outputs.append(tgt[1:])
    return outputs


@torch.no_grad()
def greedy_returning_tensors(model, src, bos_id, eos_id, max_len):
    memory = model.encode(src)
    tgt = torch.full((len(src), 1), bos_id)
    for _ in range(max_len):
        next_token = model.decode(tgt, memory, model.real_tokens(src))[:, -1].argmax(
            -1, keepdim=True
        )
        tgt = torch.cat([tgt, next_token], dim=1)
        if (tgt == eos_id).any(dim=1).all():
            break
    return [
        row[1:][: int((row[1:] == eos_id).nonzero()[0])] if eos_id in row else row[1:]
        for row in tgt
    ]


@pytest.mark.parametrize("fn", [greedy_one_sentence_at_a_time_reencoding, greedy_returning_tensors])
def test_correct_greedy_alternatives_pass(fn, capsys):
    check_greedy_decode(fn)
    assert capsys.readouterr().out.startswith("✓ greedy_decode")


def test_greedy_returning_a_padded_tensor_is_compared_row_by_row():
    def padded(model, src, bos_id, eos_id, max_len):
        rows = check_greedy_decode.reference(model, src, bos_id, eos_id, max_len)
        out = torch.zeros(len(rows), max_len, dtype=torch.long)
        for b, row in enumerate(rows):
            out[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out

    with pytest.raises(AssertionError, match=r"expected \(\(3,\) int64\), got \(\(10,\) int64\)"):
        check_greedy_decode(padded)


# ------------------------------------------------------------ beam_step


def beam_step_by_enumeration(scores, log_probs, n):
    """Every (score, parent, token) in a Python list, sorted: slow and obviously right."""
    candidates = [
        (float(scores[p] + log_probs[p, t]), p, t)
        for p in range(log_probs.shape[0])
        for t in range(log_probs.shape[1])
    ]
    best = sorted(candidates, key=lambda c: -c[0])[:n]
    return (
        torch.tensor([c[0] for c in best]),
        torch.tensor([c[1] for c in best]),
        torch.tensor([c[2] for c in best]),
    )


def beam_step_sorting_descending(scores, log_probs, n):
    flat = (scores.unsqueeze(1) + log_probs).reshape(-1)
    order = flat.sort(descending=True).indices[:n]
    return (
        flat[order],
        torch.div(order, log_probs.shape[1], rounding_mode="floor"),
        order % log_probs.shape[1],
    )


def test_beam_reference_is_the_enumeration():
    for case in check_beam_step.cases:
        for ours, slow in zip(
            check_beam_step.reference(*case.args), beam_step_by_enumeration(*case.args), strict=True
        ):
            torch.testing.assert_close(ours.double(), slow.double())


@pytest.mark.parametrize("fn", [beam_step_by_enumeration, beam_step_sorting_descending])
def test_correct_beam_step_alternatives_pass(fn, capsys):
    check_beam_step(fn)
    assert capsys.readouterr().out.startswith("✓ beam_step")


# ------------------------------------------------------------ NumPy instead of PyTorch


def test_returning_numpy_loss_says_the_exercise_works_in_pytorch():
    def as_numpy(*args):
        return check_label_smoothed_loss.reference(*args).numpy()

    with pytest.raises(AssertionError, match="this exercise works in PyTorch"):
        check_label_smoothed_loss(as_numpy)
