"""The command lines of the translation runs that `05_training_translation` describes: train,
evaluate, average.

    python -m helpers.translation train --dataset toy-en-de --preset cpu --out runs/toy
    python -m helpers.translation train --out runs/toy --resume          # carry on where it stopped
    torchrun --nproc_per_node=2 -m helpers.translation train --preset cpu --out runs/ddp
    python -m helpers.translation evaluate --checkpoint runs/toy/best.pt --split test --beam 4
    python -m helpers.translation evaluate --checkpoint runs/toy/best.pt --json runs/toy/test.json
    python -m helpers.translation average --out runs/toy/avg.pt runs/toy/step-*.pt

A thin shell over the library (``loop``, ``checkpoint``, ``evaluation``): every field of
``TrainConfig`` is an option of ``train``. A mistake in what was asked (an invalid value, an
unknown dataset, a malformed data file, a missing or foreign checkpoint, a resume with a
changed configuration) prints ``error: ...`` and exits with status 2, as argparse does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

from helpers._utils import check_positive_int
from helpers.device import pick_device
from helpers.translation.checkpoint import (
    Translator,
    average_checkpoints,
    load_checkpoint,
    load_translator,
    save_translator,
)
from helpers.translation.config import PRESETS, TrainConfig, config_from, load_split
from helpers.translation.evaluation import Scores, evaluate_translation
from helpers.translation.loop import TrainResult, setup, train_loop
from helpers.translation.precision import NonFiniteLossError

__all__ = ["main", "parser", "run_command"]

PROG = "python -m helpers.translation"
# What a user's mistake raises in the library: reported in one line, exit status 2.
USER_ERRORS = (ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> None:
    """The command line (``python -m helpers.translation``, torchrun, console scripts)."""
    run_command(argv)


def run_command(argv: Sequence[str] | None = None) -> TrainResult | Scores | Translator:
    """Parse ``argv`` and run the command; returns what it made (for tests and scripts)."""
    args = parser().parse_args(argv)
    return args.command(args)


def parser() -> argparse.ArgumentParser:
    """The parser of all three commands."""
    top = argparse.ArgumentParser(prog=PROG, description="Train, evaluate and average translators.")
    commands = top.add_subparsers(required=True, metavar="{train,evaluate,average}")
    _train_parser(
        commands.add_parser(
            "train",
            help="train a translator, or resume a run",
            description="Train a translator, or resume a run. Each option's default below is "
            "TrainConfig's; the preset's values and the dataset's defaults replace it, and on "
            "--resume the run's own configuration does.",
        )
    )
    _evaluate_parser(commands.add_parser("evaluate", help="BLEU and chrF of a checkpoint"))
    _average_parser(commands.add_parser("average", help="average the weights of checkpoints"))
    return top


def _fail(error: BaseException, status: int = 2) -> NoReturn:
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


# train ---------------------------------------------------------------------------------------


def _train_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="run directory (checkpoints and log)")
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar"
    )
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            default=None,  # not given: the preset's, the dataset's or the checkpoint's value
            help=f"default: {field.default!r}",
            **_option(hints[field.name]),
        )
    parser.set_defaults(command=_train)


def _option(hint: Any) -> dict:
    """argparse settings for a TrainConfig field of type ``hint``."""
    options = typing.get_args(hint)
    if type(None) in options:  # X | None
        (hint,) = [option for option in options if option is not type(None)]
    if typing.get_origin(hint) is Literal:
        return {"choices": typing.get_args(hint)}
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if hint is str:
        return {}
    return {"type": hint, "metavar": hint.__name__.upper()}


def _train(args: argparse.Namespace) -> TrainResult:
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    try:
        if args.resume:  # the run's own configuration, changed only where asked
            saved = load_checkpoint(Path(args.out) / "last.pt")["config"]
            config = TrainConfig.from_dict(
                {**saved, **{k: v for k, v in given.items() if v is not None}}
            )
        else:
            config = config_from(args.preset, **given)
        run = setup(config, args.out, resume=args.resume)
    except USER_ERRORS as error:
        _fail(error)
    try:
        return train_loop(run, progress=args.progress)
    except NonFiniteLossError as error:
        _fail(error, status=1)


# evaluate ------------------------------------------------------------------------------------


def _evaluate_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="last.pt, best.pt or a model file")
    parser.add_argument("--split", default="test")
    parser.add_argument("--dataset", default=None, help="default: the one it was trained on")
    parser.add_argument("--beam", type=int, default=4, help="beam size (1 = greedy)")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences only")
    parser.add_argument(
        "--lowercase", action=argparse.BooleanOptionalAction, default=False, help="for BLEU"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best found)")
    parser.add_argument("--examples", type=int, default=3, help="translations to print")
    parser.add_argument("--export", default=None, help="write a model-only copy with the scores")
    parser.add_argument("--json", default=None, help="write the scores to this JSON file")
    parser.set_defaults(command=_evaluate)


def _evaluate(args: argparse.Namespace) -> Scores:
    try:
        check_positive_int("--beam", args.beam)
        if args.limit is not None:
            check_positive_int("--limit", args.limit)
        device, _ = pick_device(args.device)
        translator = load_translator(args.checkpoint, device)
        examples = load_split(translator.config, args.split, dataset=args.dataset, limit=args.limit)
    except USER_ERRORS as error:
        _fail(error)
    start = time.perf_counter()
    scores, hypotheses = evaluate_translation(
        translator.model,
        examples,
        translator.src_tokenizer,
        translator.tgt_tokenizer,
        beam_size=args.beam,
        device=device,
        lowercase=args.lowercase,
    )
    seconds = time.perf_counter() - start
    print(f"{args.split}: {scores} · beam {args.beam} · {seconds:.0f} s")
    print(f"  BLEU signature: {scores.bleu_signature}")
    print(f"  chrF signature: {scores.chrf_signature}")
    for example, hypothesis in list(zip(examples, hypotheses, strict=True))[: args.examples]:
        print(f"  source:    {example.src}\n  reference: {example.tgt}\n  output:    {hypothesis}")
    if args.json:
        record = {"checkpoint": args.checkpoint, "split": args.split, "beam": args.beam}
        record |= {"lowercase": args.lowercase, **dataclasses.asdict(scores), "seconds": seconds}
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    if args.export:
        name = f"{args.split}_beam{args.beam}" + ("_lowercase" if args.lowercase else "")
        metrics = {**translator.metrics, name: dataclasses.asdict(scores)}
        save_translator(dataclasses.replace(translator, metrics=metrics), args.export)
        print(f"model-only copy written to {args.export}")
    return scores


# average -------------------------------------------------------------------------------------


def _average_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="the averaged model-only checkpoint")
    parser.add_argument("checkpoints", nargs="+", help="checkpoints of one run, e.g. step-*.pt")
    parser.set_defaults(command=_average)


def _average(args: argparse.Namespace) -> Translator:
    try:
        translator = load_translator(args.checkpoints[-1])
        weights = average_checkpoints(args.checkpoints)
    except USER_ERRORS as error:
        _fail(error)
    translator.model.load_state_dict(weights)
    averaged = dataclasses.replace(translator, metrics={"averaged": list(args.checkpoints)})
    save_translator(averaged, args.out)
    print(f"the mean of {len(args.checkpoints)} checkpoints written to {args.out}")
    return averaged
