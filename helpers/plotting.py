"""Figures the course draws again and again, first used in `01_dot_products_qkv`.

Every function takes an optional matplotlib ``ax`` and returns the ``Axes`` it drew on, so
notebooks can arrange several plots in a grid and tests can inspect what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["attention_heatmap", "to_numpy"]


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
