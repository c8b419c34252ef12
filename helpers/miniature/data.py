"""The data of `09_beyond_translation`, vendored in ``data/`` and checked on load.

- ``load_tiny_shakespeare(split)``: Tiny Shakespeare (``data/tinyshakespeare/``), the first
  90 % of its characters for ``"train"``, the last 10 % for ``"valid"`` (nanoGPT's split);
  ``CharVocab`` turns it into ids, one per character.
- ``load_digits(split)``: the 8 × 8 handwritten digits (``data/digits/``) as images
  (N, 1, 8, 8) in [0, 1] and labels (N,); ``"test"`` is every fourth image (450), ``"train"``
  the other 1,347, a split that needs no random numbers.
- ``mlm_vocab`` and ``encode_sentences``: the English side of ``toy-en-de`` as padded rows of
  word ids, ``<bos>`` first (it plays BERT's [CLS]) and ``<eos>`` last, for the BERT.

Each file's SHA-256 is compared with the one its folder's ``SHA256SUMS`` records (for Tiny
Shakespeare, that of the decompressed text, which is the upstream file's).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import torch

from helpers._utils import check_positive_int
from helpers.translation.tokenization import WordVocab

__all__ = [
    "DATA_DIR",
    "MASK",
    "CharVocab",
    "encode_sentences",
    "load_digits",
    "load_tiny_shakespeare",
    "mlm_vocab",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MASK = "<mask>"  # BERT's [MASK], added after the words of the vocabulary
VALID_SHARE = 0.1  # Tiny Shakespeare: the last 10 % of the characters are the validation text
DIGIT_TEST_EVERY = 4  # digits: images 0, 4, 8, ... are the test set


def _recorded_sha256(folder: Path, name: str) -> str:
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, _, file = line.partition("  ")
        if file == name:
            return digest
    raise ValueError(f"{folder / 'SHA256SUMS'} records no checksum for {name}")


def _verified(data: bytes, folder: Path, name: str) -> bytes:
    expected = _recorded_sha256(folder, name)
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(
            f"{folder / name}: SHA-256 differs from the one SHA256SUMS records ({expected}); "
            "the file is damaged or was changed: restore it with git"
        )
    return data


def _check_split(split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ValueError(f"split must be one of {splits}; got {split!r}")


@cache
def _shakespeare() -> str:
    folder = DATA_DIR / "tinyshakespeare"
    data = gzip.decompress((folder / "input.txt.gz").read_bytes())
    return _verified(data, folder, "input.txt").decode("utf-8")


def load_tiny_shakespeare(split: str = "train") -> str:
    """The text of Tiny Shakespeare: ``"train"`` (first 90 %), ``"valid"`` (last 10 %) or
    ``"all"`` (1,115,394 characters)."""
    _check_split(split, ("train", "valid", "all"))
    text = _shakespeare()
    cut = int(len(text) * (1 - VALID_SHARE))  # as nanoGPT: 1,003,854 and 111,540 characters
    return {"train": text[:cut], "valid": text[cut:], "all": text}[split]


class CharVocab:
    """One id per character: ``encode("To be")`` -> ids, ``decode(ids)`` -> text.

    ``CharVocab.build(text)`` takes the characters of ``text`` in sorted order, so the ids do
    not depend on where the characters first occur. ``len(vocab)`` is V.
    """

    def __init__(self, chars: Sequence[str]) -> None:
        chars = list(chars)
        if any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError("a CharVocab needs distinct single characters")
        self.chars = chars
        self._ids = {c: i for i, c in enumerate(chars)}

    @classmethod
    def build(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(V={len(self)})"

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self._ids.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown}")
        return [self._ids[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)


@cache
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    folder = DATA_DIR / "digits"
    data = _verified((folder / "digits.csv.gz").read_bytes(), folder, "digits.csv.gz")
    rows = [line.split(",") for line in gzip.decompress(data).decode("ascii").splitlines()]
    values = torch.tensor([[int(v) for v in row] for row in rows])  # (1797, 65)
    images = values[:, :64].reshape(-1, 1, 8, 8).float() / 16.0  # pixels 0..16 -> [0, 1]
    return images, values[:, 64]


def load_digits(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 8, 8) float in [0, 1] and labels (N,) int64 of the 8 × 8 digits.

    ``"test"``: every fourth image (0, 4, 8, ...), 450 of them; ``"train"``: the other 1,347;
    ``"all"``: 1,797.
    """
    _check_split(split, ("train", "test", "all"))
    images, labels = _digits()
    index = torch.arange(len(labels))
    keep = {
        "train": index % DIGIT_TEST_EVERY != 0,
        "test": index % DIGIT_TEST_EVERY == 0,
        "all": torch.ones_like(index, dtype=torch.bool),
    }[split]
    return images[keep].clone(), labels[keep].clone()


def mlm_vocab(texts: Iterable[str]) -> WordVocab:
    """A ``WordVocab`` of ``texts`` with ``MASK`` added as its last token (id V - 1)."""
    words = WordVocab.build(texts)
    return WordVocab([*(words.id_to_token(i) for i in range(len(words))), MASK])


def encode_sentences(vocab: WordVocab, texts: Sequence[str], max_len: int) -> torch.Tensor:
    """Texts -> (N, max_len) ids: ``<bos>`` words ``<eos>``, padded with ``<pad>``.

    A sentence longer than ``max_len - 2`` words raises a ValueError.
    """
    check_positive_int("max_len", max_len)
    ids = torch.full((len(texts), max_len), vocab.pad_id, dtype=torch.long)
    for row, text in enumerate(texts):
        tokens = [vocab.bos_id, *vocab.encode(text), vocab.eos_id]
        if len(tokens) > max_len:
            raise ValueError(f"{text!r} needs {len(tokens)} tokens; max_len is {max_len}")
        ids[row, : len(tokens)] = torch.tensor(tokens)
    return ids
