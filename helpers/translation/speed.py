"""How fast a training step runs and what changes it: number formats, attention kernels,
``torch.compile`` and host-device syncs; used in `05_training_translation` and by
``benchmarks/training.py``.

Every measurement times the same training step (``loop.train_step``: forward, label-smoothed
loss, backward, clipping, Adam) of a model on the same batches, and changes one thing. The
clock reads the time after the device has finished (``torch.cuda.synchronize`` on a GPU,
which queues work and returns at once), and peak memory is the most PyTorch's CUDA
allocator held (``torch.cuda.max_memory_allocated``; not measured on other devices).

A GPU run of ``bash benchmarks/gpu_check.sh`` records its figures in
``benchmarks/gpu_results.json``; ``recorded_gpu_figures`` reads them, so that a learner on a
CPU sees the figures of a real GPU beside their own, or "not measured yet".
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from helpers._utils import SDPA_BACKENDS, check_positive_int, first_sentence
from helpers.translation.batching import TranslationBatch
from helpers.translation.loop import train_step
from helpers.translation.precision import (
    MixedPrecision,
    maybe_compile,
    native_bf16,
    set_fused_attention,
)

__all__ = [
    "GPU_RESULTS",
    "SDPA_BACKENDS",
    "BackendCheck",
    "CompileCheck",
    "Speed",
    "as_record",
    "compile_speedup",
    "describe_gpu_figures",
    "format_speeds",
    "host_sync_cost",
    "number_formats",
    "recorded_gpu_figures",
    "sdpa_backends",
    "seconds_per_call",
    "synthetic_batches",
    "training_step",
]

GPU_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_results.json"
NOT_MEASURED = "not measured yet"


@dataclass(frozen=True)
class Speed:
    """Target tokens per second of a training step, and the peak GPU memory (MiB) it took."""

    tokens_per_second: float
    peak_memory_mib: float | None = None  # CUDA only

    def __str__(self) -> str:
        memory = "" if self.peak_memory_mib is None else f", peak {self.peak_memory_mib:,.0f} MiB"
        return f"{self.tokens_per_second:9,.0f} target tokens/s{memory}"


def synthetic_batches(
    max_tokens: int,
    count: int,
    vocab_sizes: tuple[int, int],
    device: torch.device | str,
    *,
    pad_id: int = 0,
    lengths: tuple[int, int] = (5, 24),
    padded: bool = True,
    seed: int = 0,
) -> list[TranslationBatch]:
    """``count`` batches of random ids, B × (L + 1) ≤ ``max_tokens`` tokens each, with L drawn
    from ``lengths`` per batch, like token-budget batches of a translation corpus.

    With ``padded`` each pair is 0 to 3 tokens shorter than L on both sides (right-padded, as
    bucketed batches are); without, every sentence has exactly L tokens, so no position is
    padding.
    """
    check_positive_int("count", count)
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        L = int(torch.randint(lengths[0], lengths[1] + 1, (1,), generator=generator))
        B = max(1, max_tokens // (L + 1))
        if padded:
            real = torch.randint(max(2, L - 3), L + 1, (B,), generator=generator)
        else:
            real = torch.full((B,), L)
        src = torch.randint(4, vocab_sizes[0], (B, L), generator=generator)
        tgt = torch.randint(4, vocab_sizes[1], (B, L + 1), generator=generator)
        tgt_in, tgt_out = tgt[:, :-1].clone(), tgt[:, 1:].clone()
        padding = torch.arange(L) >= real[:, None]  # (B, L), the same for source and target
        for ids in (src, tgt_in, tgt_out):
            ids[padding] = pad_id
        tokens = int(real.sum())
        batch = TranslationBatch(src, tgt_in, tgt_out, ~padding, ~padding, tokens)
        batches.append(batch.to(device))
    return batches


def _wait(device: torch.device) -> None:
    """Block until ``device`` has done the work queued so far (a GPU runs behind the host)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(
    fn: Callable[[], object], device: torch.device | str, calls: int = 3, warmup: int = 1
) -> float:
    """Mean seconds per call of ``fn()`` over ``calls`` calls made back to back, after
    ``warmup`` untimed calls; the device is waited for before the clock starts and before it
    stops, never in between (as in a training loop that does not sync)."""
    check_positive_int("calls", calls)
    device = torch.device(device)
    for _ in range(warmup):
        fn()
    _wait(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    _wait(device)
    return (time.perf_counter() - start) / calls


def training_step(
    model: nn.Module,
    batches: Sequence[TranslationBatch],
    precision: MixedPrecision,
    *,
    pad_id: int,
    read_loss: bool = False,
) -> Callable[[], None]:
    """A function that takes one ``train_step`` (Adam, label smoothing 0.1, clipping at 1) on
    the next of ``batches`` each call. With ``read_loss`` it also reads the loss on the host,
    ``float(result.loss)``: on a GPU the host then waits for the GPU after every step."""
    device = next(model.parameters()).device
    fused = True if device.type == "cuda" else None
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused)
    calls = iter(range(10**12))

    def step() -> None:
        batch = batches[next(calls) % len(batches)]
        result = train_step(
            model, batch, optimizer, precision, pad_id=pad_id, label_smoothing=0.1, clip_norm=1.0
        )
        if read_loss:
            float(result.loss)

    return step


