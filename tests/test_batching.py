"""helpers.translation.batching: id pairs, token-budget batches (also across replicas) and padded batches."""

from __future__ import annotations

import functools
from collections import Counter
from typing import NamedTuple

import pytest
import torch

from helpers.translation.batching import (
    TokenBatchSampler,
    TranslationBatch,
    TranslationDataset,
    collate,
    encode_pairs,
    padding_waste,
    random_batches,
)
from helpers.translation.tokenization import WordVocab

MAX_TOKENS = 400


class Example(NamedTuple):
    src: str
    tgt: str


EXAMPLES = [
    Example("Ein Hund läuft.", "A dog runs."),
    Example("Zwei Männer spielen Fußball im Park.", "Two men play football in the park."),
    Example("Eine Frau.", "A woman."),
    Example("Ein Kind schläft, und ein Hund bellt laut im Garten.", "A child sleeps."),
]


@pytest.fixture(scope="module")
def lengths() -> list[int]:
    """A realistic spread of sentence lengths: 4 to 40 tokens."""
    return torch.randint(4, 41, (2000,), generator=torch.Generator().manual_seed(0)).tolist()


def check_budget(batches: list[list[int]], lengths: list[int], max_tokens: int) -> None:
    for batch in batches:
        assert batch, "empty batch"
        cost = len(batch) * max(lengths[i] for i in batch)
        assert cost <= max_tokens, f"batch of {len(batch)} × {max(lengths[i] for i in batch)}"


def test_encode_pairs_adds_eos_to_sources_and_bos_eos_to_targets():
    src_vocab = WordVocab.build(e.src for e in EXAMPLES)
    tgt_vocab = WordVocab.build(e.tgt for e in EXAMPLES)
    pairs, dropped = encode_pairs(EXAMPLES, src_vocab, tgt_vocab)
    assert dropped == 0 and len(pairs) == len(EXAMPLES)
    for (src, tgt), example in zip(pairs, EXAMPLES, strict=True):
        assert src == [*src_vocab.encode(example.src), src_vocab.eos_id]
        assert tgt == [tgt_vocab.bos_id, *tgt_vocab.encode(example.tgt), tgt_vocab.eos_id]
        assert tgt_vocab.decode(tgt) == example.tgt
    kept, dropped = encode_pairs(EXAMPLES, src_vocab, tgt_vocab, max_len=8)
    expected = [p for p in pairs if max(len(p[0]), len(p[1])) <= 8]
    assert kept == expected and dropped == len(pairs) - len(expected) == 2
    with pytest.raises(ValueError, match="max_len"):
        encode_pairs(EXAMPLES, src_vocab, tgt_vocab, max_len=1)


def test_dataset_gives_long_tensors_and_the_lengths_a_batch_pads_to():
    pairs = [([5, 6, 2], [1, 7, 2]), ([5, 2], [1, 7, 8, 9, 2])]
    dataset = TranslationDataset(pairs)
    src, tgt = dataset[1]
    assert src.dtype == tgt.dtype == torch.long
    assert src.tolist() == [5, 2] and tgt.tolist() == [1, 7, 8, 9, 2]
    assert len(dataset) == 2 and dataset.lengths == [3, 4]  # max(S, T), T = len(tgt) - 1
    assert dataset.src_lengths == [3, 2] and dataset.tgt_lengths == [2, 4]
    with pytest.raises(ValueError, match="first value encode_pairs returns"):
        TranslationDataset((pairs, 0))  # the whole return value of encode_pairs
    with pytest.raises(ValueError, match="at index 0"):
        TranslationDataset([([2], [1])])


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_batch_fits_the_budget_and_every_index_comes_once(lengths, shuffle):
    sampler = TokenBatchSampler(lengths, MAX_TOKENS, shuffle=shuffle, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        check_budget(batches, lengths, MAX_TOKENS)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_same_seed_and_epoch_repeat_other_epochs_and_seeds_differ(lengths):
    first = TokenBatchSampler(lengths, MAX_TOKENS, seed=7)
    second = TokenBatchSampler(lengths, MAX_TOKENS, seed=7)
    epoch0 = list(first)
    assert list(second) == epoch0
    first.set_epoch(1)
    second.set_epoch(1)
    epoch1 = list(first)
    assert list(second) == epoch1 and epoch1 != epoch0
    first.set_epoch(0)
    assert list(first) == epoch0
    assert list(TokenBatchSampler(lengths, MAX_TOKENS, seed=8)) != epoch0


def test_without_shuffle_batches_run_in_length_order_every_epoch(lengths):
    sampler = TokenBatchSampler(lengths, MAX_TOKENS, shuffle=False)
    batches = list(sampler)
    flat = [lengths[i] for batch in batches for i in batch]
    assert flat == sorted(lengths)
    sampler.set_epoch(5)
    assert list(sampler) == batches


def test_shuffled_batches_are_sorted_within_and_mixed_across(lengths):
    batches = list(TokenBatchSampler(lengths, MAX_TOKENS, bucket_size=10))
    longest = [max(lengths[i] for i in batch) for batch in batches]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)

    def mean_spread(batches: list[list[int]]) -> float:
        spreads = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
        return sum(spreads) / len(spreads)

    baseline = mean_spread(random_batches(lengths, MAX_TOKENS))
    assert mean_spread(batches) < 0.2 * baseline  # a batch holds sentences of similar length


