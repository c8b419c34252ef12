"""helpers.translation.checkpoint: a resumed run equals an uninterrupted one bit for bit; saves
are atomic; loading is weights_only and rejects corrupt files; a NaN stops training before any
save; a translator loads as a named Translator; checkpoints of one run average."""

# The global generators are what a checkpoint must save, so these tests use NumPy's legacy one.
# ruff: noqa: NPY002

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers.training import inverse_sqrt_schedule, label_smoothed_cross_entropy
from helpers.transformer import Seq2SeqTransformer
from helpers.translation import checkpoint as checkpoint_module
from helpers.translation.checkpoint import (
    Translator,
    average_checkpoints,
    load_checkpoint,
    load_translator,
    restore_training,
    save_checkpoint,
    save_translator,
)
from helpers.translation.config import build_model, config_from
from helpers.translation.precision import MixedPrecision, NonFiniteLossError, check_finite
from helpers.translation.tokenization import WordVocab

CONFIG = {"d_model": 16, "nhead": 2, "dropout": 0.2, "warmup_steps": 3, "vocab": 12}
TOKENIZERS = {"src": {"kind": "word", "pieces": ["<pad>", "<bos>"], "model": b"\x00\x01"}}


def _fresh(seed: int):
    """Model, optimizer, scheduler and scaler as a training script builds them."""
    torch.manual_seed(seed)
    model = Seq2SeqTransformer(
        CONFIG["vocab"], CONFIG["vocab"], d_model=CONFIG["d_model"], nhead=CONFIG["nhead"],
        num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
        dropout=CONFIG["dropout"], pad_id=0,
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = inverse_sqrt_schedule(
        optimizer, d_model=CONFIG["d_model"], warmup_steps=CONFIG["warmup_steps"], factor=2.0
    )
    return model, optimizer, scheduler, MixedPrecision("cpu").scaler


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic batch for each step: reverse random digit strings, with padding."""
    generator = torch.Generator().manual_seed(1000 + step)
    src = torch.randint(4, CONFIG["vocab"], (4, 6), generator=generator)
    src[1, 4:] = 0
    tgt = torch.cat([torch.ones(4, 1, dtype=torch.long), src.flip(1), torch.zeros(4, 1)], 1).long()
    return src, tgt


def _train(model, optimizer, scheduler, scaler, start: int, stop: int) -> None:
    """Training steps start+1 .. stop; dropout draws from torch's global generator."""
    model.train()
    for step in range(start + 1, stop + 1):
        src, tgt = _batch(step)
        loss = label_smoothed_cross_entropy(model(src, tgt[:, :-1]), tgt[:, 1:])
        check_finite(loss, step)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    N = 3
    straight = _fresh(seed=0)
    _train(*straight, 0, 2 * N)

    first = _fresh(seed=0)
    _train(*first, 0, N)
    path = tmp_path / "run" / "last.pt"
    path.parent.mkdir()
    model, optimizer, scheduler, scaler = first
    save_checkpoint(
        path, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, step=N,
        config=CONFIG, tokenizers=TOKENIZERS, metrics={"loss": 1.5},
    )  # fmt: skip
    torch.manual_seed(123)  # the new process's generators are elsewhere
    random.seed(123)
    np.random.seed(123)

    resumed = _fresh(seed=7)  # different initial weights: everything must come from the file
    checkpoint = load_checkpoint(path)
    step = restore_training(
        checkpoint, model=resumed[0], optimizer=resumed[1], scheduler=resumed[2],
        scaler=resumed[3],
    )  # fmt: skip
    assert step == N
    assert checkpoint["config"] == CONFIG and checkpoint["tokenizers"] == TOKENIZERS
    assert checkpoint["metrics"] == {"loss": 1.5}
    _train(*resumed, step, 2 * N)

    expected, got = straight[0].state_dict(), resumed[0].state_dict()
    assert all(torch.equal(expected[key], got[key]) for key in expected)
    assert resumed[1].param_groups[0]["lr"] == straight[1].param_groups[0]["lr"]


def test_resuming_without_the_rng_state_changes_the_dropout(tmp_path):
    straight = _fresh(seed=0)
    _train(*straight, 0, 4)
    first = _fresh(seed=0)
    _train(*first, 0, 2)
    save_checkpoint(tmp_path / "c.pt", model=first[0], optimizer=first[1],
                    scheduler=first[2], step=2, config=CONFIG)  # fmt: skip
    resumed = _fresh(seed=0)
    restore_training(load_checkpoint(tmp_path / "c.pt"), model=resumed[0], optimizer=resumed[1],
                     scheduler=resumed[2], restore_rng=False)  # fmt: skip
    _train(*resumed, 2, 4)
    assert not torch.equal(straight[0].generator.weight, resumed[0].generator.weight)


def test_restore_brings_back_every_random_generator(tmp_path):
    save_checkpoint(tmp_path / "c.pt", model=torch.nn.Linear(2, 2), step=0, config={})
    draws = (torch.rand(3).tolist(), random.random(), np.random.rand(3).tolist(), np.random.randn())
    torch.manual_seed(5)
    random.seed(5)
    np.random.seed(5)
    restore_training(load_checkpoint(tmp_path / "c.pt"), model=torch.nn.Linear(2, 2))
    again = (torch.rand(3).tolist(), random.random(), np.random.rand(3).tolist(), np.random.randn())
    assert again == draws


def test_compiled_and_wrapped_models_save_plain_keys(tmp_path):
    model = _fresh(seed=0)[0]

    class Wrapper(torch.nn.Module):  # what DistributedDataParallel and torch.compile look like
        def __init__(self, inner):
            super().__init__()
            self.module = inner

    save_checkpoint(tmp_path / "c.pt", model=Wrapper(model), step=0, config={})
    keys = set(load_checkpoint(tmp_path / "c.pt")["model"])
    assert keys == set(model.state_dict())


def test_a_failed_save_leaves_the_previous_file_and_no_temporary_file(tmp_path, monkeypatch):
    model = _fresh(seed=0)[0]
    path = tmp_path / "last.pt"
    save_checkpoint(path, model=model, step=1, config=CONFIG)
    before = path.read_bytes()

    def crash(obj, file):
        file.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", crash)
    with torch.no_grad():
        model.generator.weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model=model, step=2, config=CONFIG)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1


