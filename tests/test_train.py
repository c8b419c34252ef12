"""helpers.translation.loop: one training step that never waits for the device, exact resume,
best.pt and the log, the NaN stop, the wall-time budget, DistributedDataParallel (gloo and,
where CUDA exists, NCCL), and notebook 05's GPU run at a tiny size."""

from __future__ import annotations

import copy
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import helpers.translation.config
import helpers.translation.loop
from helpers.training import label_smoothed_cross_entropy
from helpers.translation.batching import TranslationDataset, collate, encode_pairs
from helpers.translation.checkpoint import load_checkpoint
from helpers.translation.cli import run_command
from helpers.translation.config import build_model, config_from, notebook_config
from helpers.translation.data import Example
from helpers.translation.loop import Progress, limiting_budget, read_losses, train, train_step
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
            "--tokenizer", "word", "--device", "cpu", "--max-tokens", "256",
            "--eval-sentences", "4", "--no-progress", *extra,
        ]
    )  # fmt: skip


def _config(corpus: Path, **overrides):
    settings = {"tokenizer": "word", "max_tokens": 256, "eval_sentences": 4, "device": "cpu"}
    settings |= overrides
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
        model, batch, optimizer, precision, pad_id=pad_id, label_smoothing=0.1, clip_norm=1.0
    )
    assert result.loss.ndim == 0 and result.loss.device == loss.device
    assert float(result.loss) == loss.item() and result.tokens == batch.num_tgt_tokens
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
                clip_norm=math.inf,
            )
        )  # fmt: skip
        models.append(twin)
    assert results[0].tokens == results[1].tokens == first.num_tgt_tokens + second.num_tgt_tokens
    assert float(results[0].loss) == pytest.approx(float(results[1].loss), rel=1e-5)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_train_step_reads_nothing_back_from_its_tensors(monkeypatch):
    """No .item(), float(), .tolist() or bool() on a tensor in train_step's own code: on a GPU
    each would make the host wait for the GPU (a sync) at every step."""
    reads = []
    for name in ("item", "tolist", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def recording(self, *args, _original=original, _name=name, **kwargs):
            if sys._getframe(1).f_code.co_filename == helpers.translation.loop.__file__:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, recording)
    model, optimizer, data, pad_id = _model_and_data()
    batches = [collate([data[0], data[1]], pad_id), collate([data[2]], pad_id)]
    train_step(
        model, batches, optimizer, MixedPrecision("cpu"), pad_id=pad_id, label_smoothing=0.1,
        clip_norm=1.0,
    )  # fmt: skip
    assert reads == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_gpu_train_step_never_synchronises():
    """CUDA's sync debug mode raises on every operation that makes the host wait."""
    model, optimizer, data, pad_id = _model_and_data()
    model.cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batch = collate([data[0], data[1]], pad_id).to("cuda", non_blocking=True)
    for mode in ("auto", "fp16"):
        precision = MixedPrecision("cuda", mode)
        train_step(
            model, batch, optimizer, precision, pad_id=pad_id, label_smoothing=0.1, clip_norm=1.0
        )
        torch.cuda.set_sync_debug_mode("error")
        try:
            train_step(
                model,
                batch,
                optimizer,
                precision,
                pad_id=pad_id,
                label_smoothing=0.1,
                clip_norm=1.0,
            )
        finally:
            torch.cuda.set_sync_debug_mode("default")


def test_read_losses_reads_all_at_once_and_names_the_first_non_finite_step():
    losses = [torch.tensor(2.0), torch.tensor(1.5), torch.tensor(math.nan), torch.tensor(1.0)]
    assert read_losses(losses[:2], last_step=12) == [2.0, 1.5]
    with pytest.raises(NonFiniteLossError, match="the loss is nan at step 13;.*untouched"):
        read_losses(losses, last_step=14)
    assert read_losses([], last_step=3) == []


def test_every_tensor_handed_to_a_collective_lives_on_the_models_device(monkeypatch):
    """NCCL reduces GPU tensors only. In a one-process gloo group, with the default device
    set to "meta" while the step runs, a tensor made without device= would land on meta, not
    on the model's device (the CPU here), and fail this test, as it would fail NCCL."""
    seen = []
    real_all_reduce = dist.all_reduce

    def recording(tensor, *args, **kwargs):
        seen.append(tensor.device)
        return real_all_reduce(tensor, *args, **kwargs)

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        model, optimizer, data, pad_id = _model_and_data()
        ddp = DistributedDataParallel(model)
        batches = [collate([data[0], data[1]], pad_id), collate([data[2]], pad_id)]
        options = {"pad_id": pad_id, "label_smoothing": 0.1, "clip_norm": 1.0}
        train_step(ddp, batches, optimizer, MixedPrecision("cpu"), **options)  # Adam's state
        monkeypatch.setattr(helpers.translation.loop.dist, "all_reduce", recording)
        run = SimpleNamespace(
            model=ddp, config=config_from("tiny", max_minutes=1.0), progress=Progress(elapsed=90)
        )
        with torch.device("meta"):
            train_step(ddp, batches, optimizer, MixedPrecision("cpu"), **options)
            assert helpers.translation.loop._out_of_time(run, collective=True)
    finally:
        dist.destroy_process_group()
    assert len(seen) == 3 and set(seen) == {torch.device("cpu")}  # tokens, loss, budget


