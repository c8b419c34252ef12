"""helpers.translation.loop: configuration, the command line, exact resume, the NaN stop, and DDP."""

from __future__ import annotations

import math
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import helpers.translation.loop
from helpers.training import NonFiniteLossError
from helpers.translation.loop import TrainConfig, config_from, main

ROOT = Path(__file__).resolve().parents[1]
WORDS = "the a man woman dog cat sees has seen park in big small old new red".split()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A directory with train.tsv and valid.tsv: the target is the source reversed."""
    directory = tmp_path_factory.mktemp("corpus")
    rng = random.Random(0)
    for split, size in (("train", 300), ("valid", 20)):
        lines = []
        for _ in range(size):
            words = [rng.choice(WORDS) for _ in range(rng.randint(2, 9))]
            lines.append(f"{' '.join(words)}\t{' '.join(reversed(words))}")
        (directory / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(corpus: Path, out: Path, *extra: str):
    return main(
        [
            "--preset", "tiny", "--dataset", str(corpus), "--out", str(out), "--device", "cpu",
            "--max-tokens", "256", "--eval-sentences", "4", "--no-progress", *extra,
        ]
    )  # fmt: skip


def test_config_from_applies_preset_dataset_defaults_and_overrides():
    config = config_from("gpu", dataset="multi30k", d_model=256)
    assert (config.d_model, config.num_encoder_layers) == (256, 4)  # override, then preset
    assert config.tokenizer == "bpe"  # the dataset's default
    assert config_from("cpu") == TrainConfig()
    with pytest.raises(ValueError, match="preset must be one of"):
        config_from("laptop")
    with pytest.raises(ValueError, match="unknown config fields"):
        config_from("cpu", learning_rate=1.0)


def test_resume_is_exact(corpus, tmp_path):
    """N steps, save, resume, N steps gives the same weights as 2N steps straight."""
    straight = _run(corpus, tmp_path / "straight", "--max-steps", "6", "--eval-every", "3")
    _run(corpus, tmp_path / "halves", "--max-steps", "3", "--eval-every", "3")
    resumed = _run(corpus, tmp_path / "halves", "--resume", "--max-steps", "6")
    assert resumed.losses == straight.losses[3:]
    for name, weight in straight.model.state_dict().items():
        assert torch.equal(weight, resumed.model.state_dict()[name]), name


def test_resume_refuses_a_changed_model(corpus, tmp_path):
    _run(corpus, tmp_path, "--max-steps", "2", "--eval-every", "2")
    with pytest.raises(ValueError, match="d_model: checkpoint 64, now 32"):
        _run(corpus, tmp_path, "--resume", "--d-model", "32")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(corpus, tmp_path, monkeypatch):
    _run(corpus, tmp_path, "--max-steps", "2", "--eval-every", "2")
    before = (tmp_path / "last.pt").read_bytes()
    loss = helpers.translation.loop.label_smoothed_cross_entropy
    monkeypatch.setattr(
        helpers.translation.loop,
        "label_smoothed_cross_entropy",
        lambda *a, **k: loss(*a, **k) * math.nan,
    )
    with pytest.raises(NonFiniteLossError, match="step 3"):
        _run(corpus, tmp_path, "--resume", "--max-steps", "5", "--eval-every", "1")
    assert (tmp_path / "last.pt").read_bytes() == before


def test_trained_model_is_saved_and_evaluated(corpus, tmp_path):
    result = _run(corpus, tmp_path, "--max-steps", "4", "--eval-every", "2")
    assert set(result.metrics) >= {"step", "valid_loss", "valid_bleu", "train_loss"}
    log = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(log) == 2 and '"step": 4' in log[-1]


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
