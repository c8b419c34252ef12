"""The training loop in named pieces: set-up, one optimisation step, validate-and-checkpoint and
the loop; used in `05_training_translation`.

Notebook 05 writes one step out by hand, checks that it equals ``train_step`` and trains with
it; ``train`` is the long-running form that ``python -m helpers.translation train`` runs:

    run = setup(config, "runs/toy")          # data, tokenizers, model, optimizer, schedule, resume
    result = train_loop(run)                 # train_step, validate_and_checkpoint, until a budget ends

A run directory holds ``last.pt`` (everything needed to resume bit for bit), ``best.pt`` (the
weights with the best validation BLEU so far) and ``log.jsonl`` (one line per evaluation).
Under torchrun every process computes the same updates (DistributedDataParallel: gloo on
CPUs, nccl on GPUs) and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from helpers.device import pick_device
from helpers.training import inverse_sqrt_schedule, label_smoothed_cross_entropy
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.batching import (
    TokenBatchSampler,
    TranslationBatch,
    TranslationDataset,
    collate,
    encode_pairs,
)
from helpers.translation.checkpoint import load_checkpoint, restore_training, save_checkpoint
from helpers.translation.config import (
    TrainConfig,
    build_model,
    build_tokenizers,
    check_resumable,
    load_split,
)
from helpers.translation.data import Example
from helpers.translation.evaluation import evaluate_translation, validation_loss
from helpers.translation.precision import MixedPrecision, check_finite, maybe_compile
from helpers.translation.tokenization import Tokenizer, tokenizer_from_state

__all__ = [
    "Progress",
    "StepResult",
    "TrainResult",
    "TrainingRun",
    "SYNC_EVERY",
    "limiting_budget",
    "read_losses",
    "setup",
    "train",
    "train_loop",
    "train_step",
    "validate_and_checkpoint",
]

SYNC_EVERY = 50  # updates between two reads of the losses from the device


@dataclass(frozen=True)
class StepResult:
    """What one optimizer update did: its mean loss per target token, and how many tokens."""

    # Label-smoothed, over every batch (and process) of the update: a 0-dim tensor on the
    # model's device. ``float(result.loss)`` reads it, which on a GPU waits for the GPU.
    loss: torch.Tensor
    tokens: int  # target tokens of the update in this process


def train_step(
    model: nn.Module,
    batches: TranslationBatch | Sequence[TranslationBatch],
    optimizer: torch.optim.Optimizer,
    precision: MixedPrecision,
    *,
    pad_id: int,
    label_smoothing: float,
    clip_norm: float,
) -> StepResult:
    """One optimizer update from one batch, or several (gradient accumulation).

    For each batch: the forward pass under autocast, the label-smoothed loss, backward through
    the loss scaler. Then unscaling, clipping to ``clip_norm`` and Adam's step; call
    ``scheduler.step()`` after it. Each batch's loss is weighted by its share of the update's
    target tokens (all batches, all processes), so an update is the same whether its batches
    run one after another or in several processes at once; with one batch it is exactly the
    step of notebook 05.

    Nothing here waits for the GPU: the loss stays on the device, and the token counts that
    processes exchange are computed there. The caller reads losses when it logs and checks
    them with ``check_finite`` before it saves (``train_loop`` does both every ``SYNC_EVERY``
    steps), so a GPU can run ahead of the Python code that feeds it.
    """
    if isinstance(batches, TranslationBatch):
        batches = [batches]
    ddp = _data_parallel(model)
    local = sum(b.num_tgt_tokens for b in batches)
    if ddp is None:
        world, tokens = 1, local
    else:  # the update's tokens over all processes, counted on the device
        world = dist.get_world_size()
        tokens = _all_reduce(torch.stack([b.tgt_real.sum() for b in batches]).sum().double(), ddp)
    optimizer.zero_grad(set_to_none=True)
    total = torch.zeros((), dtype=torch.float64, device=batches[0].tgt_out.device)
    for i, batch in enumerate(batches):
        # Under DDP, gradients are averaged over processes once, after the update's last batch.
        sync = ddp is None or i == len(batches) - 1
        with contextlib.nullcontext() if sync else ddp.no_sync():
            with precision.autocast():
                logits = model(batch.src, batch.tgt_in)  # (B, T, V)
            loss = label_smoothed_cross_entropy(
                logits, batch.tgt_out, smoothing=label_smoothing, ignore_index=pad_id
            )
            # DDP averages over processes: multiply by world so the update is the global mean.
            weight = batch.num_tgt_tokens * world / tokens
            precision.scaler.scale(loss * weight).backward()
        total += loss.detach() * batch.num_tgt_tokens  # summed over the tokens, on the device
    mean = _all_reduce(total, ddp) / tokens
    precision.scaler.unscale_(optimizer)  # clip the true gradient, not the scaled one
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return StepResult(mean.float(), local)


def _data_parallel(model: nn.Module) -> DistributedDataParallel | None:
    """The DistributedDataParallel wrapper of ``model`` (under torch.compile too), if any."""
    inner = getattr(model, "_orig_mod", model)
    return inner if isinstance(inner, DistributedDataParallel) else None


def _all_reduce(tensor: torch.Tensor, ddp: DistributedDataParallel | None, op=None):
    """``tensor`` (on the model's device) summed, or reduced with ``op``, over the processes,
    in place; itself in one process. NCCL reduces GPU tensors only: a tensor made on the CPU
    here would fail there, so the callers make them where the model is."""
    if ddp is not None:
        dist.all_reduce(tensor, op=op or dist.ReduceOp.SUM)
    return tensor


@dataclass
class Progress:
    """Where a run stands; saved in ``last.pt`` so that a resumed run continues exactly."""

    step: int = 0  # optimizer updates done
    epoch: int = 0
    batch: int = 0  # batches of this epoch already used
    elapsed: float = 0.0  # seconds of training, over every session of the run
    best_bleu: float = -1.0  # best validation BLEU so far (for best.pt)


@dataclass
class TrainingRun:
    """Everything ``setup`` builds for a run; ``train_loop`` advances its ``progress``."""

    config: TrainConfig
    out_dir: Path
    device: torch.device
    model: nn.Module  # what the loop calls: the model, under DDP and torch.compile if used
    core: Seq2SeqTransformer  # the model itself: evaluated and saved
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    precision: MixedPrecision
    tokenizers: dict[str, Tokenizer]  # "src" and "tgt"
    train_data: TranslationDataset
    sampler: TokenBatchSampler
    valid_examples: list[Example]
    valid_pairs: list
    progress: Progress = field(default_factory=Progress)
    rank: int = 0
    world: int = 1
    log: Callable[[str], None] = print


@dataclass
class TrainResult:
    """What ``train`` returns: the trained model (unwrapped), tokenizers, losses, metrics."""

    model: Seq2SeqTransformer
    tokenizers: dict
    losses: list[float]  # training loss of every update this call made
    metrics: dict  # the last evaluation (rank 0 only)


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) the run in ``out_dir``: ``train_loop(setup(...))``."""
    return train_loop(setup(config, out_dir, resume=resume, log=log), progress=progress)


def setup(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> TrainingRun:
    """Data, tokenizers, model, optimizer, schedule and precision for ``config``; with
    ``resume``, everything restored from ``out_dir/last.pt``. Mistakes in the configuration,
    the data or the checkpoint raise ``ValueError`` or ``FileNotFoundError`` here, before any
    training."""
    out_dir = Path(out_dir)
    checkpoint = _checkpoint_to_resume(config, out_dir) if resume else None
    rank, world, local_rank = _processes()
    say = log if rank == 0 else _silent
    device, reason = _device(config, world, local_rank)
    say(f"device: {device} ({reason})")
    torch.manual_seed(config.seed)
    train_examples, valid_examples = load_split(config, "train"), load_split(config, "valid")
    if checkpoint is not None:
        tokenizers = {k: tokenizer_from_state(s) for k, s in checkpoint["tokenizers"].items()}
    else:
        tokenizers = build_tokenizers(config, train_examples)
    train_data, sampler = _training_data(config, train_examples, tokenizers, rank, world, say)
    src, tgt = tokenizers["src"], tokenizers["tgt"]
    core = build_model(config, len(src), len(tgt), src.pad_id).to(device)
    say(f"model: {sum(p.numel() for p in core.parameters()):,} parameters")
    optimizer = _adam(core, device)
    scheduler = inverse_sqrt_schedule(
        optimizer, d_model=config.d_model, warmup_steps=config.warmup_steps, factor=config.lr_factor
    )
    precision = MixedPrecision(device, config.precision)
    say(f"precision: {precision.description}")
    progress = Progress()
    if checkpoint is not None:
        progress = _restore(checkpoint, core, optimizer, scheduler, precision)
        say(f"resumed from {out_dir / 'last.pt'} at step {progress.step}")
    model = _wrap(core, config, device, world, local_rank, say)
    valid_pairs, _ = encode_pairs(valid_examples, src, tgt, max_len=config.max_len)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        _keep_log_until(out_dir / "log.jsonl", progress.step)
    return TrainingRun(
        config=config,
        out_dir=out_dir,
        device=device,
        model=model,
        core=core,
        optimizer=optimizer,
        scheduler=scheduler,
        precision=precision,
        tokenizers=tokenizers,
        train_data=train_data,
        sampler=sampler,
        valid_examples=valid_examples,
        valid_pairs=valid_pairs,
        progress=progress,
        rank=rank,
        world=world,
        log=say,
    )


def _adam(model: nn.Module, device: torch.device) -> torch.optim.Adam:
    """Adam as in the paper (betas 0.9, 0.98; eps 1e-9), its learning rate set by the schedule.
    On a GPU its fused kernel updates every parameter in one launch and, with fp16, takes the
    loss scaler's verdict on the device, so that skipping an overflowed step needs no sync."""
    fused = True if device.type == "cuda" else None
    return torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9, fused=fused)


def _keep_log_until(log: Path, step: int) -> None:
    """Drop the lines of ``log`` after ``step``: a new run keeps none; a resumed run keeps the
    lines up to its checkpoint's step, so that the steps it redoes (a run killed between
    writing a log line and its checkpoint) are not logged twice."""
    if not log.exists():
        return
    lines = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= step]
    log.write_text("".join(line + "\n" for line in lines))


