"""Figures the course draws again and again, first used in `01_dot_products_qkv`.

Every function takes an optional matplotlib ``ax`` and returns the ``Axes`` it drew on, so
notebooks can arrange several plots in a grid and tests can inspect what was drawn.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["attention_heatmap", "query_scores_bar", "softmax_temperature_bars", "to_numpy"]


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
