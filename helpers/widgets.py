"""The pure functions behind the notebooks' interactive widgets, used in `00_start_here` on.

A widget cell in a notebook holds only the thin ``ipywidgets`` wiring; what it shows is
computed here, so it can be unit-tested and read on its own. Each function takes the
widget's values and returns what the figure shows (numbers, or a drawn matplotlib ``Axes``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__: list[str] = [
    "query_attention",  # 00
    "query_attention_panels",  # 00
    "edited_projection_attention",  # 01
    "dk_saturation",  # 02
    "dk_saturation_bars",  # 02
]


# ---------------------------------------------------------------- 00_start_here

DEMO_KEY_NAMES = ("key A", "key B", "key C")
DEMO_KEYS = 1.5 * np.array(
    [[np.cos(a), np.sin(a)] for a in np.deg2rad([0.0, 120.0, 240.0])]
)  # (S, 2) = (3, 2): three keys of length 1.5, 120° apart


def query_attention(
    angle_degrees: float, length: float = 1.0, keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 2-D query against fixed keys: the query (2,), its scores (S,), their softmax (S,).

    The query points at ``angle_degrees`` (0° along the x axis, counter-clockwise) and has
    the given ``length`` ≥ 0; its score against key j is the dot product q · k_j, and the
    weights are the softmax of the scores. ``keys``: (S, 2), by default ``DEMO_KEYS``. The
    widget of `00_start_here` draws them as sliders turn and stretch the query.
    """
    if not np.isfinite(length) or length < 0:
        raise ValueError(f"length must be a finite number >= 0; got {length!r}")
    keys = DEMO_KEYS if keys is None else np.asarray(keys, dtype=float)
    if keys.ndim != 2 or keys.shape[1] != 2:
        raise ValueError(f"keys must be (S, 2), one 2-D key per row; got shape {keys.shape}")
    angle = np.deg2rad(angle_degrees)
    query = length * np.array([np.cos(angle), np.sin(angle)])  # (2,)
    scores = keys @ query  # (S,): q · k_j for every key j
    return query, scores, _softmax_rows(scores)


def _draw_vectors(ax: plt.Axes, query: np.ndarray, keys: np.ndarray, names) -> None:
    """The keys as grey arrows and the query as a red one, from the origin."""
    limit = 3.4
    vectors = [(k, name, "0.45") for k, name in zip(keys, names, strict=True)]
    for vector, name, colour in [*vectors, (query, "query", "red")]:
        arrow = {"arrowstyle": "-|>", "color": colour, "lw": 2}
        ax.annotate("", xy=vector, xytext=(0, 0), arrowprops=arrow)
        if np.hypot(*vector) > 0.2:
            tip = vector * (1 + 0.6 / np.hypot(*vector))
            ax.text(*tip, name, color=colour, ha="center", va="center", fontsize=9)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", xlabel="x", ylabel="y")
    ax.grid(alpha=0.3)


def query_attention_panels(angle_degrees: float, length: float = 1.0, *, axes=None) -> np.ndarray:
    """Three panels of :func:`query_attention` with the default keys: the vectors, the scores,
    the softmax weights. ``axes``: three matplotlib Axes (a new figure when None); returns them.
    """
    from helpers.plotting import query_scores_bar  # plotting imports torch: load it on use

    query, scores, weights = query_attention(angle_degrees, length)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 1, 1]})
    _draw_vectors(axes[0], query, DEMO_KEYS, DEMO_KEY_NAMES)
    axes[0].set_title(f"query at {angle_degrees:.0f}°, length {length:.2f}")
    query_scores_bar(scores, DEMO_KEY_NAMES, "q", ax=axes[1], title="scores q · k")
    axes[1].set_ylim(-5.2, 5.2)
    query_scores_bar(weights, DEMO_KEY_NAMES, "q", ax=axes[2], ylabel="weight",
                     title="softmax weights (sum to 1)")  # fmt: skip
    axes[2].set_ylim(0, 1.12)
    axes[0].figure.tight_layout()
    return np.asarray(axes)


# ---------------------------------------------------------------- 01_dot_products_qkv


