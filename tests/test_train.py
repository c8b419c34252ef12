"""helpers.translation.loop: one training step, exact resume, best.pt and the log, the NaN stop,
the wall-time budget, and DistributedDataParallel."""

from __future__ import annotations

import copy
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import helpers.translation.loop
from helpers.training import label_smoothed_cross_entropy
from helpers.translation.batching import TranslationDataset, collate, encode_pairs
from helpers.translation.checkpoint import load_checkpoint
from helpers.translation.cli import run_command
from helpers.translation.config import build_model, config_from
from helpers.translation.data import Example
from helpers.translation.loop import limiting_budget, train, train_step
from helpers.translation.precision import MixedPrecision, NonFiniteLossError, check_finite
from helpers.translation.tokenization import WordVocab
from tests.translation_corpus import WORDS, write_reversal_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_reversal_corpus(tmp_path_factory.mktemp("corpus"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(corpus: Path, out: Path, *extra: str):
    return run_command(
        [
            "train", "--preset", "tiny", "--dataset", str(corpus), "--out", str(out),
            "--device", "cpu", "--max-tokens", "256", "--eval-sentences", "4", "--no-progress",
            *extra,
        ]
    )  # fmt: skip


def _config(corpus: Path, **overrides):
    settings = {"max_tokens": 256, "eval_sentences": 4, "device": "cpu", **overrides}
    return config_from("tiny", dataset=str(corpus), **settings)


def _model_and_data(dropout: float = 0.1):
    """A tiny model, its Adam optimizer, and four pairs of the reversal task."""
    vocab = WordVocab.build([" ".join(WORDS)])
    config = config_from("tiny", d_model=16, dim_feedforward=32, dropout=dropout)
    torch.manual_seed(0)
    model = build_model(config, len(vocab), len(vocab), vocab.pad_id)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    texts = ["the dog sees a cat", "a big red dog", "the old man", "a cat in the park"]
    examples = [Example(text, " ".join(reversed(text.split()))) for text in texts]
    data = TranslationDataset(encode_pairs(examples, vocab, vocab)[0])
    return model, optimizer, data, vocab.pad_id


def test_train_step_is_the_step_written_out_by_hand():
    """One batch: exactly notebook 05's step (autocast, loss, finite check, scaled backward,
    unscale, clip, Adam), the same loss and the same weights."""
    model, optimizer, data, pad_id = _model_and_data()
    batch = collate([data[0], data[1]], pad_id)
    precision = MixedPrecision("cpu")
    twin, twin_optimizer = copy.deepcopy((model, optimizer))

    torch.manual_seed(1)  # the same dropout masks for both
    with precision.autocast():
        logits = twin(batch.src, batch.tgt_in)
    loss = label_smoothed_cross_entropy(logits, batch.tgt_out, smoothing=0.1, ignore_index=pad_id)
    check_finite(loss, 1)
    twin_optimizer.zero_grad(set_to_none=True)
    precision.scaler.scale(loss).backward()
    precision.scaler.unscale_(twin_optimizer)
    torch.nn.utils.clip_grad_norm_(twin.parameters(), 1.0)
    precision.scaler.step(twin_optimizer)
    precision.scaler.update()

    torch.manual_seed(1)
    result = train_step(
        model, batch, optimizer, precision, pad_id=pad_id, label_smoothing=0.1, clip_norm=1.0,
        step=1,
    )  # fmt: skip
    assert result.loss == loss.item() and result.tokens == batch.num_tgt_tokens
    for mine, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_accumulating_two_batches_equals_one_batch_holding_both():
    """Gradient accumulation weighs each batch by its tokens: two half batches make the same
    update (here plain SGD, so the update is the gradient) as the whole batch."""
    model, _, data, pad_id = _model_and_data(dropout=0.0)
    first, second = collate([data[0], data[1]], pad_id), collate([data[2], data[3]], pad_id)
    whole = collate([data[i] for i in range(4)], pad_id)
    results, models = [], []
    for batches in ([first, second], whole):
        twin = copy.deepcopy(model)
        sgd = torch.optim.SGD(twin.parameters(), lr=0.1)
        results.append(
            train_step(
                twin, batches, sgd, MixedPrecision("cpu"), pad_id=pad_id, label_smoothing=0.1,
                clip_norm=math.inf, step=1,
            )
        )  # fmt: skip
        models.append(twin)
    assert results[0].tokens == results[1].tokens == first.num_tgt_tokens + second.num_tgt_tokens
    assert results[0].loss == pytest.approx(results[1].loss, rel=1e-5)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_train_step_stops_on_a_nan_before_the_weights_change():
    model, optimizer, data, pad_id = _model_and_data()
    with torch.no_grad():
        model.generator.bias[5] = math.nan
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(NonFiniteLossError, match="at step 9"):
        train_step(
            model, [collate([data[0]], pad_id)], optimizer, MixedPrecision("cpu"), pad_id=pad_id,
            label_smoothing=0.1, clip_norm=1.0, step=9,
        )  # fmt: skip
    for name, weight in model.state_dict().items():
        torch.testing.assert_close(weight, before[name], rtol=0, atol=0, equal_nan=True)


def test_resume_is_exact(corpus, tmp_path):
    """N steps, save, resume, N steps gives the same weights as 2N steps straight."""
    straight = _run(corpus, tmp_path / "straight", "--max-steps", "6", "--eval-every", "3")
    _run(corpus, tmp_path / "halves", "--max-steps", "3", "--eval-every", "3")
    resumed = _run(corpus, tmp_path / "halves", "--resume", "--max-steps", "6")
    assert resumed.losses == straight.losses[3:]
    for name, weight in straight.model.state_dict().items():
        assert torch.equal(weight, resumed.model.state_dict()[name]), name


def test_resume_refuses_a_changed_model(corpus, tmp_path):
    train(_config(corpus, max_steps=2, eval_every=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match="d_model: checkpoint 64, now 32"):
        train(_config(corpus, d_model=32), tmp_path, resume=True, progress=False)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(corpus, tmp_path, monkeypatch):
    train(_config(corpus, max_steps=2, eval_every=2), tmp_path, progress=False)
    before = (tmp_path / "last.pt").read_bytes()
    loss = helpers.translation.loop.label_smoothed_cross_entropy
    monkeypatch.setattr(
        helpers.translation.loop,
        "label_smoothed_cross_entropy",
        lambda *a, **k: loss(*a, **k) * math.nan,
    )
    config = _config(corpus, max_steps=5, eval_every=1)
    with pytest.raises(NonFiniteLossError, match="step 3"):
        train(config, tmp_path, resume=True, progress=False)
    assert (tmp_path / "last.pt").read_bytes() == before


def test_trained_model_is_saved_logged_and_kept_for_averaging(corpus, tmp_path):
    config = _config(corpus, max_steps=6, eval_every=2, keep_checkpoints=2)
    messages = []
    result = train(config, tmp_path, log=messages.append, progress=False)
    assert set(result.metrics) >= {"step", "valid_loss", "valid_bleu", "train_loss", "minutes"}
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in log] == [2, 4, 6] and log[-1] == result.metrics
    assert "budget: 6 steps" in messages
    assert sorted(p.name for p in tmp_path.glob("step-*.pt")) == ["step-4.pt", "step-6.pt"]
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["optimizer"] is None
    assert best["metrics"]["valid_bleu"] == max(line["valid_bleu"] for line in log)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 6


def test_the_wall_time_budget_ends_the_run_with_a_checkpoint(corpus, tmp_path):
    config = _config(corpus, max_steps=1000, eval_every=500, max_minutes=1e-6)
    messages = []
    result = train(config, tmp_path, log=messages.append, progress=False)
    assert len(result.losses) == 1 and result.metrics["step"] == 1
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 1
    assert "budget: 1000 steps or 1e-06 minutes, whichever ends first" in messages


def test_progress_counts_the_budget_that_will_end_the_run():
    steps_only = config_from("tiny", max_steps=1000)
    assert limiting_budget(steps_only, 10, 5.0, 0.5) == "steps"
    timed = config_from("tiny", max_steps=1000, max_minutes=2)
    assert limiting_budget(timed, 10, 5.0, None) == "steps"  # no pace measured yet
    assert limiting_budget(timed, 10, 5.0, 0.1) == "steps"  # 5 s + 990 × 0.1 s < 120 s
    assert limiting_budget(timed, 10, 5.0, 0.5) == "minutes"  # 5 s + 990 × 0.5 s > 120 s


def test_distributed_data_parallel_matches_one_process(corpus, tmp_path):
    """2 CPU processes (gloo) end with identical weights, equal to 1 process on the same batches."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    worker = str(ROOT / "tests" / "ddp_worker.py")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    run = subprocess.run(
        [*torchrun, f"--master_port={_free_port()}", worker, str(corpus), str(tmp_path / "ddp"), "1"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, worker, str(corpus), str(tmp_path / "one"), "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / "ddp" / f"rank{r}.pt") for r in (0, 1))
    alone = torch.load(tmp_path / "one" / "rank0.pt")
    assert len(rank0["losses"]) == 4
    assert rank0["losses"] == rank1["losses"]
    assert rank0["losses"] == pytest.approx(alone["losses"], rel=1e-5)
    for name, weight in rank0["model"].items():
        assert torch.equal(weight, rank1["model"][name]), f"ranks differ in {name}"
        torch.testing.assert_close(weight, alone["model"][name], rtol=1e-4, atol=1e-5)
