"""Save and resume training exactly, and load a trained translator; used in
`05_training_translation`.

A checkpoint is one file holding everything that decides what the next training step does:
the weights, the optimizer's moments, the learning-rate schedule, the loss scaler, every
random number generator (dropout masks, shuffling), the step, the configuration and the
tokenizers. Restored into fresh objects, training continues bit for bit as if it had never
stopped. Files are written atomically (a crash mid-save leaves the previous checkpoint as it
was) and read with ``torch.load(weights_only=True)``, which runs no code from the file.

``load_translator`` turns a checkpoint back into a ``Translator`` (the model in eval mode, its
tokenizers, configuration, step and scores); ``save_translator`` writes one as a small
model-only file, such as the one shipped in ``data/checkpoints``. ``average_checkpoints``
averages the weights of several checkpoints of one run, which often translates better than
any one of them.
"""

from __future__ import annotations

import os
import pickle
import random
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.transformer import Seq2SeqTransformer
from helpers.translation.config import TrainConfig, build_model
from helpers.translation.tokenization import Tokenizer, tokenizer_from_state

__all__ = [
    "Translator",
    "average_checkpoints",
    "load_checkpoint",
    "load_translator",
    "restore_training",
    "save_checkpoint",
    "save_translator",
]

REQUIRED_KEYS = (
    "model",
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "step",
    "config",
    "tokenizers",
    "metrics",
    "extra",
)
_PLAIN = (str, int, float, bool, bytes, type(None), torch.Tensor)


def _unwrap(model: nn.Module) -> nn.Module:
    """The module itself, under a DistributedDataParallel (``.module``) or ``torch.compile``
    (``._orig_mod``) wrapper, so saved keys never carry a wrapper's prefix."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def _check_plain(value: Any, where: str) -> None:
    """Raise unless ``value`` is made of types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise ValueError(f"{where} keys must be str or int; got {type(key).__name__}")
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise ValueError(
            f"{where} must hold only str, int, float, bool, bytes, None, tensors, lists, tuples "
            f"and dicts (what weights_only loading accepts); got {type(value).__name__}"
        )


def _rng_state() -> dict:
    """Every generator a training step draws from, as tensors, ints, tuples and lists."""
    # NumPy's legacy global generator is the one np.random.seed and np.random.rand use.
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": (
            kind,
            torch.from_numpy(keys.astype(np.int64)),
            position,
            has_gauss,
            cached_gaussian,
        ),
    }


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, position, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (kind, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian)
    )


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scaler: torch.amp.GradScaler | None = None,
    step: int,
    config: dict,
    tokenizers: dict[str, dict] | None = None,
    metrics: dict | None = None,
    extra: dict | None = None,
) -> None:
    """Write everything needed to resume training to ``path``, atomically.

    The state goes to a temporary file in the same directory, is flushed and fsync'ed, then
    ``os.replace`` puts it in place in one step: if anything fails, the previous file at
    ``path`` is untouched and the temporary file is removed. ``config``, ``tokenizers``
    (name -> the tokenizer's state), ``metrics`` and ``extra`` must hold plain types (str,
    int, float, bool, bytes, None, tensors, lists, tuples, dicts), so that
    ``load_checkpoint`` can read them with ``weights_only=True``.
    """
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step must be a non-negative int; got {step!r}")
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict; got {type(config).__name__}")
    for name, value in (
        ("config", config),
        ("tokenizers", tokenizers),
        ("metrics", metrics),
        ("extra", extra),
    ):
        _check_plain(value, name)
    state = {
        "model": _unwrap(model).state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "rng": _rng_state(),
        "step": step,
        "config": config,
        "tokenizers": tokenizers or {},
        "metrics": metrics or {},
        "extra": extra or {},
    }
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    if os.name == "posix":  # make the rename itself durable
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def load_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> dict:
    """Read a checkpoint written by ``save_checkpoint``, with ``torch.load(weights_only=True)``.

    Returns the dict of ``REQUIRED_KEYS``: "model" (a state_dict), "optimizer", "scheduler",
    "scaler" (states or None), "rng", "step", "config", "tokenizers", "metrics", "extra".
    A missing file raises ``FileNotFoundError``; a file that is not a readable checkpoint
    (truncated, corrupt, another format) or lacks keys raises ``ValueError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError:
        raise
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        reason = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
        if isinstance(error, pickle.UnpicklingError):  # not torch's advice to load unsafely
            reason = "it is not a file torch.save wrote, or holds objects besides tensors"
        raise ValueError(
            f"{path} is not a valid course checkpoint: torch.load could not read it, so it is "
            f"truncated, corrupt or in another format ({reason})"
        ) from error
    if not isinstance(checkpoint, dict):
        raise ValueError(
            f"{path} is not a valid course checkpoint: expected a dict, got "
            f"{type(checkpoint).__name__}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise ValueError(
            f"{path} is not a valid course checkpoint: missing keys {missing} "
            "(write checkpoints with helpers.translation.checkpoint.save_checkpoint)"
        )
    return checkpoint


def restore_training(
    checkpoint: dict,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scaler: torch.amp.GradScaler | None = None,
    restore_rng: bool = True,
) -> int:
    """Load a checkpoint's states into freshly built objects; returns the step it was saved at.

    Build the model, optimizer (``lr=1.0`` for ``inverse_sqrt_schedule``), scheduler and
    scaler as for a new run, then call this: continuing from the returned step gives the same
    weights as a run that never stopped. ``restore_rng`` also restores the torch (CPU and each
    CUDA device present), Python and NumPy generators, which decide dropout and shuffling.
    """
    _unwrap(model).load_state_dict(checkpoint["model"])
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if target is None:
            continue
        if checkpoint[name] is None:
            raise ValueError(
                f"this checkpoint holds no {name} state (it was saved without {name}=); "
                f"pass {name}=None to restore_training"
            )
        target.load_state_dict(checkpoint[name])
    if restore_rng:
        _set_rng_state(checkpoint["rng"])
    return int(checkpoint["step"])


def average_checkpoints(paths: Sequence[str | os.PathLike]) -> dict:
    """A model state_dict whose floating-point tensors are the mean over the checkpoints at
    ``paths`` (e.g. the last few of a run, which often translates better than any one of
    them); integer tensors (counters) are taken from the last checkpoint.

    Load it with ``model.load_state_dict(...)``.
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint path; got none")
    first_checkpoint = load_checkpoint(paths[0])
    first = first_checkpoint["model"]
    dtypes = {key: value.dtype for key, value in first.items()}
    total = {
        key: value.double() if value.is_floating_point() else value for key, value in first.items()
    }
    for path in paths[1:]:
        checkpoint = load_checkpoint(path)
        if checkpoint["tokenizers"] != first_checkpoint["tokenizers"]:
            raise ValueError(
                f"{path} and {paths[0]} have different tokenizers: they are not checkpoints of "
                "one run, and averaging their weights would mix unrelated vocabularies"
            )
        state = checkpoint["model"]
        if set(state) != set(total):
            raise ValueError(
                f"{path} has different model keys from {paths[0]}: "
                f"{sorted(set(total) ^ set(state))}"
            )
        for key, value in state.items():
            if value.shape != total[key].shape:
                raise ValueError(
                    f"{key} has shape {tuple(value.shape)} in {path} but "
                    f"{tuple(total[key].shape)} in {paths[0]}"
                )
            total[key] = total[key] + value.double() if value.is_floating_point() else value
    return {
        key: (value / len(paths)).to(dtypes[key]) if value.is_floating_point() else value
        for key, value in total.items()
    }


