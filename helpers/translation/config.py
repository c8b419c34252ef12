"""What defines a training run, and the model and tokenizers it builds; used in
`05_training_translation`.

``TrainConfig`` holds every setting of a run and is saved in every checkpoint. It checks each
field when it is made, before any data loads, so that ``--d-model -5`` is refused with a
message instead of failing later inside torch. ``config_from`` starts from a preset (``cpu``,
``gpu``, ``tiny``), applies the dataset's defaults (subword tokenizers for Multi30k and for
any corpus brought as TSV files), then the settings given; ``notebook_config`` is notebook
05's run for the device at hand; ``build_tokenizers`` and ``build_model`` make what the
configuration describes.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import torch

from helpers._utils import check_positive_int
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.data import DATASETS, Example, _looks_like_path, load_dataset
from helpers.translation.tokenization import SubwordTokenizer, Tokenizer, WordVocab

__all__ = [
    "DATASET_DEFAULTS",
    "NOTEBOOK_RUNS",
    "PRESETS",
    "RUN_FIELDS",
    "TrainConfig",
    "build_model",
    "build_tokenizers",
    "check_resumable",
    "config_from",
    "load_split",
    "notebook_config",
]

Language = Literal["de", "en"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; saved in every checkpoint, checked when made."""

    dataset: str = "toy-en-de"  # "toy-en-de", "multi30k" or the path of your own TSV data
    src_lang: Language | None = None  # multi30k only: "de" (default) or "en"
    tgt_lang: Language | None = None
    tokenizer: Literal["word", "bpe"] = "word"  # closed word vocabulary or sentencepiece BPE
    vocab_size: int = 8000  # bpe only, per language
    min_freq: int = 1  # word only
    max_len: int = 128  # longer training pairs are dropped
    d_model: int = 128
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    tie_weights: bool = True
    norm_first: bool = False
    attention: Literal["fused", "course"] = "fused"  # PyTorch's kernel or helpers.attention
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"  # see precision.MixedPrecision
    compile: bool = False
    max_tokens: int = 4096  # padded tokens per batch and process
    accumulate: int = 1  # batches per optimizer step
    max_steps: int = 1000
    max_minutes: float | None = None  # wall-time budget; stops cleanly and saves
    warmup_steps: int = 400
    lr_factor: float = 1.0
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    eval_every: int = 500
    eval_sentences: int = 500  # validation sentences decoded for BLEU at each evaluation
    keep_checkpoints: int = 0  # also keep the weights of the last N evaluations (to average)
    seed: int = 0
    device: str | None = None  # None: helpers.device.pick_device()

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for field in dataclasses.fields(self):
            _check_field(field.name, hints[field.name], getattr(self, field.name))
        if self.d_model % self.nhead:
            raise ValueError(
                "d_model must be divisible by nhead (each head gets d_model / nhead "
                f"dimensions); got d_model = {self.d_model}, nhead = {self.nhead}"
            )
        _check_dataset(self)
        if self.device is not None:
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ValueError(
                    f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps'; got {self.device!r}"
                ) from None

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The configuration a checkpoint saved (``dataclasses.asdict``); missing fields take
        their defaults, unknown ones are refused."""
        if not isinstance(values, dict):
            raise ValueError(f"a configuration must be a dict; got {type(values).__name__}")
        _check_known(values)
        return cls(**values)


# Checked beyond their type: (is it allowed?, what is expected).
_NUMBER_RULES = {
    "max_len": (lambda x: x >= 2, "an integer >= 2 (a sentence plus BOS and EOS)"),
    "dropout": (lambda x: 0 <= x < 1, "in [0, 1)"),
    "label_smoothing": (lambda x: 0 <= x < 1, "in [0, 1)"),
    "lr_factor": (lambda x: x > 0, "a positive number"),
    "clip_norm": (lambda x: x > 0, "a positive number"),
    "max_minutes": (lambda x: x > 0, "a positive number of minutes"),
    "seed": (lambda x: x >= 0, "a non-negative integer"),
    "keep_checkpoints": (lambda x: x >= 0, "a non-negative integer"),
}


def _check_field(name: str, hint: Any, value: Any) -> None:
    """Raise a ValueError unless ``value`` fits the field's type and rule."""
    options = get_args(hint)
    if type(None) in options:  # X | None
        if value is None:
            return
        (hint,) = [option for option in options if option is not type(None)]
    if get_origin(hint) is Literal:
        if value not in get_args(hint):
            raise ValueError(f"{name} must be one of {list(get_args(hint))}; got {value!r}")
    elif hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False; got {value!r}")
    elif hint is str:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    elif hint is int and name not in _NUMBER_RULES:
        check_positive_int(name, value)
    else:
        _check_number(name, value, integer=hint is int)


