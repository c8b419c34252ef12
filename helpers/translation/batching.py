"""Translation pairs as token ids, and batches that waste little padding; used in
`05_training_translation`.

A batch is padded to its longest sequence, so its cost
is (number of sequences) × (longest length): the padded tokens the model computes on. Random
batches mix short and long sentences and pad a lot; ``TokenBatchSampler`` sorts examples of
similar length together (within shuffled chunks, to keep the order random) and fills every
batch up to a token budget instead of a fixed number of sentences.

Shapes: B batch, S source length, T target length (the tokens the decoder reads and predicts).
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import torch
from torch.nn.utils.rnn import pad_sequence

from helpers._utils import check_positive_int
from helpers.attention import padding_mask
from helpers.translation.data import Example
from helpers.translation.tokenization import Tokenizer

__all__ = [
    "PaddingWaste",
    "TokenBatchSampler",
    "TranslationBatch",
    "TranslationDataset",
    "collate",
    "encode_pairs",
    "padding_waste",
    "random_batches",
]

IdPair = tuple[list[int], list[int]]


def encode_pairs(
    examples: Iterable[Example],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    max_len: int | None = None,
) -> tuple[list[IdPair], int]:
    """Encode ``.src``/``.tgt`` strings as ``(src ids + [EOS], [BOS] + tgt ids + [EOS])``.

    Returns ``(pairs, num_dropped)``: with ``max_len``, a pair is dropped when either side,
    special tokens included, has more than ``max_len`` ids.
    """
    if max_len is not None and (not isinstance(max_len, int) or max_len < 2):
        raise ValueError(f"max_len must be None or an integer >= 2 (BOS + EOS); got {max_len!r}")
    pairs, num_dropped = [], 0
    for example in examples:
        src = [*src_tokenizer.encode(example.src), src_tokenizer.eos_id]
        tgt = [tgt_tokenizer.bos_id, *tgt_tokenizer.encode(example.tgt), tgt_tokenizer.eos_id]
        if max_len is not None and max(len(src), len(tgt)) > max_len:
            num_dropped += 1
        else:
            pairs.append((src, tgt))
    return pairs, num_dropped


class TranslationDataset(torch.utils.data.Dataset):
    """Id pairs from ``encode_pairs`` as LongTensors: ``dataset[i] -> (src (S,), tgt (T + 1,))``.

    ``src`` ends with EOS; ``tgt`` runs BOS ... EOS, one longer than the T tokens the decoder
    reads. ``src_lengths[i] = S`` and ``tgt_lengths[i] = T`` are example i's real tokens on
    each side (what ``padding_waste`` counts); ``lengths[i] = max(S, T)`` is its cost for
    ``TokenBatchSampler``.
    """

    def __init__(self, pairs: Sequence[IdPair]) -> None:
        for i, pair in enumerate(pairs):
            if not (
                isinstance(pair, (tuple, list))
                and len(pair) == 2
                and all(isinstance(side, (tuple, list)) for side in pair)
                and len(pair[0]) >= 1
                and len(pair[1]) >= 2
            ):
                raise ValueError(
                    "pairs must be (src ids, tgt ids) with at least 1 source id (EOS) and 2 "
                    "target ids (BOS, EOS), like the first value encode_pairs returns; got "
                    f"{reprlib.repr(pair)} at index {i}"
                )
        self.pairs = [(torch.tensor(src), torch.tensor(tgt)) for src, tgt in pairs]
        self.src_lengths = [len(src) for src, _ in pairs]
        self.tgt_lengths = [len(tgt) - 1 for _, tgt in pairs]
        self.lengths = [max(s, t) for s, t in zip(self.src_lengths, self.tgt_lengths, strict=True)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pairs[i]


class TokenBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of dataset indices whose padded size (count × longest length) ≤ ``max_tokens``.

    With ``shuffle`` (training): shuffle the indices with seed + epoch, cut them into chunks
    of about ``bucket_size`` batches (``bucket_size`` × the number of average-length examples
    that fit the budget), sort each chunk by length, pack each greedily into batches, and
    shuffle the batch order. ``set_epoch`` gives a new, reproducible order. Without
    ``shuffle`` (evaluation): all indices sorted by length, packed, in that order.

    Distributed: every rank builds the same global batch list and takes every
    ``num_replicas``-th batch from ``rank`` on. The last ``len(batches) % num_replicas``
    batches are dropped, so all ranks run the same number of steps and DDP never waits for a
    rank that has finished; for evaluation that must see every example, use one replica.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size: int = 100,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.lengths = _checked_lengths(lengths, max_tokens)
        check_positive_int("bucket_size", bucket_size)
        check_positive_int("num_replicas", num_replicas)
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"rank must lie in [0, num_replicas={num_replicas}); got {rank!r}")
        self.max_tokens = max_tokens
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        examples_per_batch = max(1, max_tokens * len(self.lengths) // sum(self.lengths))
        self.chunk_size = bucket_size * examples_per_batch
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch``; call it before every epoch, on every rank."""
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        """This epoch's batches for all ranks together, in the order they are handed out."""
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self._build())
        return self._cache[1]

    def _build(self) -> list[list[int]]:
        by_length = self.lengths.__getitem__
        if not self.shuffle:
            return _pack(
                sorted(range(len(self.lengths)), key=by_length), self.lengths, self.max_tokens
            )
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        batches = []
        for start in range(0, len(order), self.chunk_size):
            chunk = sorted(order[start : start + self.chunk_size], key=by_length)
            batches += _pack(chunk, self.lengths, self.max_tokens)
        return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.global_batches()
        end = len(self) * self.num_replicas
        return iter(batches[self.rank : end : self.num_replicas])

    def __len__(self) -> int:
        return len(self.global_batches()) // self.num_replicas


