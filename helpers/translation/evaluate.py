"""Evaluate a trained translator: BLEU and chrF on a split; from `05_training_translation`.

    python -m helpers.translation.evaluate --checkpoint runs/toy/last.pt --split test --beam 4
    python -m helpers.translation.evaluate --checkpoint runs/toy/last.pt --split test --beam 4 \\
        --export data/toy-en-de/model.pt      # also write a small model-only copy

Scores are sacrebleu's corpus BLEU and chrF on detokenised output, printed with their
signatures so that they can be compared with published figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from helpers.device import pick_device
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.checkpoint import load_checkpoint, save_checkpoint
from helpers.translation.data import load_dataset
from helpers.translation.evaluation import Scores, evaluate_translation
from helpers.translation.loop import TrainConfig, build_model
from helpers.translation.tokenization import Tokenizer, tokenizer_from_state

__all__ = ["evaluate_checkpoint", "load_translator", "main"]


def load_translator(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[Seq2SeqTransformer, Tokenizer, Tokenizer, TrainConfig, dict]:
    """(model in eval mode, source tokenizer, target tokenizer, config, checkpoint) from a file."""
    checkpoint = load_checkpoint(path)
    config = TrainConfig(**checkpoint["config"])
    src_tok = tokenizer_from_state(checkpoint["tokenizers"]["src"])
    tgt_tok = tokenizer_from_state(checkpoint["tokenizers"]["tgt"])
    model = build_model(config, len(src_tok), len(tgt_tok), src_tok.pad_id)
    model.load_state_dict(checkpoint["model"])
    return model.to(device).eval(), src_tok, tgt_tok, config, checkpoint


def evaluate_checkpoint(
    path: str | Path,
    split: str = "test",
    *,
    beam_size: int = 4,
    limit: int | None = None,
    lowercase: bool = False,
    device: str | None = None,
    dataset: str | None = None,
) -> tuple[Scores, list[str], list]:
    """Scores of a checkpoint on a split of its own dataset (or ``dataset``)."""
    device, _ = pick_device(device)
    model, src_tok, tgt_tok, config, _ = load_translator(path, device)
    options = {k: v for k, v in (("src_lang", config.src_lang), ("tgt_lang", config.tgt_lang)) if v}
    examples = load_dataset(dataset or config.dataset, split, limit=limit, **options)
    scores, hypotheses = evaluate_translation(
        model, examples, src_tok, tgt_tok, beam_size=beam_size, device=device, lowercase=lowercase
    )
    return scores, hypotheses, examples


def main(argv: list[str] | None = None) -> Scores:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.translation.evaluate", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a file written by helpers.translation.loop"
    )
    parser.add_argument("--split", default="test")
    parser.add_argument("--dataset", default=None, help="default: the one it was trained on")
    parser.add_argument("--beam", type=int, default=4, help="beam size (1 = greedy)")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences only")
    parser.add_argument("--lowercase", action="store_true", help="case-insensitive BLEU")
    parser.add_argument("--device", default=None)
    parser.add_argument("--examples", type=int, default=3, help="translations to print")
    parser.add_argument("--export", default=None, help="write a model-only copy with the scores")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scores, hypotheses, examples = evaluate_checkpoint(
        args.checkpoint,
        args.split,
        beam_size=args.beam,
        limit=args.limit,
        lowercase=args.lowercase,
        device=args.device,
        dataset=args.dataset,
    )
    seconds = time.perf_counter() - start
    print(f"{args.split}: {scores} · beam {args.beam} · {seconds:.0f} s")
    print(f"  BLEU signature: {scores.bleu_signature}")
    print(f"  chrF signature: {scores.chrf_signature}")
    for example, hypothesis in list(zip(examples, hypotheses, strict=True))[: args.examples]:
        print(f"  source:    {example.src}\n  reference: {example.tgt}\n  output:    {hypothesis}")
    if args.export:
        export_model(args.checkpoint, args.export, {f"{args.split}_beam{args.beam}": scores})
        print(f"model-only copy written to {args.export}")
    return scores


def export_model(source: str | Path, out: str | Path, scores: dict[str, Scores]) -> None:
    """Write the weights, config and tokenizers of ``source`` (no optimizer) with ``scores``."""
    model, _, _, _, checkpoint = load_translator(source)
    metrics = {**(checkpoint.get("metrics") or {})}
    metrics.update({name: dataclasses.asdict(s) for name, s in scores.items()})
    save_checkpoint(
        out,
        model=model,
        step=checkpoint["step"],
        config=checkpoint["config"],
        tokenizers=checkpoint["tokenizers"],
        metrics=metrics,
    )


if __name__ == "__main__":
    main()
