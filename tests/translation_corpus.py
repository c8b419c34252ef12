"""A tiny parallel corpus for the training tests: the target is the source reversed."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = "the a man woman dog cat sees has seen park in big small old new red".split()


def write_reversal_corpus(directory: Path, sizes: dict[str, int] | None = None) -> Path:
    """``directory/train.tsv`` and ``valid.tsv`` of random word strings and their reversals."""
    rng = random.Random(0)
    for split, size in (sizes or {"train": 300, "valid": 20}).items():
        lines = []
        for _ in range(size):
            words = [rng.choice(WORDS) for _ in range(rng.randint(2, 9))]
            lines.append(f"{' '.join(words)}\t{' '.join(reversed(words))}")
        (directory / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
