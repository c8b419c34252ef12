"""``python -m tools.toy_corpus --out data/toy-en-de`` writes the corpus;
``--stats DIR`` prints the statistics of the files in DIR. ``data/toy-en-de/README.md``
describes the files."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tools.toy_corpus.corpus import (
    DEFAULT_SEED,
    SPLITS,
    corpus_statistics,
    read_split,
    write_corpus,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.toy_corpus", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", type=Path, help="directory to write the corpus into")
    action.add_argument("--stats", type=Path, help="directory whose corpus files to describe")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.out is not None:
        start = time.perf_counter()
        paths = write_corpus(args.out, seed=args.seed)
        print(f"wrote {', '.join(paths)} to {args.out} in {time.perf_counter() - start:.0f} s")
    else:
        for name in SPLITS:
            stats = corpus_statistics(read_split(args.stats / f"{name}.tsv.gz"))
            print(name, json.dumps(stats, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