def _check_number(name: str, value: Any, *, integer: bool) -> None:
    kind = numbers.Integral if integer else numbers.Real
    allowed, expected = _NUMBER_RULES.get(name, (lambda x: True, "a number"))
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    if not allowed(value):
        raise ValueError(f"{name} must be {expected}; got {value!r}")


def _check_dataset(config: TrainConfig) -> None:
    name = config.dataset
    if name.lower() not in DATASETS and not _looks_like_path(name):
        choices = " or ".join(repr(choice) for choice in DATASETS)
        raise ValueError(
            f"dataset must be {choices}, or the path of a tab-separated file or of a "
            f"directory of them (train.tsv, valid.tsv, ...); got {name!r}"
        )
    languages = (config.src_lang, config.tgt_lang)
    if name.lower() != "multi30k" and languages != (None, None):
        raise ValueError(f"src_lang and tgt_lang apply to multi30k only; got dataset {name!r}")
    if config.src_lang is not None and config.src_lang == config.tgt_lang:
        raise ValueError(f"src_lang and tgt_lang must differ; both are {config.src_lang!r}")


def _check_known(names) -> None:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(names) - fields
    if unknown:
        raise ValueError(f"unknown config fields {sorted(unknown)}; known: {sorted(fields)}")


PRESETS: dict[str, dict] = {
    # A 2-core laptop CPU: 1.2M parameters on toy-en-de; 1,000 steps take about 7 minutes
    # there and reach test BLEU 98.9 (data/checkpoints/README.md).
    "cpu": {},
    # One GPU: a wider, deeper model, bigger batches, bf16 and fused attention.
    "gpu": {
        "d_model": 512,
        "nhead": 8,
        "num_encoder_layers": 4,
        "num_decoder_layers": 4,
        "dim_feedforward": 2048,
        "max_tokens": 16384,
        "warmup_steps": 1000,
        "max_steps": 6000,
    },
    # Small enough for a notebook cell or a test.
    "tiny": {
        "d_model": 64,
        "nhead": 2,
        "num_encoder_layers": 1,
        "num_decoder_layers": 1,
        "dim_feedforward": 128,
        "max_tokens": 1024,
        "warmup_steps": 50,
        "max_steps": 200,
        "eval_every": 100,
        "eval_sentences": 50,
    },
}

# Defaults that depend on the corpus rather than the hardware. "tsv" is any corpus brought as
# tab-separated files: real text has an open vocabulary, so it gets subwords, as Multi30k does.
DATASET_DEFAULTS: dict[str, dict] = {
    "toy-en-de": {"tokenizer": "word"},
    "multi30k": {"tokenizer": "bpe", "vocab_size": 6000, "dropout": 0.2},
    "tsv": {"tokenizer": "bpe", "vocab_size": 8000},
}

# The training run of `05_training_translation`, by device type: on a CUDA GPU the real corpus
# with the `gpu` preset under a wall-time budget; elsewhere the bundled corpus with the `cpu`
# preset, cut to a few hundred steps of half-size batches (validation BLEU about 75 after
# 375 steps; the notebook's time budget allows no more).
NOTEBOOK_RUNS: dict[str, dict] = {
    "cuda": {
        "preset": "gpu",
        "dataset": "multi30k",
        "dropout": 0.3,
        "max_tokens": 8192,
        "lr_factor": 0.7,
        "max_steps": 5000,
        "max_minutes": 9.0,
        "eval_every": 500,
    },
    "cpu": {
        "preset": "cpu",
        "dataset": "toy-en-de",
        "max_tokens": 2048,
        "max_steps": 375,
        "warmup_steps": 100,
        "lr_factor": 0.5,
        "eval_every": 125,
    },
}