def _silent(message: str) -> None:
    """The log of processes other than rank 0."""


def _checkpoint_to_resume(config: TrainConfig, out_dir: Path) -> dict:
    checkpoint = load_checkpoint(out_dir / "last.pt")
    check_resumable(config, TrainConfig.from_dict(checkpoint["config"]))
    return checkpoint


def _processes() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun; (0, 1, 0) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def _device(config: TrainConfig, world: int, local_rank: int) -> tuple[torch.device, str]:
    """One GPU per process under torchrun (or the CPU); else ``pick_device``'s choice."""
    if world == 1:
        return pick_device(config.device)
    if torch.cuda.is_available() and (config.device or "cuda").startswith("cuda"):
        return torch.device(f"cuda:{local_rank}"), f"process {local_rank} of {world}, nccl"
    return torch.device("cpu"), f"process {local_rank} of {world}, gloo"


def _training_data(
    config: TrainConfig,
    examples: list[Example],
    tokenizers: dict[str, Tokenizer],
    rank: int,
    world: int,
    say: Callable[[str], None],
) -> tuple[TranslationDataset, TokenBatchSampler]:
    src, tgt = tokenizers["src"], tokenizers["tgt"]
    pairs, dropped = encode_pairs(examples, src, tgt, max_len=config.max_len)
    data = TranslationDataset(pairs)
    sampler = TokenBatchSampler(
        data.lengths, config.max_tokens, seed=config.seed, num_replicas=world, rank=rank
    )
    if len(sampler) == 0:
        raise ValueError(
            f"no training batches: {len(pairs)} pairs of at most {config.max_len} tokens for "
            f"{world} process(es)"
        )
    say(
        f"data: {len(pairs):,} training pairs ({dropped} longer than {config.max_len} dropped), "
        f"{len(sampler):,} batches per epoch and process; vocabularies {len(src):,} / {len(tgt):,}"
    )
    return data, sampler