def _speed(step: Callable[[], None], tokens: float, device: torch.device, calls: int) -> Speed:
    """The speed of ``step`` (``tokens`` target tokens per call), with its peak CUDA memory."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    seconds = seconds_per_call(step, device, calls)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return Speed(tokens / seconds, peak)


def _mean_tokens(batches: Sequence[TranslationBatch]) -> float:
    return sum(batch.num_tgt_tokens for batch in batches) / len(batches)


def number_formats(device: torch.device | str) -> list[str]:
    """The number formats worth timing on ``device``: fp32 everywhere; bf16 autocast on the
    CPU; on a CUDA GPU tf32 (compute capability 8.0, Ampere, and newer), bf16 (where native)
    and fp16 with loss scaling."""
    device = torch.device(device)
    if device.type == "cpu":
        return ["fp32", "bf16"]
    if device.type != "cuda":
        return ["fp32"]
    formats = ["fp32"]
    if torch.cuda.get_device_capability(device) >= (8, 0):
        formats.append("tf32")
    if native_bf16(device):
        formats.append("bf16")
    return [*formats, "fp16"]


@contextlib.contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    """float32 matrix products on TF32 tensor cores (10-bit mantissa inputs) while inside."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if enabled else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def format_speeds(
    make_model: Callable[[], nn.Module],
    batches: Sequence[TranslationBatch],
    rows: Sequence[tuple[str, str]],
    *,
    pad_id: int,
    calls: int = 3,
) -> dict[tuple[str, str], Speed]:
    """(number format, attention) -> the training speed of a fresh ``make_model()`` (seeded
    the same each time) with that format ("fp32", "tf32", "bf16" or "fp16") and attention
    ("fused": PyTorch's kernel, "course": the course's own), on ``batches``' device."""
    device = batches[0].src.device
    speeds = {}
    for number_format, attention in rows:
        torch.manual_seed(0)
        model = make_model().to(device).train()
        set_fused_attention(model, attention == "fused")
        precision = MixedPrecision(device, "fp32" if number_format == "tf32" else number_format)
        with _tf32(number_format == "tf32"):
            step = training_step(model, batches, precision, pad_id=pad_id)
            speeds[number_format, attention] = _speed(step, _mean_tokens(batches), device, calls)
        del model, step
    return speeds


@dataclass(frozen=True)
class BackendCheck:
    """One backend of ``scaled_dot_product_attention`` on a whole model: forward + backward
    seconds and the largest difference from the math backend, relative to the largest value
    (of the logits, and of the gradients), or why it could not run."""

    backend: str
    seconds: float | None
    max_difference: float | None
    note: str = ""

    def __str__(self) -> str:
        if self.seconds is None:
            return f"{self.backend:20s} cannot run here: {self.note}"
        return (
            f"{self.backend:20s} {1000 * self.seconds:8.1f} ms, largest difference from MATH "
            f"{self.max_difference:.1e} (relative)"
        )


def _forward_backward(
    model: nn.Module, batch: TranslationBatch, precision: MixedPrecision
) -> list[torch.Tensor]:
    """The logits of ``batch`` and the gradient of their sum, flattened, for comparing."""
    model.zero_grad(set_to_none=True)
    with precision.autocast():
        logits = model(batch.src, batch.tgt_in)
    logits.float().sum().backward()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    return [logits.detach().flatten().float(), torch.cat(grads).float()]