# Fields a resumed run may change; every other field must match the checkpoint's.
RUN_FIELDS = frozenset(
    {
        "max_steps",
        "max_minutes",
        "eval_every",
        "eval_sentences",
        "keep_checkpoints",
        "device",
        "compile",
    }
)


def config_from(preset: str = "cpu", **overrides: Any) -> TrainConfig:
    """A preset, then the dataset's defaults, then explicit overrides (None means 'not given')."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    _check_known(overrides)
    given = {k: v for k, v in overrides.items() if v is not None}
    dataset = given.get("dataset", TrainConfig.dataset)
    return TrainConfig(**{**PRESETS[preset], **_dataset_defaults(dataset), **given})


def _dataset_defaults(dataset: Any) -> dict:
    if not isinstance(dataset, str):
        return {}
    if dataset.lower() in DATASET_DEFAULTS:
        return DATASET_DEFAULTS[dataset.lower()]
    return DATASET_DEFAULTS["tsv"] if _looks_like_path(dataset) else {}


def notebook_config(hardware: torch.device | str, **overrides: Any) -> TrainConfig:
    """The configuration of the training run of `05_training_translation` on ``hardware``:
    ``NOTEBOOK_RUNS["cuda"]`` on a CUDA GPU (Multi30k German→English, the `gpu` preset,
    at most 9 minutes), ``NOTEBOOK_RUNS["cpu"]`` anywhere else (toy-en-de, the `cpu`
    preset, 375 steps of 2048 tokens); ``overrides`` change fields (tests use them to shrink
    the run)."""
    run = dict(NOTEBOOK_RUNS["cuda" if torch.device(hardware).type == "cuda" else "cpu"])
    return config_from(run.pop("preset"), **{**run, **overrides})


def check_resumable(config: TrainConfig, saved: TrainConfig) -> None:
    """Raise a ValueError naming every field, other than ``RUN_FIELDS``, that differs."""
    differ = [
        f"{f.name}: checkpoint {getattr(saved, f.name)!r}, now {getattr(config, f.name)!r}"
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RUN_FIELDS and getattr(saved, f.name) != getattr(config, f.name)
    ]
    if differ:
        raise ValueError(
            "cannot resume with a different configuration (only "
            f"{', '.join(sorted(RUN_FIELDS))} may change): " + "; ".join(differ)
        )


def load_split(
    config: TrainConfig, split: str, *, dataset: str | None = None, limit: int | None = None
) -> list[Example]:
    """The examples of ``split`` of the run's dataset (or of ``dataset``), in its language
    direction; a dataset path that does not exist is a FileNotFoundError."""
    name = dataset or config.dataset
    options = {}
    if name.lower() == "multi30k":
        src = config.src_lang or ("en" if config.tgt_lang == "de" else "de")
        options = {"src_lang": src, "tgt_lang": config.tgt_lang or ("en" if src == "de" else "de")}
    elif _looks_like_path(name) and not Path(name).exists():
        raise FileNotFoundError(f"dataset {name!r}: no such file or directory")
    return load_dataset(name, split, limit=limit, **options)


def build_tokenizers(
    config: TrainConfig, train_examples: Sequence[Example]
) -> dict[str, Tokenizer]:
    """One tokenizer per side, ``{"src": ..., "tgt": ...}``, fitted on the training split only."""
    sides = {"src": [e.src for e in train_examples], "tgt": [e.tgt for e in train_examples]}
    if config.tokenizer == "word":
        return {k: WordVocab.build(texts, min_freq=config.min_freq) for k, texts in sides.items()}
    return {
        k: SubwordTokenizer.train(texts, vocab_size=config.vocab_size, seed=config.seed)
        for k, texts in sides.items()
    }


def build_model(
    config: TrainConfig, src_vocab: int, tgt_vocab: int, pad_id: int
) -> Seq2SeqTransformer:
    """The course's Seq2SeqTransformer in the run's configuration (V_src, V_tgt given)."""
    return Seq2SeqTransformer(
        src_vocab,
        tgt_vocab,
        config.d_model,
        config.nhead,
        config.num_encoder_layers,
        config.num_decoder_layers,
        config.dim_feedforward,
        config.dropout,
        max_len=max(512, config.max_len + 2),
        pad_id=pad_id,
        tie_weights=config.tie_weights,
        norm_first=config.norm_first,
        fused=config.attention == "fused",
    )
