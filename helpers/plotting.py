"""Figures the course draws again and again, first used in `01_dot_products_qkv`.

Every function takes an optional matplotlib ``ax`` and returns the ``Axes`` it drew on, so
notebooks can arrange several plots in a grid and tests can inspect what was drawn.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch

from helpers._utils import describe_shape

__all__ = [
    "aer_bars",
    "alignment_heatmap",
    "attention_heads_grid",
    "attention_heatmap",
    "decoding_steps",
    "layer_head_heatmap",
    "query_scores_bar",
    "softmax_temperature_bars",
    "to_numpy",
]


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of an array-like (NumPy array, torch tensor on any device, nested list)."""
    if torch.is_tensor(x):
        return x.detach().to("cpu", torch.float32 if x.is_floating_point() else None).numpy()
    return np.asarray(x)


def attention_heatmap(
    weights,
    query_tokens: Sequence[str] | None = None,
    key_tokens: Sequence[str] | None = None,
    *,
    ax: plt.Axes | None = None,
    annotate: bool = False,
    title: str = "Attention weights",
    cmap: str = "viridis",
    vmin: float | None = 0.0,
    vmax: float | None = None,
    colorbar: bool = True,
    fmt: str = "{:.2f}",
) -> plt.Axes:
    """Heatmap of a (T, S) matrix: one row per query token, one column per key token.

    weights: (T, S) array or tensor (attention weights, or raw scores with ``vmin=None``).
    query_tokens / key_tokens label the rows / columns (length T / S).
    ``annotate=True`` writes each value in its cell. First used in `01_dot_products_qkv`.
    """
    w = to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (T, S) matrix; got shape {w.shape}")
    T, S = w.shape
    for name, tokens, n, axis in (
        ("query_tokens", query_tokens, T, "T"),
        ("key_tokens", key_tokens, S, "S"),
    ):
        if tokens is not None and len(tokens) != n:
            raise ValueError(f"{name} must have one label per row of {axis}={n}; got {len(tokens)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * S + 2.5, 0.5 * T + 1.5))
    image = ax.imshow(w, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(S), labels=list(key_tokens) if key_tokens is not None else range(S))
    ax.set_yticks(range(T), labels=list(query_tokens) if query_tokens is not None else range(T))
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title)
    if annotate:
        middle = (np.nanmin(w) + np.nanmax(w)) / 2 if w.size else 0.0
        for i in range(T):
            for j in range(S):
                color = "black" if w[i, j] > middle else "white"
                ax.text(
                    j, i, fmt.format(w[i, j]), ha="center", va="center", color=color, fontsize=8
                )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def _bars_best_highlighted(
    values: np.ndarray, best: np.ndarray, labels, *, ax: plt.Axes | None, fmt: str
) -> plt.Axes:
    """One bar per key, each labelled with its value; the ``best`` bars in orange."""
    S = values.shape[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(8.0, 0.8 * S + 2.0), 3.2))
    bars = ax.bar(range(S), values, color=np.where(best, "tab:orange", "tab:blue"))
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(S), labels=list(labels) if labels is not None else list(range(S)))
    ax.set_xlabel("key")
    return ax


def query_scores_bar(
    scores,
    key_tokens: Sequence[str],
    query_token: str,
    *,
    ax: plt.Axes | None = None,
    title: str | None = None,
    ylabel: str = "score",
    fmt: str = "{:.2f}",
) -> plt.Axes:
    """Bar chart of one query's scores against every key, the best-matching key(s) highlighted.

    scores: (S,) array or tensor, one row of a (T, S) score matrix.
    key_tokens label the S bars; query_token names the query in the default title.
    First used in `01_dot_products_qkv`, where a widget redraws it for the chosen query.
    """
    s = to_numpy(scores)
    if s.ndim != 1 or s.shape[0] == 0:
        raise ValueError(
            f"scores must be a non-empty 1-D vector (S,), one query's scores; got shape {s.shape}"
        )
    S = s.shape[0]
    if len(key_tokens) != S:
        raise ValueError(f"key_tokens must have one label per score, S={S}; got {len(key_tokens)}")
    ax = _bars_best_highlighted(s, np.isclose(s, s.max()), key_tokens, ax=ax, fmt=fmt)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.margins(y=0.2)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f'Scores of the query "{query_token}"')
    return ax