def _restore(checkpoint, model, optimizer, scheduler, precision) -> Progress:
    step = restore_training(
        checkpoint, model=model, optimizer=optimizer, scheduler=scheduler, scaler=precision.scaler
    )
    extra = checkpoint["extra"]
    return Progress(step, extra["epoch"], extra["batch"], extra["elapsed"], extra["best_bleu"])


def _wrap(core, config, device, world, local_rank, say) -> nn.Module:
    """The model as the loop calls it: under DistributedDataParallel and torch.compile."""
    model = core
    if world > 1:
        backend = "nccl" if device.type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
        model = DistributedDataParallel(
            core, device_ids=[local_rank] if backend == "nccl" else None
        )
    model, message = maybe_compile(model, config.compile)
    if config.compile:
        say(message)
    return model


def train_loop(run: TrainingRun, *, progress: bool = True) -> TrainResult:
    """Update, and validate-and-checkpoint every ``eval_every`` steps, until ``max_steps`` or
    the ``max_minutes`` budget ends the run.

    The losses stay on the device and are read every ``SYNC_EVERY`` steps and before every
    evaluation (one host-device sync for all of them), checked there with ``check_finite``, so
    a NaN stops the run before any checkpoint holds it. The wall-time budget is checked after
    every update in one process; under torchrun the processes agree on it (a collective) at
    those same points only.
    """
    config, state = run.config, run.progress
    display = _Display(run, enabled=progress and run.rank == 0)
    losses: list[float] = []
    unread: list[torch.Tensor] = []  # losses of the updates since the last read
    metrics: dict = {}
    started = time.perf_counter() - state.elapsed
    run.model.train()
    try:
        for batches in _updates(run):
            result = train_step(
                run.model, batches, run.optimizer, run.precision, pad_id=run.core.pad_id,
                label_smoothing=config.label_smoothing, clip_norm=config.clip_norm,
            )  # fmt: skip
            run.scheduler.step()
            state.step += 1
            state.elapsed = time.perf_counter() - started
            unread.append(result.loss)
            display.update(result)
            evaluate = state.step % config.eval_every == 0
            sync = evaluate or state.step % SYNC_EVERY == 0
            done = state.step >= config.max_steps or _out_of_time(run, collective=sync)
            if sync or done:
                losses += read_losses(unread, last_step=state.step)
                unread = []
                display.report(losses[-1])
            if evaluate or done:
                metrics = validate_and_checkpoint(run, train_loss=losses[-1]) or metrics
                display.write(json.dumps(metrics) if metrics else "")
            if done:
                break
    finally:
        display.close()
        if run.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return TrainResult(run.core, run.tokenizers, losses, metrics)