def edited_projection_attention(
    X: np.ndarray,
    W_Q: np.ndarray,
    W_K: np.ndarray,
    *,
    matrix: str,
    feature: int,
    column: int,
    value: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores Q Kᵀ and their softmax weights after setting one entry of W_Q or W_K.

    X: (T, D); W_Q, W_K: (D, Dh). On a copy, sets ``W_Q[feature, column] = value`` (``matrix``
    "W_Q") or the same entry of W_K (``matrix`` "W_K"); returns (scores (T, T), weights
    (T, T)), each row of the weights the softmax of that row of scores. The inputs are left
    unchanged. The widget of `01_dot_products_qkv` draws the weights as a slider moves.
    """
    if matrix not in ("W_Q", "W_K"):
        raise ValueError(f'matrix must be "W_Q" or "W_K"; got {matrix!r}')
    X, W_Q, W_K = (np.asarray(a, dtype=float) for a in (X, W_Q, W_K))
    if X.ndim != 2 or W_Q.shape != W_K.shape or W_Q.shape[:1] != X.shape[1:]:
        raise ValueError(
            f"expected X (T, D) and W_Q, W_K both (D, Dh); got X {X.shape}, "
            f"W_Q {W_Q.shape}, W_K {W_K.shape}"
        )
    edited = {"W_Q": W_Q.copy(), "W_K": W_K.copy()}
    edited[matrix][feature, column] = value
    scores = (X @ edited["W_Q"]) @ (X @ edited["W_K"]).T  # (T, Dh) @ (Dh, T) -> (T, T)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return scores, exp / exp.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- 02_softmax_and_attention


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _entropy_bits(weights: np.ndarray) -> np.ndarray:
    """-Σ w log2 w along the last axis, with 0 log 0 = 0: log2(n) for n equal weights."""
    terms = np.where(weights > 0, weights * np.log2(np.where(weights > 0, weights, 1.0)), 0.0)
    return -terms.sum(axis=-1)


def dk_saturation(
    d_k: int, *, n_keys: int = 8, n_queries: int = 500, max_d_k: int = 512, seed: int = 0
) -> dict[str, np.ndarray | float]:
    """How saturated the softmax of random scores is at width d_k, unscaled and scaled.

    Each of ``n_queries`` random queries is scored against its own ``n_keys`` random keys;
    queries and keys are the first ``d_k`` entries of fixed standard-normal vectors of width
    ``max_d_k`` (drawn with ``seed``), so a larger d_k adds terms to the same dot products.
    For the softmax of the scores q · k (``unscaled``) and of q · k / √d_k (``scaled``)
    returns: the weights sorted from largest to smallest and averaged over the queries,
    (n_keys,), under ``unscaled`` and ``scaled``; the mean largest weight (``max_unscaled``,
    ``max_scaled``); and the mean entropy in bits (``entropy_unscaled``, ``entropy_scaled``:
    log2(n_keys) for uniform weights, 0 for one-hot). The widget of
    `02_softmax_and_attention` draws them as a slider moves d_k.
    """
    if isinstance(d_k, bool) or not isinstance(d_k, (int, np.integer)) or not 1 <= d_k <= max_d_k:
        raise ValueError(f"d_k must be an integer in [1, max_d_k={max_d_k}]; got {d_k!r}")
    if n_keys < 2 or n_queries < 1:
        raise ValueError(f"need n_keys >= 2 and n_queries >= 1; got {n_keys} and {n_queries}")
    vectors = np.random.default_rng(seed).standard_normal((n_queries, n_keys + 1, max_d_k))
    q, keys = vectors[:, :1, :d_k], vectors[:, 1:, :d_k]  # (n_queries, 1 | n_keys, d_k)
    scores = (q * keys).sum(axis=-1)  # (n_queries, n_keys)
    result: dict[str, np.ndarray | float] = {}
    for kind, scaled_scores in (("unscaled", scores), ("scaled", scores / np.sqrt(d_k))):
        weights = _softmax_rows(scaled_scores)
        result[kind] = -np.sort(-weights, axis=-1).mean(axis=0)
        result[f"max_{kind}"] = float(weights.max(axis=-1).mean())
        result[f"entropy_{kind}"] = float(_entropy_bits(weights).mean())
    return result


def dk_saturation_bars(d_k: int, *, n_keys: int = 8, seed: int = 0, axes=None) -> np.ndarray:
    """Bar charts of :func:`dk_saturation`: unscaled weights left, scaled weights right.

    Bar r is the r-th largest weight, averaged over the random queries; each panel's title
    gives the mean largest weight and entropy, and a dotted line marks the uniform weight
    1/n_keys. ``axes``: two matplotlib Axes (a new figure when None). Returns the two Axes.
    """
    result = dk_saturation(d_k, n_keys=n_keys, seed=seed)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    titles = {"unscaled": "unscaled: softmax(q·k)", "scaled": "scaled: softmax(q·k / √$d_k$)"}
    for ax, (kind, title) in zip(axes, titles.items(), strict=True):
        ax.bar(
            range(1, n_keys + 1), result[kind], color=["tab:orange"] + ["tab:blue"] * (n_keys - 1)
        )
        ax.axhline(1 / n_keys, color="gray", linestyle=":", label=f"uniform, 1/{n_keys}")
        ax.set(xlabel="key, by rank of its weight", xticks=range(1, n_keys + 1), ylim=(0, 1.05))
        ax.set_title(
            f"{title}\nlargest weight {result[f'max_{kind}']:.2f}, "
            f"entropy {result[f'entropy_{kind}']:.2f} of {np.log2(n_keys):.0f} bits",
            fontsize=10,
        )
    axes[0].set_ylabel("weight (mean over queries)")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].figure.suptitle(f"$d_k$ = {d_k}: random queries, each against {n_keys} random keys")
    axes[0].figure.tight_layout()
    return np.asarray(axes)