def sdpa_backends(
    model: nn.Module, batch: TranslationBatch, number_format: str = "fp32", *, calls: int = 3
) -> list[BackendCheck]:
    """Run ``model`` (its attention switched to PyTorch's fused path) forward and backward on
    ``batch`` in ``number_format`` under each of ``SDPA_BACKENDS`` alone
    (``torch.nn.attention.sdpa_kernel``), in eval mode so that no dropout makes the backends
    differ; the model returns to its mode. (On CUDA the flash kernel runs in bf16 and fp16
    only.)

    A backend that cannot run these inputs on this device (not built for it, or refusing an
    explicit mask or the number format, as the flash kernel does on CUDA) is reported with the
    first sentence of its error, not raised."""
    device = batch.src.device
    precision = MixedPrecision(device, number_format)
    was_training = model.training
    set_fused_attention(model, True)
    model.eval()
    checks = []
    try:
        with sdpa_kernel(SDPBackend.MATH):
            reference = _forward_backward(model, batch, precision)
        for name in SDPA_BACKENDS:
            try:
                with sdpa_kernel(getattr(SDPBackend, name)):
                    result = _forward_backward(model, batch, precision)
                    seconds = seconds_per_call(
                        lambda: _forward_backward(model, batch, precision), device, calls, warmup=0
                    )
            except RuntimeError as error:
                checks.append(BackendCheck(name, None, None, first_sentence(error)))
                continue
            difference = max(
                float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
                for a, b in zip(result, reference, strict=True)
            )
            checks.append(BackendCheck(name, seconds, difference))
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return checks


@dataclass(frozen=True)
class CompileCheck:
    """Eager against ``torch.compile``: both speeds, the seconds the first, compiling passes
    took, or why compiling did not happen."""

    eager: Speed
    compiled: Speed | None
    compile_seconds: float | None
    note: str

    @property
    def speedup(self) -> float | None:
        if self.compiled is None:
            return None
        return self.compiled.tokens_per_second / self.eager.tokens_per_second


def compile_speedup(
    make_model: Callable[[], nn.Module],
    batches: Sequence[TranslationBatch],
    number_format: str,
    *,
    pad_id: int,
    calls: int = 3,
) -> CompileCheck:
    """The training speed of a fresh ``make_model()`` eagerly and under ``torch.compile``
    (via ``precision.maybe_compile``, which skips platforms where it is not dependable);
    compilation happens during two untimed passes over ``batches`` (a new shape compiles,
    and after a second shape ``torch.compile`` recompiles once for dynamic shapes), whose
    seconds are reported."""
    device = batches[0].src.device
    precision = MixedPrecision(device, number_format)
    tokens = _mean_tokens(batches)
    torch.manual_seed(0)
    eager = _speed(
        training_step(make_model().to(device), batches, precision, pad_id=pad_id),
        tokens,
        device,
        calls,
    )
    torch.manual_seed(0)
    model = make_model().to(device)
    compiled, message = maybe_compile(model, True)
    if compiled is model:
        return CompileCheck(eager, None, None, message)
    step = training_step(compiled, batches, precision, pad_id=pad_id)
    start = time.perf_counter()
    try:
        for _ in range(2 * len(batches)):  # each shape, then each again with dynamic shapes
            step()
        _wait(device)
    except Exception as error:  # noqa: BLE001 - backends fail in many ways; report, do not crash
        first = (str(error).strip().splitlines() or [""])[0]
        return CompileCheck(
            eager, None, None, f"torch.compile failed: {type(error).__name__}: {first}"
        )
    compile_seconds = time.perf_counter() - start
    return CompileCheck(eager, _speed(step, tokens, device, calls), compile_seconds, message)


def host_sync_cost(
    make_model: Callable[[], nn.Module],
    batches: Sequence[TranslationBatch],
    number_format: str,
    *,
    pad_id: int,
    calls: int = 3,
) -> tuple[Speed, Speed]:
    """(speed without reading the loss, speed reading it after every step): what a per-step
    host-device sync costs, for a fresh ``make_model()`` in ``number_format``."""
    device = batches[0].src.device
    speeds = []
    for read_loss in (False, True):
        torch.manual_seed(0)
        model = make_model().to(device)
        step = training_step(
            model, batches, MixedPrecision(device, number_format), pad_id=pad_id,
            read_loss=read_loss,
        )  # fmt: skip
        speeds.append(_speed(step, _mean_tokens(batches), device, calls))
    return speeds[0], speeds[1]


