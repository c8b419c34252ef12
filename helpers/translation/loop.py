"""Train a translation Transformer from the command line; the loop of `05_training_translation`.

    python -m helpers.translation.loop --dataset toy-en-de --preset cpu --out runs/toy
    python -m helpers.translation.loop --out runs/toy --resume               # carry on where it stopped
    torchrun --nproc_per_node=2 -m helpers.translation.loop --preset cpu --out runs/ddp   # data-parallel

Notebook 05 writes the same loop out cell by cell; this module is its long-running form, with
what a run needs beyond a notebook: presets, periodic validation, atomic checkpoints, exact
resume, a stop on a non-finite loss, a wall-time budget and DistributedDataParallel (gloo on
the CPU, nccl on GPUs). Every field of ``TrainConfig`` is a command-line option.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from helpers.device import pick_device
from helpers.training import (
    MixedPrecision,
    check_finite,
    inverse_sqrt_schedule,
    label_smoothed_cross_entropy,
    maybe_compile,
)
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.batching import (
    TokenBatchSampler,
    TranslationDataset,
    collate,
    encode_pairs,
)
from helpers.translation.checkpoint import load_checkpoint, restore_training, save_checkpoint
from helpers.translation.data import load_dataset
from helpers.translation.evaluation import evaluate_translation
from helpers.translation.tokenization import SubwordTokenizer, WordVocab, tokenizer_from_state

__all__ = [
    "PRESETS",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "build_tokenizers",
    "config_from",
    "main",
    "train",
    "validation_loss",
]


@dataclass
class TrainConfig:
    """Everything that defines a run; saved in every checkpoint."""

    dataset: str = "toy-en-de"
    src_lang: str | None = None  # multi30k: "de" (default) or "en"
    tgt_lang: str | None = None
    tokenizer: str = "word"  # "word" (closed vocabulary) or "bpe" (sentencepiece)
    vocab_size: int = 8000  # bpe only, per language
    min_freq: int = 1  # word only
    max_len: int = 128  # longer training pairs are dropped
    d_model: int = 128
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    tie_weights: bool = True
    norm_first: bool = False
    attention: str = "fused"  # "fused" (PyTorch's kernel) or "course" (helpers.attention)
    precision: str = "auto"  # auto, bf16, fp16, fp32 (see helpers.training.MixedPrecision)
    compile: bool = False
    max_tokens: int = 4096  # padded tokens per batch and process
    accumulate: int = 1  # batches per optimizer step
    max_steps: int = 1000
    max_minutes: float | None = None  # wall-time budget; stops cleanly and saves
    warmup_steps: int = 400
    lr_factor: float = 1.0
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    eval_every: int = 500
    eval_sentences: int = 500  # validation sentences decoded for BLEU at each evaluation
    seed: int = 0
    device: str | None = None  # None: helpers.device.pick_device()


@dataclass
class TrainResult:
    """What ``train`` returns: the trained model (unwrapped), tokenizers, losses, metrics."""

    model: Seq2SeqTransformer
    tokenizers: dict
    losses: list[float]  # training loss of every update this call made
    metrics: dict  # the last evaluation (rank 0 only)


PRESETS: dict[str, dict] = {
    # A 2-core laptop CPU: 1.2M parameters on toy-en-de; 1,000 steps take about 7 minutes
    # there and reach test BLEU 98.9 (data/checkpoints/README.md).
    "cpu": {},
    # One GPU: a wider, deeper model, bigger batches, bf16 and fused attention.
    "gpu": {
        "d_model": 512,
        "nhead": 8,
        "num_encoder_layers": 4,
        "num_decoder_layers": 4,
        "dim_feedforward": 2048,
        "max_tokens": 16384,
        "warmup_steps": 1000,
        "max_steps": 6000,
    },
    # Small enough for a notebook cell or a test.
    "tiny": {
        "d_model": 64,
        "nhead": 2,
        "num_encoder_layers": 1,
        "num_decoder_layers": 1,
        "dim_feedforward": 128,
        "max_tokens": 1024,
        "warmup_steps": 50,
        "max_steps": 200,
        "eval_every": 100,
        "eval_sentences": 50,
    },
}

# Defaults that depend on the corpus rather than the hardware.
DATASET_DEFAULTS: dict[str, dict] = {
    "toy-en-de": {"tokenizer": "word"},
    "multi30k": {"tokenizer": "bpe", "vocab_size": 6000, "dropout": 0.2},
}


def config_from(preset: str = "cpu", **overrides) -> TrainConfig:
    """A preset, then the dataset's defaults, then explicit overrides (None means 'not given')."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown config fields {sorted(unknown)}; known: {sorted(fields)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    dataset = given.get("dataset", TrainConfig.dataset)
    values = {**PRESETS[preset], **DATASET_DEFAULTS.get(dataset, {}), **given}
    return TrainConfig(**values)


