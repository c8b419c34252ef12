"""The key-value cache: greedy decoding with and without it, against the number of tokens.

    python -m benchmarks.kv_cache                       (the shipped toy-en-de translator)
    python -m benchmarks.kv_cache --lengths 16 64 128 --batch 32 --device cuda

Both runs use `helpers.decoding.greedy_decode` on the same sentences of the toy-en-de test
split and the same model, the shipped checkpoint `data/checkpoints/toy-en-de.pt` (D = 128,
4 heads, 2 + 2 layers): once as it is (the decoder runs on the newest token and reuses the
cached keys and values) and once through `helpers.efficient_attention.WithoutCache` (the
decoder re-runs the whole prefix at every step). So that every row decodes exactly the
number of tokens asked for, the end-of-sentence id is replaced by one the model never
produces. It prints the median time of each and the speed-up, uncached / cached, the
cache's size, and checks that both produce the same tokens.

Goal (issue 15): a speed-up of at least 3× at 64 generated tokens on a CPU.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import torch

from benchmarks.timing import median_time, parse_and_pick_device
from helpers.decoding import greedy_decode
from helpers.efficient_attention import WithoutCache
from helpers.translation.checkpoint import load_translator
from helpers.translation.data import load_dataset

CHECKPOINT = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "toy-en-de.pt"
GOAL = (64, 3.0)  # at 64 generated tokens, at least 3x
NEVER = -1  # an end-of-sentence id no model produces: every row runs max_len steps


def source_batch(translator, n: int, device: torch.device) -> torch.Tensor:
    """The first n test sentences as a right-padded (n, S) batch of ids, eos included."""
    tokenizer = translator.src_tokenizer
    rows = [
        tokenizer.encode(example.src) + [tokenizer.eos_id]
        for example in load_dataset("toy-en-de", "test")[:n]
    ]
    src = torch.full((len(rows), max(map(len, rows))), tokenizer.pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        src[i, : len(row)] = torch.tensor(row)
    return src.to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--batch", type=int, default=16, help="sentences decoded together")
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    args, device = parse_and_pick_device(parser, repeats=3)
    translator = load_translator(args.checkpoint, device)
    model = translator.model
    src = source_batch(translator, args.batch, device)
    ids = {"bos_id": translator.tgt_tokenizer.bos_id, "eos_id": NEVER}
    ids["pad_id"] = translator.tgt_tokenizer.pad_id
    print(f"{args.checkpoint.name}: B={src.shape[0]} S={src.shape[1]}, greedy, float32")
    header = (
        f"{'tokens':>6} {'cached ms':>10} {'uncached ms':>12} {'speed-up':>9} {'cache KiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for n in args.lengths:
        cached = partial(greedy_decode, model, src, max_len=n, **ids)
        uncached = partial(greedy_decode, WithoutCache(model), src, max_len=n, **ids)
        if cached() != uncached():
            raise AssertionError(f"cached and uncached decoding differ at {n} tokens")
        ms_cached = 1e3 * median_time(cached, device, args.repeats)
        ms_uncached = 1e3 * median_time(uncached, device, args.repeats)
        cache = model.new_cache()  # the size after n steps: fill one and measure it
        tgt = torch.full((src.shape[0], n), ids["bos_id"], device=device)
        with torch.inference_mode():
            model.decode(tgt, model.encode(src), model.real_tokens(src), cache=cache)
        print(
            f"{n:>6} {ms_cached:>10.1f} {ms_uncached:>12.1f} {ms_uncached / ms_cached:>8.2f}x "
            f"{cache.nbytes / 1024:>10.0f}"
        )
    print(f"goal: speed-up >= {GOAL[1]}x at {GOAL[0]} generated tokens")


if __name__ == "__main__":
    main()