@pytest.mark.parametrize("num_replicas", [2, 3, 7])
def test_replicas_split_one_global_list_evenly_without_overlap(lengths, num_replicas):
    samplers = [
        TokenBatchSampler(lengths, MAX_TOKENS, seed=3, num_replicas=num_replicas, rank=rank)
        for rank in range(num_replicas)
    ]
    for sampler in samplers:
        sampler.set_epoch(2)
    per_rank = [list(sampler) for sampler in samplers]
    global_batches = TokenBatchSampler(lengths, MAX_TOKENS, seed=3)
    global_batches.set_epoch(2)
    everything = list(global_batches)
    steps = len(everything) // num_replicas
    assert [len(batches) for batches in per_rank] == [steps] * num_replicas
    assert [len(sampler) for sampler in samplers] == [steps] * num_replicas
    for rank, batches in enumerate(per_rank):
        assert batches == everything[rank : steps * num_replicas : num_replicas]
    seen = Counter(i for batches in per_rank for batch in batches for i in batch)
    assert max(seen.values()) == 1
    dropped = everything[steps * num_replicas :]
    assert len(seen) + sum(map(len, dropped)) == len(lengths)


def test_bucketed_batches_waste_much_less_padding_than_random_ones(lengths):
    bucketed = padding_waste(TokenBatchSampler(lengths, MAX_TOKENS, seed=0), lengths, lengths)
    baseline = padding_waste(random_batches(lengths, MAX_TOKENS, seed=0), lengths, lengths)
    assert bucketed.both < 0.5 * baseline.both, f"bucketed {bucketed} vs random {baseline}"


def test_random_batches_fit_the_budget_and_cover_every_index(lengths):
    batches = random_batches(lengths, MAX_TOKENS, seed=4)
    check_budget(batches, lengths, MAX_TOKENS)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert batches == random_batches(lengths, MAX_TOKENS, seed=4)


def test_padding_waste_counts_each_side_with_its_own_lengths():
    # sources of 2 and 4 tokens, targets of 3 and 1: one batch pads to 2 × 4 and 2 × 3
    waste = padding_waste([[0, 1]], [2, 4], [3, 1])
    assert waste.src == pytest.approx(2 / 8) and waste.tgt == pytest.approx(2 / 6)
    assert waste.both == pytest.approx(4 / 14)
    assert str(waste) == "source 25.0%, target 33.3%, both 28.6%"
    # max(S, T) counted as real, as before the fix, would have said 3 / 8 = 37.5 % of nothing
    assert padding_waste([[0], [1]], [2, 4], [3, 1]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="non-empty batch"):
        padding_waste([[]], [2, 4], [3, 1])