def build_tokenizers(config: TrainConfig, train_examples) -> dict:
    """One tokenizer per side, fitted on the training split only."""
    sides = {"src": [e.src for e in train_examples], "tgt": [e.tgt for e in train_examples]}
    if config.tokenizer == "word":
        return {k: WordVocab.build(texts, min_freq=config.min_freq) for k, texts in sides.items()}
    if config.tokenizer == "bpe":
        return {
            k: SubwordTokenizer.train(texts, vocab_size=config.vocab_size, seed=config.seed)
            for k, texts in sides.items()
        }
    raise ValueError(f"tokenizer must be 'word' or 'bpe'; got {config.tokenizer!r}")


def build_model(config: TrainConfig, src_vocab: int, tgt_vocab: int, pad_id: int):
    """The course's Seq2SeqTransformer in the run's configuration."""
    if config.attention not in ("fused", "course"):
        raise ValueError(f"attention must be 'fused' or 'course'; got {config.attention!r}")
    return Seq2SeqTransformer(
        src_vocab,
        tgt_vocab,
        config.d_model,
        config.nhead,
        config.num_encoder_layers,
        config.num_decoder_layers,
        config.dim_feedforward,
        config.dropout,
        max_len=max(512, config.max_len + 2),
        pad_id=pad_id,
        tie_weights=config.tie_weights,
        norm_first=config.norm_first,
        fused=config.attention == "fused",
    )


def _load(config: TrainConfig, split: str):
    options = {k: v for k, v in (("src_lang", config.src_lang), ("tgt_lang", config.tgt_lang)) if v}
    return load_dataset(config.dataset, split, **options)


# Fields a resumed run may change; every other field must match the checkpoint's.
RUN_FIELDS = {"max_steps", "max_minutes", "eval_every", "eval_sentences", "device", "compile"}


