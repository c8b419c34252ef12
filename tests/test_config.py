"""helpers.translation.config: presets and overrides; every field checked when a TrainConfig is
made, before any data loads, with a message that says what was expected and what arrived."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from helpers.translation.config import (
    RUN_FIELDS,
    TrainConfig,
    check_resumable,
    config_from,
    load_split,
)


def test_config_from_applies_preset_dataset_defaults_and_overrides():
    config = config_from("gpu", dataset="multi30k", d_model=256)
    assert (config.d_model, config.num_encoder_layers) == (256, 4)  # override, then preset
    assert config.tokenizer == "bpe"  # the dataset's default
    assert config_from("cpu") == TrainConfig()
    assert config_from("cpu", d_model=None) == TrainConfig()  # None: not given
    with pytest.raises(ValueError, match="preset must be one of"):
        config_from("laptop")
    with pytest.raises(ValueError, match="unknown config fields"):
        config_from("cpu", learning_rate=1.0)


@pytest.mark.parametrize("path", ["my_corpus/", "pairs.tsv", "~/corpora/deu.txt.gz"])
def test_a_corpus_brought_as_tsv_files_gets_subwords_by_default(path):
    """Real text has an open vocabulary: like Multi30k, it gets BPE (8,000 pieces per side)
    unless a tokenizer is asked for; the bundled toy corpus keeps its word vocabulary."""
    config = config_from("cpu", dataset=path)
    assert (config.tokenizer, config.vocab_size) == ("bpe", 8000)
    assert config_from("cpu", dataset=path, tokenizer="word").tokenizer == "word"
    assert config_from("cpu", dataset="toy-en-de").tokenizer == "word"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("d_model", -5, "d_model must be a positive integer; got -5"),
        ("d_model", 2.5, "d_model must be a positive integer; got 2.5"),
        ("nhead", 0, "nhead must be a positive integer; got 0"),
        ("max_steps", True, "max_steps must be a positive integer; got True"),
        ("max_len", 1, r"max_len must be an integer >= 2 .*; got 1"),
        ("seed", -1, "seed must be a non-negative integer; got -1"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\); got 1.0"),
        ("label_smoothing", -0.1, r"label_smoothing must be in \[0, 1\); got -0.1"),
        ("lr_factor", 0.0, "lr_factor must be a positive number; got 0.0"),
        ("clip_norm", float("nan"), "clip_norm must be a positive number; got nan"),
        ("max_minutes", 0, "max_minutes must be a positive number of minutes; got 0"),
        ("tokenizer", "char", r"tokenizer must be one of \['word', 'bpe'\]; got 'char'"),
        ("attention", "flash", r"attention must be one of \['fused', 'course'\]; got 'flash'"),
        ("precision", "half", r"precision must be one of \['auto', .*'fp32'\]; got 'half'"),
        ("tie_weights", "yes", "tie_weights must be True or False; got 'yes'"),
        ("dataset", "nope", r"dataset must be 'multi30k' or 'toy-en-de', or the path .*'nope'"),
        ("dataset", "", "dataset must be a non-empty string; got ''"),
        ("src_lang", "en", "src_lang and tgt_lang apply to multi30k only"),
        ("device", "gpu", r"device must be 'cpu', 'cuda', 'cuda:N' or 'mps'; got 'gpu'"),
    ],
)
def test_every_field_is_checked_with_a_clear_message(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_fields_that_depend_on_each_other_are_checked_together():
    with pytest.raises(
        ValueError, match="d_model must be divisible by nhead.*d_model = 128, nhead = 3"
    ):
        TrainConfig(nhead=3)
    with pytest.raises(ValueError, match=r"src_lang must be one of \['de', 'en'\]; got 'fr'"):
        TrainConfig(dataset="multi30k", src_lang="fr")
    with pytest.raises(ValueError, match="src_lang and tgt_lang must differ; both are 'en'"):
        TrainConfig(dataset="multi30k", src_lang="en", tgt_lang="en")
    assert TrainConfig(dataset="multi30k", src_lang="en").src_lang == "en"
    assert TrainConfig(dataset="runs/my-data").dataset == "runs/my-data"  # a path


def test_string_choices_are_literals_and_the_config_is_frozen():
    hints = typing.get_type_hints(TrainConfig)
    for name in ("tokenizer", "attention", "precision"):
        assert typing.get_origin(hints[name]) is typing.Literal, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().d_model = 5


def test_from_dict_refuses_unknown_fields_and_fills_missing_ones():
    saved = dataclasses.asdict(TrainConfig(d_model=64, nhead=2))
    assert TrainConfig.from_dict(saved) == TrainConfig(d_model=64, nhead=2)
    del saved["keep_checkpoints"]  # saved before the field existed
    assert TrainConfig.from_dict(saved).keep_checkpoints == 0
    with pytest.raises(ValueError, match=r"unknown config fields \['colour'\]"):
        TrainConfig.from_dict({**saved, "colour": "red"})


def test_a_resumed_run_may_change_only_its_run_fields():
    saved = TrainConfig()
    check_resumable(dataclasses.replace(saved, max_steps=5000, eval_every=10), saved)
    assert {"max_steps", "max_minutes", "device"} <= RUN_FIELDS
    with pytest.raises(ValueError, match="d_model: checkpoint 128, now 64; nhead: checkpoint 4"):
        check_resumable(dataclasses.replace(saved, d_model=64, nhead=2), saved)


def test_load_split_names_a_missing_data_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-dir'?: no such file or directory"):
        load_split(TrainConfig(dataset=str(tmp_path / "no-such-dir")), "train")
