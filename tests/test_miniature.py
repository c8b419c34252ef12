"""helpers.miniature: the vendored data of notebook 09 loads, splits and is checksum-verified;
the GPU presets build and train a step on the CPU at a tiny size, so that they cannot rot."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import pytest
import torch
import torch.nn.functional as F

from helpers.miniature import data
from helpers.miniature.data import (
    MASK,
    CharVocab,
    encode_sentences,
    load_digits,
    load_tiny_shakespeare,
    mlm_vocab,
)
from helpers.miniature.presets import PRESETS, build
from helpers.model_families import BERT, GPT, VisionTransformer


def test_tiny_shakespeare_is_the_upstream_text_split_90_10():
    text = load_tiny_shakespeare("all")
    assert len(text) == 1_115_394 and text.startswith("First Citizen:\n")
    train, valid = load_tiny_shakespeare("train"), load_tiny_shakespeare("valid")
    assert train + valid == text and (len(train), len(valid)) == (1_003_854, 111_540)
    with pytest.raises(ValueError, match="split"):
        load_tiny_shakespeare("test")


def test_char_vocab_round_trips_and_names_unknown_characters():
    vocab = CharVocab.build(load_tiny_shakespeare("all"))
    assert len(vocab) == 65 and vocab.chars[:2] == ["\n", " "]
    line = "To be, or not to be: that is the question."
    assert vocab.decode(vocab.encode(line)) == line
    with pytest.raises(ValueError, match="é"):
        vocab.encode("café")
    with pytest.raises(ValueError, match="distinct"):
        CharVocab(["a", "a"])


def test_digits_split_into_1347_train_and_450_test_images():
    train_x, train_y = load_digits("train")
    test_x, test_y = load_digits("test")
    all_x, all_y = load_digits("all")
    assert train_x.shape == (1347, 1, 8, 8) and test_x.shape == (450, 1, 8, 8)
    assert torch.equal(test_x, all_x[::4]) and torch.equal(test_y, all_y[::4])
    assert 0.0 <= float(all_x.min()) and float(all_x.max()) == 1.0
    assert sorted(all_y.unique().tolist()) == list(range(10))
    assert train_y.dtype == torch.int64
    assert all_y[:3].tolist() == [0, 1, 2]


def test_a_damaged_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "tinyshakespeare"
    folder.mkdir()
    shutil.copy(data.DATA_DIR / "tinyshakespeare" / "SHA256SUMS", folder)
    (folder / "input.txt.gz").write_bytes(gzip.compress(b"Not Shakespeare.\n"))
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    data._shakespeare.cache_clear()
    try:
        with pytest.raises(ValueError, match="SHA-256"):
            load_tiny_shakespeare()
    finally:
        data._shakespeare.cache_clear()


def test_the_recorded_checksums_are_those_of_the_files():
    for folder, name, read in [
        (
            "tinyshakespeare",
            "input.txt",
            lambda p: gzip.decompress((p / "input.txt.gz").read_bytes()),
        ),
        ("digits", "digits.csv.gz", lambda p: (p / "digits.csv.gz").read_bytes()),
        ("digits", "digits.rst", lambda p: (p / "digits.rst").read_bytes()),
    ]:
        path = data.DATA_DIR / folder
        assert hashlib.sha256(read(path)).hexdigest() == data._recorded_sha256(path, name)


def test_mlm_vocab_adds_the_mask_token_last_and_sentences_encode_padded():
    vocab = mlm_vocab(["The dog sleeps.", "The cat sees the dog."])
    assert vocab.id_to_token(len(vocab) - 1) == MASK
    ids = encode_sentences(vocab, ["The dog sleeps.", "The cat sees the dog."], 9)
    assert ids.shape == (2, 9)
    assert ids[0].tolist()[:6] == [vocab.bos_id, *vocab.encode("The dog sleeps."), vocab.eos_id]
    assert (ids[0, 6:] == vocab.pad_id).all()
    with pytest.raises(ValueError, match="max_len"):
        encode_sentences(vocab, ["The cat sees the dog."], 5)


@pytest.mark.parametrize("family", ["gpt", "bert", "vit"])
def test_every_preset_builds_and_the_gpu_preset_trains_a_step_on_the_cpu(family):
    for kind in ("cpu", "gpu"):
        preset = PRESETS[kind][family]
        assert preset.steps > 0 and preset.batch_size > 0 and preset.lr > 0
    torch.manual_seed(0)
    model = build(family, "gpu", vocab_size=70)
    assert isinstance(model, {"gpt": GPT, "bert": BERT, "vit": VisionTransformer}[family])
    if family == "vit":
        inputs, logits_of = torch.rand(2, 1, 8, 8), model
        target = torch.tensor([3, 7])
    else:
        inputs = torch.randint(1, 70, (2, 12))
        logits_of = lambda x: model(x).flatten(0, 1)  # noqa: E731 - (B·T, V)
        target = inputs.flatten()
    loss = F.cross_entropy(logits_of(inputs), target)
    loss.backward()
    assert torch.isfinite(loss) and model.blocks.layers[0].self_attn.w_q.weight.grad is not None