def test_padding_waste_of_a_batch_matches_its_padded_tensors():
    pairs = [([5, 6, 2], [1, 7, 2]), ([5, 2], [1, 7, 8, 9, 2]), ([4, 4, 4, 4, 2], [1, 2])]
    dataset = TranslationDataset(pairs)
    batch = collate([dataset[i] for i in range(3)], pad_id=0)
    waste = padding_waste([[0, 1, 2]], dataset.src_lengths, dataset.tgt_lengths)
    assert waste.src == pytest.approx(1 - float(batch.src_real.float().mean()))
    assert waste.tgt == pytest.approx(1 - batch.num_tgt_tokens / batch.tgt_out.numel())


def test_sampler_rejects_bad_arguments_clearly():
    with pytest.raises(ValueError, match=r"example 1 has length 50, more than max_tokens=40"):
        TokenBatchSampler([3, 50, 4], 40)
    with pytest.raises(ValueError, match="max_tokens must be a positive integer"):
        TokenBatchSampler([3, 4], 0)
    with pytest.raises(ValueError, match="got none"):
        TokenBatchSampler([], 10)
    with pytest.raises(ValueError, match=r"rank must lie in \[0, num_replicas=2\); got 2"):
        TokenBatchSampler([3, 4], 10, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="bucket_size"):
        TokenBatchSampler([3, 4], 10, bucket_size=0)


def test_collate_pads_and_shifts_the_target():
    pad = 9  # not 0, so padding with the wrong value would show
    items = [
        (torch.tensor([5, 6, 2]), torch.tensor([1, 7, 8, 2])),
        (torch.tensor([4, 2]), torch.tensor([1, 2])),
    ]
    batch = collate(items, pad)
    assert isinstance(batch, TranslationBatch)
    assert batch.src.tolist() == [[5, 6, 2], [4, 2, pad]]  # (B, S)
    assert batch.tgt_in.tolist() == [[1, 7, 8], [1, pad, pad]]  # (B, T): starts with BOS
    assert batch.tgt_out.tolist() == [[7, 8, 2], [2, pad, pad]]  # (B, T): ends with EOS
    assert batch.src_real.tolist() == [[True, True, True], [True, True, False]]
    assert batch.tgt_real.tolist() == [[True, True, True], [True, False, False]]
    assert batch.num_tgt_tokens == 4
    moved = batch.to("cpu")
    assert isinstance(moved, TranslationBatch) and moved.num_tgt_tokens == 4
    assert all(torch.equal(a, b) for a, b in zip(moved[:-1], batch[:-1], strict=True))
    with pytest.raises(ValueError, match="empty batch"):
        collate([], pad)
    with pytest.raises(ValueError, match="at least 2 ids"):
        collate([(torch.tensor([2]), torch.tensor([1]))], pad)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_with_the_sampler_and_collate(num_workers):
    generator = torch.Generator().manual_seed(5)
    pairs = []
    for _ in range(300):
        S, T = torch.randint(1, 30, (2,), generator=generator).tolist()
        src = [*torch.randint(4, 50, (S,), generator=generator).tolist(), 2]
        tgt = [1, *torch.randint(4, 50, (T,), generator=generator).tolist(), 2]
        pairs.append((src, tgt))
    dataset = TranslationDataset(pairs)
    sampler = TokenBatchSampler(dataset.lengths, 120, seed=2)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=functools.partial(collate, pad_id=0),
        num_workers=num_workers,
    )
    batches = list(loader)
    assert len(batches) == len(loader) == len(sampler)
    assert sum(len(batch.src) for batch in batches) == len(pairs)
    assert sum(b.num_tgt_tokens for b in batches) == sum(len(t) - 1 for _, t in pairs)
    for batch, indices in zip(batches, sampler, strict=True):
        assert batch.src.numel() <= 120 and batch.tgt_in.numel() <= 120
        for row, i in enumerate(indices):
            src, tgt = pairs[i]
            assert batch.src[row, : len(src)].tolist() == src
            assert batch.tgt_in[row, : len(tgt) - 1].tolist() == tgt[:-1]