def random_batches(lengths: Sequence[int], max_tokens: int, *, seed: int = 0) -> list[list[int]]:
    """Baseline for ``TokenBatchSampler``: indices in random order, packed under the same budget."""
    lengths = _checked_lengths(lengths, max_tokens)
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed))
    return _pack(order.tolist(), lengths, max_tokens)


class PaddingWaste(NamedTuple):
    """Shares of padded positions (0 = none): in the source batches, the target batches, both."""

    src: float
    tgt: float
    both: float  # of all positions the encoder and decoder compute on together

    def __str__(self) -> str:
        return f"source {self.src:.1%}, target {self.tgt:.1%}, both {self.both:.1%}"


def padding_waste(
    batches: Iterable[Sequence[int]], src_lengths: Sequence[int], tgt_lengths: Sequence[int]
) -> PaddingWaste:
    """The share of padded positions in ``batches`` of example indices, side by side.

    A batch pads its sources to the longest source (B × S_max positions) and its targets to
    the longest target (B × T_max); each side's real tokens are counted with its own lengths
    (``TranslationDataset.src_lengths`` and ``tgt_lengths``), never with max(S, T).
    """
    real, padded = [0, 0], [0, 0]
    for batch in batches:
        if len(batch):
            for side, lengths in enumerate((src_lengths, tgt_lengths)):
                real[side] += sum(lengths[i] for i in batch)
                padded[side] += len(batch) * max(lengths[i] for i in batch)
    if padded[0] == 0:
        raise ValueError("padding_waste needs at least one non-empty batch; got none")
    src, tgt = (1 - r / p for r, p in zip(real, padded, strict=True))
    return PaddingWaste(src, tgt, 1 - sum(real) / sum(padded))


class TranslationBatch(NamedTuple):
    """A padded batch; ``src_real``/``tgt_real`` are True for real tokens, False for padding.

    ``tgt_in`` is each target without its last token (starts with BOS), ``tgt_out`` the same
    target without BOS (ends with EOS): position t of ``tgt_in`` predicts position t of
    ``tgt_out``.
    """

    src: torch.Tensor  # (B, S)
    tgt_in: torch.Tensor  # (B, T)
    tgt_out: torch.Tensor  # (B, T)
    src_real: torch.Tensor  # (B, S)
    tgt_real: torch.Tensor  # (B, T), for tgt_in and tgt_out alike
    num_tgt_tokens: int  # real (non-padding) tokens in tgt_out: the loss is averaged over them

    def to(self, device: torch.device | str, non_blocking: bool = False) -> TranslationBatch:
        """The same batch with every tensor on ``device``.

        With ``non_blocking`` and a CUDA ``device``, the tensors are first copied to pinned
        (page-locked) memory, so the copy runs in the background and the host does not wait
        for the GPU's queue to drain: no host-device sync per batch.
        """
        tensors = self[:-1]
        if non_blocking and torch.device(device).type == "cuda":
            tensors = (t.pin_memory() for t in tensors)
        moved = (t.to(device, non_blocking=non_blocking) for t in tensors)
        return TranslationBatch(*moved, self.num_tgt_tokens)


def collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_id: int) -> TranslationBatch:
    """Pad ``TranslationDataset`` items into a ``TranslationBatch``; src (B, S), tgt_* (B, T)."""
    if not batch:
        raise ValueError("collate needs at least one (src, tgt) pair; got an empty batch")
    src = [torch.as_tensor(s, dtype=torch.long) for s, _ in batch]
    tgt = [torch.as_tensor(t, dtype=torch.long) for _, t in batch]
    if any(t.ndim != 1 or len(t) < 2 for t in tgt):
        raise ValueError(
            "each target must be 1-D with BOS ... EOS, at least 2 ids; got shapes "
            f"{[tuple(t.shape) for t in tgt]}"
        )
    src_lengths = torch.tensor([len(s) for s in src])
    tgt_lengths = torch.tensor([len(t) - 1 for t in tgt])
    return TranslationBatch(
        src=pad_sequence(src, batch_first=True, padding_value=pad_id),
        tgt_in=pad_sequence([t[:-1] for t in tgt], batch_first=True, padding_value=pad_id),
        tgt_out=pad_sequence([t[1:] for t in tgt], batch_first=True, padding_value=pad_id),
        src_real=padding_mask(src_lengths)[:, 0],
        tgt_real=padding_mask(tgt_lengths)[:, 0],
        num_tgt_tokens=int(tgt_lengths.sum()),
    )


def _checked_lengths(lengths: Sequence[int], max_tokens: int) -> list[int]:
    check_positive_int("max_tokens", max_tokens)
    lengths = [int(n) for n in lengths]
    if not lengths:
        raise ValueError("lengths must hold one length per example; got none")
    if min(lengths) < 1:
        raise ValueError(f"every length must be >= 1; got {min(lengths)}")
    longest = max(lengths)
    if longest > max_tokens:
        raise ValueError(
            f"example {lengths.index(longest)} has length {longest}, more than "
            f"max_tokens={max_tokens}: no batch could hold it; raise max_tokens or drop it "
            "(encode_pairs(..., max_len=...))"
        )
    return lengths


def _pack(order: Sequence[int], lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Cut ``order`` into consecutive batches, each as long as count × longest ≤ max_tokens."""
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = 0
    for i in order:
        if batch and (len(batch) + 1) * max(longest, lengths[i]) > max_tokens:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, lengths[i])
    batches.append(batch)
    return batches