def read_losses(losses: Sequence[torch.Tensor], *, last_step: int) -> list[float]:
    """The 0-dim loss tensors of the updates up to ``last_step``, as floats, read from the
    device at once (one sync); ``NonFiniteLossError`` names the first that is NaN or ±inf."""
    if not losses:
        return []
    values = torch.stack(list(losses)).tolist()
    first = last_step - len(values) + 1
    for step, value in enumerate(values, start=first):
        check_finite(value, step)
    return values


def _updates(run: TrainingRun) -> Iterator[list[TranslationBatch]]:
    """The batches of each update (``accumulate`` of them), epoch after epoch, from where
    ``run.progress`` stands; an epoch's last batches that do not fill an update are skipped."""
    state, config = run.progress, run.config
    pad_id = run.tokenizers["src"].pad_id
    while True:
        run.sampler.set_epoch(state.epoch)
        group: list[list[int]] = []
        for i, indices in enumerate(run.sampler):
            if i < state.batch:
                continue  # used before the run was resumed
            state.batch = i + 1
            group.append(indices)
            if len(group) == config.accumulate:
                yield [
                    collate([run.train_data[j] for j in ids], pad_id).to(
                        run.device, non_blocking=True
                    )
                    for ids in group
                ]
                group = []
        state.epoch, state.batch = state.epoch + 1, 0


def _out_of_time(run: TrainingRun, *, collective: bool) -> bool:
    """Whether the ``max_minutes`` budget is spent. Under torchrun every process takes the
    answer of the slowest, at ``collective`` points only (an all-reduce waits for all)."""
    if run.config.max_minutes is None:
        return False
    spent = run.progress.elapsed >= 60 * run.config.max_minutes
    ddp = _data_parallel(run.model)
    if ddp is None:
        return spent
    if not collective:
        return False
    flag = torch.tensor(float(spent), device=next(ddp.module.parameters()).device)
    return bool(_all_reduce(flag, ddp, dist.ReduceOp.MAX).item())


def validate_and_checkpoint(run: TrainingRun, *, train_loss: float) -> dict:
    """On rank 0: validation loss and greedy BLEU, a line in ``log.jsonl``, ``last.pt``, and
    ``best.pt`` when the BLEU is the best so far; returns the metrics ({} on other ranks)."""
    if run.rank != 0:
        return {}
    state, config, core = run.progress, run.config, run.core
    src, tgt = run.tokenizers["src"], run.tokenizers["tgt"]
    loss = validation_loss(core, run.valid_pairs, src.pad_id, run.device, run.precision)
    examples = run.valid_examples[: config.eval_sentences]
    scores, _ = evaluate_translation(core, examples, src, tgt, device=run.device)
    metrics = {
        "step": state.step,
        "valid_loss": round(loss, 4),
        "valid_bleu": round(scores.bleu, 2),
        "train_loss": round(train_loss, 4),
        "minutes": round(state.elapsed / 60, 2),
    }
    with open(run.out_dir / "log.jsonl", "a") as log:
        log.write(json.dumps(metrics) + "\n")
    _save(run, metrics)
    return metrics