@dataclass(frozen=True)
class Translator:
    """A trained translation model with what it needs to translate, from ``load_translator``."""

    model: Seq2SeqTransformer  # in eval mode
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    config: TrainConfig  # the run that trained it
    step: int  # optimizer updates it was trained for
    metrics: dict  # the scores saved with it, e.g. the last validation BLEU


def load_translator(path: str | os.PathLike, device: torch.device | str = "cpu") -> Translator:
    """The translator saved at ``path`` (``last.pt``, ``best.pt`` or a model-only copy), its
    model in eval mode on ``device``.

    A missing file is a ``FileNotFoundError``; a file that is not a translator checkpoint
    (corrupt, another format, another model) is a ``ValueError`` that says why.
    """
    checkpoint = load_checkpoint(path)
    try:
        config = TrainConfig.from_dict(checkpoint["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} holds no valid training configuration: {error}") from None
    states = checkpoint["tokenizers"]
    if not isinstance(states, dict) or set(states) != {"src", "tgt"}:
        raise ValueError(
            f"{path} is not a translator checkpoint: it holds tokenizers "
            f"{sorted(states) if isinstance(states, dict) else states!r}, not 'src' and 'tgt'"
        )
    src, tgt = tokenizer_from_state(states["src"]), tokenizer_from_state(states["tgt"])
    model = build_model(config, len(src), len(tgt), src.pad_id)
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ValueError(
            f"{path}: its weights do not fit the model its configuration describes ({reason})"
        ) from None
    return Translator(
        model.to(device).eval(), src, tgt, config, int(checkpoint["step"]), checkpoint["metrics"]
    )


def save_translator(translator: Translator, path: str | os.PathLike) -> None:
    """Write ``translator`` as a model-only checkpoint (weights, configuration, tokenizers,
    step, metrics; no optimizer state), which ``load_translator`` reads back."""
    save_checkpoint(
        path,
        model=translator.model,
        step=translator.step,
        config=asdict(translator.config),
        tokenizers={
            "src": translator.src_tokenizer.to_state(),
            "tgt": translator.tgt_tokenizer.to_state(),
        },
        metrics=translator.metrics,
    )