def test_missing_corrupt_and_foreign_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file at .*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")

    path = tmp_path / "c.pt"
    save_checkpoint(path, model=_fresh(seed=0)[0], step=0, config={})
    data = path.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.pt is not a valid course checkpoint"):
        load_checkpoint(truncated)
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="text.pt is not a valid course checkpoint"):
        load_checkpoint(text)

    bare = tmp_path / "bare.pt"
    torch.save({"model": {}, "step": 3}, bare)
    with pytest.raises(ValueError, match=r"missing keys \['optimizer', 'scheduler', 'scaler'"):
        load_checkpoint(bare)


def test_loading_runs_no_code_from_the_file(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran while loading",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, path)
    with pytest.raises(ValueError, match="not a valid course checkpoint"):
        load_checkpoint(path)


def test_save_refuses_values_weights_only_loading_would_reject(tmp_path):
    model = _fresh(seed=0)[0]
    with pytest.raises(ValueError, match=r"config\['when'\] must hold only .*got set"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=0, config={"when": {1, 2}})
    with pytest.raises(ValueError, match="step must be a non-negative int; got -1"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=-1, config={})
    assert not list(tmp_path.iterdir())


def test_restore_asks_for_state_that_was_not_saved(tmp_path):
    model, optimizer, _, _ = _fresh(seed=0)
    save_checkpoint(tmp_path / "c.pt", model=model, step=0, config={})
    with pytest.raises(ValueError, match="no optimizer state"):
        restore_training(load_checkpoint(tmp_path / "c.pt"), model=model, optimizer=optimizer)


def test_a_nan_loss_stops_before_the_checkpoint_is_overwritten(tmp_path):
    model, optimizer, scheduler, scaler = _fresh(seed=0)
    _train(model, optimizer, scheduler, scaler, 0, 2)
    path = tmp_path / "last.pt"
    save_checkpoint(path, model=model, optimizer=optimizer, step=2, config=CONFIG)
    before = path.read_bytes()
    with torch.no_grad():
        model.generator.bias[5] = float("nan")
    with pytest.raises(NonFiniteLossError, match="at step 3"):
        _train(model, optimizer, scheduler, scaler, 2, 3)
        save_checkpoint(path, model=model, optimizer=optimizer, step=3, config=CONFIG)
    assert path.read_bytes() == before
    restored = load_checkpoint(path)
    assert restored["step"] == 2 and torch.isfinite(restored["model"]["generator.bias"]).all()


def test_average_checkpoints_means_floats_and_keeps_the_last_integers(tmp_path):
    torch.manual_seed(0)
    paths, weights = [], []
    for i in range(3):
        model = torch.nn.BatchNorm1d(4)  # floats plus an integer counter
        with torch.no_grad():
            model.weight.fill_(float(i))
        model.num_batches_tracked.fill_(10 * i)
        weights.append(model.bias.detach().clone() + i)
        with torch.no_grad():
            model.bias.add_(i)
        paths.append(tmp_path / f"c{i}.pt")
        save_checkpoint(paths[-1], model=model, step=i, config={})
    average = average_checkpoints(paths)
    assert torch.allclose(average["weight"], torch.full((4,), 1.0))
    assert torch.allclose(average["bias"], torch.stack(weights).mean(0))
    assert average["num_batches_tracked"].item() == 20
    assert average["weight"].dtype == torch.float32
    torch.nn.BatchNorm1d(4).load_state_dict(average)

    save_checkpoint(tmp_path / "other.pt", model=torch.nn.Linear(4, 4), step=0, config={})
    with pytest.raises(ValueError, match="different model keys"):
        average_checkpoints([paths[0], tmp_path / "other.pt"])
    with pytest.raises(ValueError, match="at least one checkpoint"):
        average_checkpoints([])


def _translator(seed: int = 0) -> Translator:
    """A small untrained translator, as the training loop would save it."""
    config = config_from("tiny", d_model=16, dim_feedforward=32)
    src = WordVocab.build(["a dog runs .", "a cat sleeps ."])
    tgt = WordVocab.build(["ein Hund läuft .", "eine Katze schläft ."])
    torch.manual_seed(seed)
    model = build_model(config, len(src), len(tgt), src.pad_id)
    return Translator(model, src, tgt, config, step=7, metrics={"valid_bleu": 12.5})


def test_a_translator_saves_and_loads_as_a_named_object(tmp_path):
    translator = _translator()
    save_translator(translator, tmp_path / "model.pt")
    loaded = load_translator(tmp_path / "model.pt")
    assert isinstance(loaded, Translator) and not loaded.model.training
    assert (loaded.config, loaded.step, loaded.metrics) == (
        translator.config,
        7,
        translator.metrics,
    )
    assert loaded.src_tokenizer.to_state() == translator.src_tokenizer.to_state()
    assert len(loaded.tgt_tokenizer) == len(translator.tgt_tokenizer)
    for name, weight in translator.model.state_dict().items():
        assert torch.equal(weight, loaded.model.state_dict()[name]), name
    assert load_checkpoint(tmp_path / "model.pt")["optimizer"] is None  # model-only


def test_load_translator_refuses_checkpoints_that_hold_no_translator(tmp_path):
    save_checkpoint(tmp_path / "linear.pt", model=torch.nn.Linear(2, 2), step=0, config={})
    with pytest.raises(ValueError, match="linear.pt is not a translator checkpoint"):
        load_translator(tmp_path / "linear.pt")
    translator = _translator()
    save_translator(translator, tmp_path / "model.pt")
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    torch.save(
        {**checkpoint, "config": {**checkpoint["config"], "colour": "red"}}, tmp_path / "a.pt"
    )
    with pytest.raises(
        ValueError, match=r"no valid training configuration: unknown .*\['colour'\]"
    ):
        load_translator(tmp_path / "a.pt")
    torch.save({**checkpoint, "config": {**checkpoint["config"], "d_model": 32}}, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="b.pt: its weights do not fit the model"):
        load_translator(tmp_path / "b.pt")


def test_average_checkpoints_refuses_checkpoints_of_different_runs(tmp_path):
    translator = _translator()
    save_translator(translator, tmp_path / "a.pt")
    swapped = {
        "src": translator.tgt_tokenizer.to_state(),
        "tgt": translator.src_tokenizer.to_state(),
    }
    save_checkpoint(
        tmp_path / "b.pt", model=translator.model, step=0, config={}, tokenizers=swapped
    )
    with pytest.raises(ValueError, match="different tokenizers"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"])