def _check_resumable(config: TrainConfig, saved: TrainConfig) -> None:
    differ = [
        f"{f.name}: checkpoint {getattr(saved, f.name)!r}, now {getattr(config, f.name)!r}"
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RUN_FIELDS and getattr(saved, f.name) != getattr(config, f.name)
    ]
    if differ:
        raise ValueError(
            "cannot resume with a different configuration (only "
            f"{sorted(RUN_FIELDS)} may change): " + "; ".join(differ)
        )


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun; (0, 1, 0) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def _batches(sampler: TokenBatchSampler, epoch: int, skip: int) -> Iterator[list[int]]:
    sampler.set_epoch(epoch)
    for i, indices in enumerate(sampler):
        if i >= skip:
            yield indices


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) a run in ``out_dir``: the model, its tokenizers, losses and metrics.

    Files: ``out_dir/last.pt`` (everything needed to resume), ``out_dir/best.pt`` (the weights
    with the best validation BLEU so far), ``out_dir/log.jsonl`` (one line per evaluation). Under torchrun only rank 0 writes; every rank computes the same updates.
    """
    out_dir = Path(out_dir)
    rank, world, local_rank = _distributed()
    last = out_dir / "last.pt"
    checkpoint = None
    if resume:
        checkpoint = load_checkpoint(last)
        _check_resumable(config, TrainConfig(**checkpoint["config"]))
    if world > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        device = torch.device(f"cuda:{local_rank}" if backend == "nccl" else "cpu")
        reason = f"rank {rank}/{world}, {backend}"
    else:
        device, reason = pick_device(config.device)
    main_process = rank == 0
    say = log if main_process else (lambda message: None)
    say(f"device: {device} ({reason})")
    torch.manual_seed(config.seed)

    train_examples = _load(config, "train")
    valid_examples = _load(config, "valid")
    if checkpoint is not None:
        tokenizers = {k: tokenizer_from_state(s) for k, s in checkpoint["tokenizers"].items()}
    else:
        tokenizers = build_tokenizers(config, train_examples)
    src_tok, tgt_tok = tokenizers["src"], tokenizers["tgt"]
    pairs, dropped = encode_pairs(train_examples, src_tok, tgt_tok, max_len=config.max_len)
    dataset = TranslationDataset(pairs)
    sampler = TokenBatchSampler(
        dataset.lengths, config.max_tokens, seed=config.seed, num_replicas=world, rank=rank
    )
    if len(sampler) == 0:
        raise ValueError(f"no training batches: {len(pairs)} pairs for {world} process(es)")
    say(
        f"data: {len(pairs):,} training pairs ({dropped} longer than {config.max_len} dropped), "
        f"{len(sampler):,} batches per epoch and process; vocabularies "
        f"{len(src_tok):,} / {len(tgt_tok):,}"
    )

    model = build_model(config, len(src_tok), len(tgt_tok), src_tok.pad_id).to(device)
    say(f"model: {sum(p.numel() for p in model.parameters()):,} parameters")
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = inverse_sqrt_schedule(
        optimizer,
        d_model=config.d_model,
        warmup_steps=config.warmup_steps,
        factor=config.lr_factor,
    )
    precision = MixedPrecision(device, config.precision)
    say(f"precision: {precision.description}")
    step, epoch, batch_in_epoch, elapsed = 0, 0, 0, 0.0
    if checkpoint is not None:
        step = restore_training(
            checkpoint,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=precision.scaler,
        )
        epoch, batch_in_epoch = checkpoint["extra"]["epoch"], checkpoint["extra"]["batch"]
        elapsed = checkpoint["extra"]["elapsed"]
        say(f"resumed from {last} at step {step}")
    core = model
    if world > 1:
        model = DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )
    model, message = maybe_compile(model, config.compile)
    if config.compile:
        say(message)

    best = {"valid_bleu": checkpoint["extra"]["best_bleu"] if checkpoint else -1.0}

    def save(metrics: dict | None = None) -> None:
        """last.pt (everything, to resume); best.pt (weights only) when validation BLEU improves."""
        if not main_process:
            return
        common = {
            "step": step,
            "config": dataclasses.asdict(config),
            "tokenizers": {k: t.to_state() for k, t in tokenizers.items()},
            "metrics": metrics,
        }
        if metrics and metrics["valid_bleu"] > best["valid_bleu"]:
            best["valid_bleu"] = metrics["valid_bleu"]
            save_checkpoint(out_dir / "best.pt", model=core, **common)
        save_checkpoint(
            last,
            model=core,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=precision.scaler,
            extra={
                "epoch": epoch,
                "batch": batch_in_epoch,
                "elapsed": elapsed,
                "best_bleu": best["valid_bleu"],
            },
            **common,
        )

    valid_pairs, _ = encode_pairs(valid_examples, src_tok, tgt_tok, max_len=config.max_len)

    def evaluate() -> dict:
        loss = validation_loss(core, valid_pairs, src_tok.pad_id, device, precision)
        scores, _ = evaluate_translation(
            core, valid_examples[: config.eval_sentences], src_tok, tgt_tok, device=device
        )
        return {"step": step, "valid_loss": round(loss, 4), "valid_bleu": round(scores.bleu, 2)}

    out_dir.mkdir(parents=True, exist_ok=True)
    if main_process and not resume:
        (out_dir / "log.jsonl").unlink(missing_ok=True)
    bar = tqdm(
        total=config.max_steps,
        initial=step,
        disable=not (progress and main_process),
        desc="training",
        unit="step",
    )
    metrics: dict = {}
    losses: list[float] = []
    model.train()
    started, window_tokens, window_start = time.perf_counter() - elapsed, 0, time.perf_counter()
    stop = False
    while not stop:
        group: list[list[int]] = []
        for indices in _batches(sampler, epoch, batch_in_epoch):
            batch_in_epoch += 1
            group.append(indices)
            if len(group) < config.accumulate:
                continue
            batches = [
                collate([dataset[i] for i in ids], src_tok.pad_id).to(device) for ids in group
            ]
            group = []
            loss_value, tokens = _optimizer_step(
                model,
                batches,
                optimizer,
                precision,
                config,
                world=world,
                step=step + 1,
                pad_id=src_tok.pad_id,
            )
            scheduler.step()
            step += 1
            losses.append(loss_value)
            window_tokens += tokens
            elapsed = time.perf_counter() - started
            if step % 50 == 0 or step == config.max_steps:
                rate = window_tokens / max(time.perf_counter() - window_start, 1e-9)
                lr = scheduler.get_last_lr()[0]
                bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", tok_s=f"{rate:,.0f}")
                if not progress and step % 500 == 0:
                    say(f"step {step}: loss {loss_value:.3f}, lr {lr:.2e}, {rate:,.0f} tokens/s")
                window_tokens, window_start = 0, time.perf_counter()
            bar.update(1)
            out_of_time = config.max_minutes is not None and elapsed >= 60 * config.max_minutes
            if step % config.eval_every == 0 or step >= config.max_steps or out_of_time:
                if main_process:
                    metrics = {
                        **evaluate(),
                        "train_loss": round(loss_value, 4),
                        "minutes": round(elapsed / 60, 2),
                    }
                    with open(out_dir / "log.jsonl", "a") as f:
                        f.write(json.dumps(metrics) + "\n")
                    bar.write(json.dumps(metrics))
                save(metrics)
            if step >= config.max_steps or out_of_time:
                stop = True
                break
        else:
            epoch, batch_in_epoch = epoch + 1, 0
    bar.close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return TrainResult(core, tokenizers, losses, metrics)


def validation_loss(
    model, pairs, pad_id: int, device, precision: MixedPrecision | None = None, max_tokens=8192
) -> float:
    """Mean per-token cross-entropy (no label smoothing) of ``model`` over id ``pairs``."""
    was_training = model.training
    model.eval()
    dataset = TranslationDataset(pairs)
    sampler = TokenBatchSampler(dataset.lengths, max_tokens, shuffle=False)
    total, tokens = 0.0, 0
    autocast = precision.autocast() if precision else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for indices in sampler:
            batch = collate([dataset[i] for i in indices], pad_id).to(device)
            logits = model(batch.src, batch.tgt_in).float()
            loss = label_smoothed_cross_entropy(
                logits, batch.tgt_out, smoothing=0.0, ignore_index=pad_id
            )
            total += float(loss) * batch.num_tgt_tokens
            tokens += batch.num_tgt_tokens
    model.train(was_training)
    return total / tokens


def _optimizer_step(
    model, batches, optimizer, precision, config, *, world: int, step: int, pad_id: int
) -> tuple[float, int]:
    """Update number ``step`` from ``batches`` (gradient accumulation): (mean loss, target tokens).

    The loss is summed over tokens and divided by the tokens of the whole update (all batches,
    all processes), so an update is the same whether its batches run in one process one after
    another or in several processes at once. A non-finite loss stops before the weights change.
    """
    tokens = torch.tensor(sum(b.num_tgt_tokens for b in batches), dtype=torch.float64)
    if world > 1:
        dist.all_reduce(tokens)
    total = torch.zeros((), dtype=torch.float64)
    optimizer.zero_grad(set_to_none=True)
    for i, batch in enumerate(batches):
        sync = i == len(batches) - 1 or not isinstance(model, DistributedDataParallel)
        with contextlib.nullcontext() if sync else model.no_sync(), precision.autocast():
            logits = model(batch.src, batch.tgt_in)
            loss_sum = (
                label_smoothed_cross_entropy(
                    logits.float(),
                    batch.tgt_out,
                    smoothing=config.label_smoothing,
                    ignore_index=pad_id,
                )
                * batch.num_tgt_tokens
            )
            # DDP averages gradients over processes; multiply back so the update is a global mean.
            precision.scaler.scale(loss_sum * world / float(tokens)).backward()
        total += loss_sum.detach().double().cpu()
    if world > 1:
        dist.all_reduce(total)
    check_finite(total / tokens, step)
    precision.scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return float(total / tokens), int(tokens)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.translation.loop", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", required=True, help="run directory (checkpoint and log)")
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        kind = {"int": int, "float": float, "bool": _boolean}.get(
            str(field.type).split(" ")[0], str
        )
        parser.add_argument(flag, type=kind, default=None, help=f"default: {field.default!r}")
    return parser


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def main(argv: list[str] | None = None) -> TrainResult:
    args = _parser().parse_args(argv)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    if args.resume:  # the run's own configuration, changed only where asked
        saved = load_checkpoint(Path(args.out) / "last.pt")["config"]
        config = TrainConfig(**{**saved, **{k: v for k, v in given.items() if v is not None}})
    else:
        config = config_from(args.preset, **given)
    return train(config, args.out, resume=args.resume, progress=not args.no_progress)


if __name__ == "__main__":
    main()