def softmax_temperature_bars(
    logits,
    temperature: float,
    *,
    labels: Sequence[str] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Bar chart of softmax(logits / temperature): a low temperature sharpens, a high one flattens.

    logits: (S,) array or tensor of scores, e.g. one query's scores against S keys;
    labels name the S bars. The largest logit's bar is highlighted, each weight is written
    above its bar, and the y-axis is fixed to [0, 1] so that temperatures compare at a glance.
    Drawn in `02_softmax_and_attention`, where a widget redraws it as a slider moves.
    """
    z = to_numpy(logits).astype(np.float64)
    if z.ndim != 1 or z.shape[0] == 0:
        raise ValueError(f"logits must be a non-empty 1-D vector (S,); got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"logits must be finite numbers; got {z.tolist()}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not 0.0 < float(temperature) < float("inf")
    ):
        raise ValueError(f"temperature must be a positive, finite number; got {temperature!r}")
    S = z.shape[0]
    if labels is not None and len(labels) != S:
        raise ValueError(f"labels must have one label per logit, S={S}; got {len(labels)}")
    scaled = z / float(temperature)
    weights = np.exp(scaled - scaled.max())
    weights /= weights.sum()
    ax = _bars_best_highlighted(weights, np.isclose(z, z.max()), labels, ax=ax, fmt="{:.2f}")
    ax.set_ylim(0.0, 1.12)
    ax.set_ylabel("softmax weight")
    ax.set_title(f"softmax at τ = {float(temperature):.3g}")
    return ax


def attention_heads_grid(
    weights,
    query_tokens: Sequence[str] | None = None,
    key_tokens: Sequence[str] | None = None,
    *,
    heads: Sequence[int] | None = None,
    title: str | None = None,
    ncols: int = 2,
    annotate: bool = False,
) -> plt.Figure:
    """One attention heatmap per head, side by side on one colour scale from 0 to 1.

    weights: (H, T, S) array or tensor, e.g. ``weights[b]`` of a (B, H, T, S) batch.
    query_tokens / key_tokens label the rows / columns (length T / S) of every map.
    ``heads`` picks the heads to draw (default: all H), each titled "head h"; at most
    ``ncols`` maps per row, and one colour bar for all. Returns the ``Figure``.
    Drawn in `03_multi_head_attention`, where a widget redraws it for a chosen model,
    head and sequence.
    """
    w = to_numpy(weights)
    if w.ndim != 3:
        raise ValueError(
            f"weights must be a 3-D (H, T, S) stack, one map per head; got shape {w.shape}"
        )
    H, T, S = w.shape
    for name, tokens, n, axis in (
        ("query_tokens", query_tokens, T, "T"),
        ("key_tokens", key_tokens, S, "S"),
    ):
        if tokens is not None and len(tokens) != n:
            raise ValueError(f"{name} must have one label per row of {axis}={n}; got {len(tokens)}")
    chosen = list(range(H)) if heads is None else list(heads)
    if not chosen or not all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and 0 <= h < H for h in chosen
    ):
        raise ValueError(f"heads must be a non-empty list of indices in [0, H={H}); got {chosen}")
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer; got {ncols!r}")
    ncols = min(int(ncols), len(chosen))
    nrows = math.ceil(len(chosen) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * (0.32 * S + 1.3) + 0.8, nrows * (0.32 * T + 1.5)),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(chosen):
            ax.remove()
            continue
        h = int(chosen[i])
        attention_heatmap(
            w[h],
            query_tokens,
            key_tokens,
            ax=ax,
            title=f"head {h}",
            vmin=0.0,
            vmax=1.0,
            colorbar=False,
            annotate=annotate,
        )
        if i % ncols:
            ax.set_ylabel("")
    drawn = list(axes.flat[: len(chosen)])
    fig.colorbar(drawn[0].images[0], ax=drawn, label="attention weight", shrink=0.8)
    if title is not None:
        fig.suptitle(title)
    return fig


def decoding_steps(
    predictions: Sequence[str],
    start: Sequence[str] = ("<bos>",),
    *,
    ax: plt.Axes | None = None,
    title: str = "Greedy decoding: each prediction becomes the next input",
) -> plt.Axes:
    """The decoder feeding on its own output, one row per step of autoregressive decoding.

    predictions: the token chosen at each step (e.g. the argmax at the last position);
    start: the decoder's first input (default ``<bos>``). Row k shows the decoder's input at
    step k, ``start`` followed by the first k predictions (blue), and the token it predicts
    (orange); an arrow carries that prediction down into the next row's input.
    Drawn in `04_transformer`.
    """
    predictions, start = [str(p) for p in predictions], [str(s) for s in start]
    if not predictions or not start:
        raise ValueError(
            f"need at least one start token and one prediction; got start = {start}, "
            f"predictions = {predictions}"
        )
    n, width = len(predictions), len(start) + len(predictions)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.75 * width + 1.6, 0.55 * n + 1.2))
    colors = {"input": "#c6dbef", "prediction": "tab:orange"}
    for step, predicted in enumerate(predictions):
        tokens = start + predictions[:step]
        for position, token in enumerate([*tokens, predicted]):
            kind = "prediction" if position == len(tokens) else "input"
            box = plt.Rectangle(
                (position - 0.42, step - 0.36), 0.84, 0.72, facecolor=colors[kind], label=kind
            )
            ax.add_patch(box)
            ax.text(position, step, token, ha="center", va="center", fontsize=9)
        if step + 1 < n:
            ax.add_patch(
                FancyArrowPatch(
                    (len(tokens), step + 0.36),
                    (len(tokens), step + 0.64),
                    arrowstyle="-|>",
                    mutation_scale=8,
                    color="tab:orange",
                )
            )
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xticks(range(width))
    ax.set_yticks(range(n), labels=[f"step {k + 1}" for k in range(n)])
    ax.set_xlabel("target position")
    ax.set_title(title)
    ax.legend(
        handles=[plt.Rectangle((0, 0), 1, 1, facecolor=c, label=k) for k, c in colors.items()],
        labels=["decoder input", "predicted next token"],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
    )
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def alignment_heatmap(
    weights: torch.Tensor,
    gold: torch.Tensor | None,
    target_tokens: Sequence[str],
    source_tokens: Sequence[str],
    *,
    ax: plt.Axes | None = None,
    title: str = "Cross-attention and gold alignment",
    colorbar: bool = True,
) -> plt.Axes:
    """Cross-attention (T, S) as a heatmap, with the gold links (T, S) outlined in red.

    Rows are labelled with the target words, columns with the source words; the colour scale
    runs from 0 to 1. Drawn in `06_inspecting_attention`.
    """
    ax = attention_heatmap(
        weights, target_tokens, source_tokens, ax=ax, title=title, vmax=1.0, colorbar=colorbar
    )
    if gold is not None:
        if gold.shape != weights.shape:
            raise ValueError(
                f"gold must be a (T, S) link matrix like weights {describe_shape(weights)}; "
                f"got {describe_shape(gold)}"
            )
        rows, columns = np.nonzero(to_numpy(gold))
        ax.scatter(columns, rows, s=160, marker="s", facecolors="none", edgecolors="red", lw=1.5)
    ax.set(xlabel="source word (key)", ylabel="target word (query)")
    return ax


def layer_head_heatmap(
    values,
    *,
    title: str,
    label: str,
    ax: plt.Axes | None = None,
    fmt: str = "{:.2f}",
    cmap: str = "viridis_r",
) -> plt.Axes:
    """One number per layer and head, (L, H), as an annotated heatmap (rows: layers).

    Drawn in `06_inspecting_attention` for AER, entropy and attention mass per head.
    """
    v = to_numpy(values).astype(np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be an (L, H) matrix, one per layer and head; got {v.shape}")
    L, H = v.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * H + 2.2, 0.8 * L + 1.4))
    image = ax.imshow(v, cmap=cmap, aspect="auto")
    middle = (np.nanmin(v) + np.nanmax(v)) / 2
    high_is_dark = cmap.endswith("_r")  # viridis: high values light; viridis_r: dark
    for layer in range(L):
        for head in range(H):
            light = (v[layer, head] > middle) != high_is_dark
            color = "black" if light else "white"
            ax.text(head, layer, fmt.format(v[layer, head]), ha="center", va="center", color=color)
    ax.set_xticks(range(H), labels=[f"head {h}" for h in range(H)])
    ax.set_yticks(range(L), labels=[f"layer {layer}" for layer in range(L)])
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=label, fraction=0.046, pad=0.04)
    return ax


def aer_bars(
    values,
    baselines: dict[str, float],
    *,
    title: str,
    ax: plt.Axes | None = None,
    ylabel: str = "AER (lower is better)",
) -> plt.Axes:
    """One bar per layer and head, (L, H), beside horizontal lines for the baselines.

    ``baselines`` maps a name to its score (e.g. the diagonal alignments' AER), so that a
    head's bar reads against what no attention at all achieves. Drawn in
    `06_inspecting_attention`.
    """
    v = to_numpy(values).astype(np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be an (L, H) matrix, one per layer and head; got {v.shape}")
    L, H = v.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * L * H + 3.0, 3.2))
    x = np.arange(L * H) + np.repeat(np.arange(L), H)  # a gap between layers
    colors = plt.get_cmap("tab10")(np.repeat(np.arange(L), H))
    bars = ax.bar(x, v.flatten(), color=colors)
    ax.bar_label(bars, labels=[f"{value:.2f}" for value in v.flatten()], fontsize=7, padding=1)
    for (name, value), style in zip(
        baselines.items(), ["--", ":", "-.", (0, (5, 5))], strict=False
    ):
        ax.axhline(
            value, color="black", linestyle=style, linewidth=1.0, label=f"{name} {value:.2f}"
        )
    ax.set_xticks(x, labels=[f"{layer}.{head}" for layer in range(L) for head in range(H)])
    top = max(1.0, float(v.max())) * 1.3  # room for the legend above the bars
    ax.set(xlabel="layer.head", ylabel=ylabel, title=title, ylim=(0, top))
    ax.set_yticks(np.linspace(0.0, max(1.0, float(v.max())), 6))
    if baselines:
        ax.legend(fontsize=8, loc="upper right", ncols=len(baselines))
    return ax