def _save(run: TrainingRun, metrics: dict) -> None:
    """last.pt (everything, to resume); best.pt and step-<S>.pt (weights only) when asked."""
    state, config = run.progress, run.config
    common = {
        "model": run.core,
        "step": state.step,
        "config": dataclasses.asdict(config),
        "tokenizers": {k: t.to_state() for k, t in run.tokenizers.items()},
        "metrics": metrics,
    }
    if metrics["valid_bleu"] > state.best_bleu:
        state.best_bleu = metrics["valid_bleu"]
        save_checkpoint(run.out_dir / "best.pt", **common)
    if config.keep_checkpoints:
        save_checkpoint(run.out_dir / f"step-{state.step}.pt", **common)
        kept = sorted(run.out_dir.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
        for old in kept[: -config.keep_checkpoints]:
            old.unlink()
    extra = {k: v for k, v in dataclasses.asdict(state).items() if k != "step"}
    save_checkpoint(
        run.out_dir / "last.pt",
        optimizer=run.optimizer,
        scheduler=run.scheduler,
        scaler=run.precision.scaler,
        extra=extra,
        **common,
    )


def limiting_budget(
    config: TrainConfig, step: int, elapsed: float, seconds_per_step: float | None
) -> Literal["steps", "minutes"]:
    """ "minutes" when the ``max_minutes`` budget will end the run before ``max_steps`` at
    ``seconds_per_step`` (the pace so far), else "steps"; "steps" while the pace is unknown."""
    if config.max_minutes is None or seconds_per_step is None:
        return "steps"
    finish = elapsed + (config.max_steps - step) * seconds_per_step
    return "minutes" if finish > 60 * config.max_minutes else "steps"


class _Display:
    """A progress bar (or, without one, a line every 500 steps) counting the budget that will
    end the run: steps, or minutes when ``max_minutes`` runs out first. The loss it shows is
    the one the loop last read from the device (every ``SYNC_EVERY`` steps)."""

    STEPS = "{l_bar}{bar}| {n_fmt}/{total_fmt} steps [{elapsed}<{remaining}{postfix}]"
    MINUTES = "{l_bar}{bar}| {n:.2f}/{total:g} min [{elapsed}<{remaining}{postfix}]"

    def __init__(self, run: TrainingRun, *, enabled: bool) -> None:
        self.run, self.enabled = run, enabled
        self.first_step, self.started = run.progress.step, time.perf_counter()
        self.window_tokens, self.window_start = 0, time.perf_counter()
        self.budget = "steps"
        config = run.config
        budget = f"{config.max_steps} steps"
        if config.max_minutes is not None:
            budget += f" or {config.max_minutes:g} minutes, whichever ends first"
        run.log(f"budget: {budget}")
        self.bar = tqdm(
            total=config.max_steps,
            initial=run.progress.step,
            disable=not enabled,
            desc="training",
            bar_format=self.STEPS,
        )

    def update(self, result: StepResult) -> None:
        """Advance the bar after an update; reads nothing from the device."""
        state, config = self.run.progress, self.run.config
        self.window_tokens += result.tokens * self.run.world
        pace = (time.perf_counter() - self.started) / (state.step - self.first_step)
        budget = limiting_budget(config, state.step, state.elapsed, pace)
        if budget != self.budget:
            self._switch(budget)
        done = state.step if budget == "steps" else state.elapsed / 60
        self.bar.update(done - self.bar.n)

    def _switch(self, budget: str) -> None:
        config, state = self.run.config, self.run.progress
        self.budget = budget
        total = config.max_steps if budget == "steps" else config.max_minutes
        self.bar.bar_format = self.STEPS if budget == "steps" else self.MINUTES
        self.bar.reset(total=total)
        done = state.step if budget == "steps" else state.elapsed / 60
        self.bar.initial = self.bar.n = self.bar.last_print_n = done

    def report(self, loss: float) -> None:
        """Show the latest loss, learning rate and tokens/s since the last report; without a
        bar, log a line every 500 steps."""
        state, config = self.run.progress, self.run.config
        rate = self.window_tokens / max(time.perf_counter() - self.window_start, 1e-9)
        lr = self.run.scheduler.get_last_lr()[0]
        self.bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{rate:,.0f}")
        if not self.enabled and state.step % 500 == 0:
            where = f"step {state.step}/{config.max_steps}"
            if self.budget == "minutes":
                where += f", {state.elapsed / 60:.1f}/{config.max_minutes:g} min"
            self.run.log(f"{where}: loss {loss:.3f}, lr {lr:.2e}, {rate:,.0f} tokens/s")
        self.window_tokens, self.window_start = 0, time.perf_counter()

    def write(self, message: str) -> None:
        if message and self.enabled:
            self.bar.write(message)
        elif message:
            self.run.log(message)

    def close(self) -> None:
        self.bar.close()
