"""The trained translator shipped in data/checkpoints loads safely and translates well."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers.translation.checkpoint import load_translator
from helpers.translation.config import TrainConfig, config_from
from helpers.translation.data import load_dataset
from helpers.translation.evaluation import evaluate_translation

CHECKPOINT = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "toy-en-de.pt"


@pytest.fixture(scope="module")
def translator():
    return load_translator(CHECKPOINT)


def test_it_is_small_and_loads_with_weights_only():
    assert CHECKPOINT.stat().st_size <= 8 * 2**20
    checkpoint = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    assert "optimizer" not in checkpoint or checkpoint["optimizer"] is None


def test_it_was_trained_with_the_cpu_preset(translator):
    config = translator.config
    assert config == TrainConfig(**{**vars(config_from("cpu")), "max_steps": config.max_steps})
    assert translator.step == 1000 and translator.metrics["valid_bleu"] > 95


def test_bleu_on_a_fixed_subset_of_the_test_split(translator):
    examples = load_dataset("toy-en-de", "test", limit=200)
    scores, hypotheses = evaluate_translation(
        translator.model, examples, translator.src_tokenizer, translator.tgt_tokenizer
    )
    assert scores.bleu >= 95, f"{scores}; first outputs: {hypotheses[:3]}"