def _backends() -> list:
    nccl = pytest.mark.skipif(not torch.cuda.is_available(), reason="NCCL needs a CUDA GPU")
    return ["gloo", pytest.param("nccl", marks=nccl)]


@pytest.mark.parametrize("backend", _backends())
def test_the_data_parallel_path_trains_in_one_process(backend, corpus, tmp_path, monkeypatch):
    """The whole torchrun path (device per process, torch.cuda.set_device, process group,
    DistributedDataParallel, collectives of the loss, the tokens and the time budget) in one
    process: "world" 2 for the course's code, a group of 1 for torch.distributed."""
    monkeypatch.setattr(helpers.translation.loop, "_processes", lambda: (0, 2, 0))
    env = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for name, value in {**env, "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(name, value)
    device = "cuda" if backend == "nccl" else "cpu"
    config = _config(corpus, max_steps=3, eval_every=3, max_minutes=60.0, device=device)
    messages = []
    result = train(config, tmp_path, log=messages.append, progress=False)
    assert f"device: {device}" in messages[0] and backend in messages[0]
    assert len(result.losses) == 3 and all(math.isfinite(loss) for loss in result.losses)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 3
    assert not dist.is_initialized()


def test_resume_is_exact(corpus, tmp_path):
    """N steps, save, resume, N steps gives the same weights as 2N steps straight."""
    straight = _run(corpus, tmp_path / "straight", "--max-steps", "6", "--eval-every", "3")
    _run(corpus, tmp_path / "halves", "--max-steps", "3", "--eval-every", "3")
    resumed = _run(corpus, tmp_path / "halves", "--resume", "--max-steps", "6")
    assert resumed.losses == straight.losses[3:]
    for name, weight in straight.model.state_dict().items():
        assert torch.equal(weight, resumed.model.state_dict()[name]), name


def test_a_resumed_log_continues_the_interrupted_one_without_repeats(corpus, tmp_path):
    """A run killed after writing step 4's log line but before its checkpoint resumes at step 2
    and logs steps 3 and 4 once each: lines after the checkpoint's step are dropped."""
    train(_config(corpus, max_steps=2, eval_every=2), tmp_path, progress=False)
    with open(tmp_path / "log.jsonl", "a") as log:
        log.write(json.dumps({"step": 4, "valid_loss": 9.9}) + "\n")  # no checkpoint for it
    train(_config(corpus, max_steps=4, eval_every=2), tmp_path, resume=True, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4] and lines[1]["valid_loss"] != 9.9


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


def test_notebook_05s_gpu_run_trains_a_few_steps_on_the_cpu(tmp_path, monkeypatch):
    """The configuration the notebook trains with on a CUDA GPU (Multi30k de→en, the gpu preset,
    BPE, a wall-time budget), shrunk and run on the CPU, with a stand-in corpus for Multi30k."""
    config = notebook_config("cuda")
    assert (config.dataset, config.tokenizer, config.d_model) == ("multi30k", "bpe", 512)
    assert config.max_minutes is not None and config.max_minutes <= 10
    assert notebook_config("cpu").dataset == "toy-en-de"
    requested = []

    def stand_in(name, split, limit=None, **options):
        requested.append((name, split, options))
        texts = [" ".join(WORDS[i : i + 4]) for i in range(len(WORDS) - 3)] * 3
        return [Example(text, " ".join(reversed(text.split()))) for text in texts]

    monkeypatch.setattr(helpers.translation.config, "load_dataset", stand_in)
    tiny = {"d_model": 16, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1}
    tiny |= {"dim_feedforward": 32, "max_tokens": 128, "vocab_size": 40, "warmup_steps": 2}
    shrunk = notebook_config(
        "cuda", **tiny, max_steps=3, eval_every=3, eval_sentences=4, device="cpu"
    )
    kept = ("dataset", "tokenizer", "dropout", "lr_factor", "max_minutes", "attention")
    assert all(getattr(shrunk, name) == getattr(config, name) for name in kept)
    result = train(shrunk, tmp_path, log=lambda message: None, progress=False)
    assert ("multi30k", "train", {"src_lang": "de", "tgt_lang": "en"}) in requested
    assert len(result.losses) == 3 and all(math.isfinite(loss) for loss in result.losses)