def recorded_gpu_figures(path: str | Path = GPU_RESULTS) -> dict:
    """The figures of the last GPU run (``bash benchmarks/gpu_check.sh``), as recorded in
    ``benchmarks/gpu_results.json``: its "status" is "measured" for a GPU run ("not measured
    yet" until there is one), with the card, date, versions and command of the run beside
    the figures of each section."""
    with open(path, encoding="utf-8") as file:
        figures = json.load(file)
    if not isinstance(figures, dict) or "status" not in figures:
        raise ValueError(f"{path} is not a results file: it has no 'status'")
    return figures


def as_record(value: object) -> object:
    """``Speed``, ``BackendCheck`` and ``CompileCheck`` values (in dicts and lists, with tuple
    keys joined by "/") as plain JSON-ready data, for ``benchmarks/gpu_results.json``."""
    if isinstance(value, (Speed, BackendCheck, CompileCheck)):
        return {k: as_record(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {"/".join(k) if isinstance(k, tuple) else k: as_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_record(v) for v in value]
    return value


def describe_gpu_figures(section: str, path: str | Path = GPU_RESULTS) -> str:
    """The recorded GPU figures of one ``section`` of ``benchmarks/gpu_results.json``
    ("formats", "sdpa", "compile", "host_sync", "reference" or "multi30k") as lines to print
    beside a CPU measurement, headed by the card, date and versions; or "GPU figure: not
    measured yet" when no GPU run has been recorded."""
    figures = recorded_gpu_figures(path)
    if figures["status"] != "measured" or figures.get(section) is None:
        return (
            f"GPU figure: {NOT_MEASURED} (benchmarks/gpu_results.json records no GPU run; "
            "`bash benchmarks/gpu_check.sh` on a CUDA machine makes one)"
        )
    header = (
        f"GPU figures ({figures['card']}, {figures['date']}, torch {figures['torch']}, "
        f"CUDA {figures['cuda']}; `{figures['command']}`):"
    )
    return "\n".join([header, *_SECTION_LINES[section](figures[section])])


def _speed_text(record: dict) -> str:
    return str(Speed(**record))


def _format_lines(records: dict) -> list[str]:
    return [f"  {key:12s} {_speed_text(record)}" for key, record in records.items()]


def _sdpa_lines(records: dict) -> list[str]:
    return [
        f"  {batches} batches: {BackendCheck(**check)}"
        for batches, checks in records.items()
        for check in checks
    ]


def _compile_lines(record: dict) -> list[str]:
    lines = [f"  eager:    {_speed_text(record['eager'])}"]
    if record["compiled"] is None:
        return [*lines, f"  compiled: not run ({record['note']})"]
    ratio = record["compiled"]["tokens_per_second"] / record["eager"]["tokens_per_second"]
    return [
        *lines,
        f"  compiled: {_speed_text(record['compiled'])} ({ratio:.2f}x eager; the two "
        f"compiling passes took {record['compile_seconds']:.0f} s)",
    ]


def _sync_lines(record: dict) -> list[str]:
    without, every = (
        record["without"]["tokens_per_second"],
        record["every_step"]["tokens_per_second"],
    )
    return [
        f"  loss left on the GPU:   {_speed_text(record['without'])}",
        f"  loss read every step:   {_speed_text(record['every_step'])} "
        f"({without / every:.2f}x the time per token)",
    ]


def _reference_lines(records: dict) -> list[str]:
    return [
        f"  {number_format:5s} {model:28s} {_speed_text(record)}"
        for number_format, rows in records.items()
        for model, record in rows.items()
    ]


def _multi30k_lines(record: dict) -> list[str]:
    return [
        f"  {record['dataset']}, notebook 05's GPU run: {record['steps']:,} steps in "
        f"{record['minutes']:.1f} min; test BLEU {record['test_bleu']:.1f} (beam "
        f"{record['beam']}; {record['bleu_signature']})"
    ]


_SECTION_LINES = {
    "formats": _format_lines,
    "sdpa": _sdpa_lines,
    "compile": _compile_lines,
    "host_sync": _sync_lines,
    "reference": _reference_lines,
    "multi30k": _multi30k_lines,
}
