"""Diagrams of the mechanism, drawn by code, used in `02_softmax_and_attention` and after.

Figures, each a function ``name(ax=None) -> Axes`` that draws boxes, arrows and
labels with matplotlib (no image files), labelled in the course's shape vocabulary
(B batch, H heads, T query length, S key length, D model width, Dh head width,
V vocabulary):

- ``attention_flow_diagram``: embeddings → Q, K, V → scores → mask → softmax → weighted sum
  (`02_softmax_and_attention`);
- ``multi_head_diagram``: projections, split into heads, parallel attention, merge, output
  projection (`03_multi_head_attention`);
- ``transformer_diagram``: the encoder–decoder Transformer of the 2017 paper, post-LN
  (`04_transformer`);
- ``model_families_diagram``: GPT, BERT and ViT side by side, one pre-LN block in three
  configurations (`09_beyond_translation`).

One colour per kind of block, the same in every diagram (see ``KIND_COLOURS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

__all__ = [
    "KIND_COLOURS",
    "attention_flow_diagram",
    "model_families_diagram",
    "multi_head_diagram",
    "transformer_diagram",
]

KIND_COLOURS: dict[str, str] = {
    "tensor": "#ffffff",
    "embedding": "#d9ead3",
    "projection": "#cfe2f3",
    "attention": "#fce5cd",
    "softmax": "#f4cccc",
    "reshape": "#fff2cc",
    "norm": "#d0e0e3",
    "feed-forward": "#d9d2e9",
}
KIND_NAMES: dict[str, str] = {
    "tensor": "tensor (its shape)",
    "embedding": "embedding",
    "projection": "linear projection",
    "attention": "attention",
    "softmax": "softmax",
    "reshape": "reshape (split / merge heads)",
    "norm": "add & norm",
    "feed-forward": "feed-forward",
}
HEAD_COLOURS = ("#e06666", "#6aa84f", "#3d85c6", "#8e7cc3")
EDGE = "#333333"


@dataclass(frozen=True)
class _Box:
    """A box's centre and size, in data coordinates, and its four edge midpoints."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)


def _canvas(ax: plt.Axes | None, xlim, ylim, title: str, *, scale: float = 0.72) -> plt.Axes:
    """A blank Axes with equal scales, the given limits and title.

    A new figure is sized so that one data unit is ``scale`` inches, which keeps the text
    (in points) inside the boxes (in data units).
    """
    if ax is None:
        width, height = (xlim[1] - xlim[0]) * scale, (ylim[1] - ylim[0]) * scale
        fig = plt.figure(figsize=(width, height + 0.45))
        ax = fig.add_axes((0.0, 0.0, 1.0, height / (height + 0.45)))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=13, fontweight="bold")
    return ax


def _box(
    ax: plt.Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    kind: str,
    *,
    fontsize: float = 9.5,
    dashed: bool = False,
    facecolor: str | None = None,
) -> _Box:
    """A rounded box centred at (x, y), filled with its kind's colour, with centred text."""
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=0.12",
        facecolor=facecolor or KIND_COLOURS[kind],
        edgecolor=EDGE,
        linewidth=1.2,
        linestyle="--" if dashed else "-",
        zorder=2,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return _Box(x, y, w, h)


def _arrow(ax: plt.Axes, start, end, *, color: str = EDGE, lw: float = 1.3) -> None:
    """A straight arrow from ``start`` to ``end`` (data coordinates)."""
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=12, color=color, lw=lw, zorder=1
        )
    )


def _path_arrow(ax: plt.Axes, points, *, color: str = EDGE, lw: float = 1.3) -> None:
    """A polyline through ``points`` with an arrowhead on its last segment."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, zorder=1, solid_capstyle="round")
    _arrow(ax, points[-2], points[-1], color=color, lw=lw)


def _legend(ax: plt.Axes, kinds, *, loc: str = "lower center", ncol: int | None = None) -> None:
    """A legend with one coloured patch per kind of block used in the diagram."""
    handles = [
        Patch(facecolor=KIND_COLOURS[kind], edgecolor=EDGE, label=KIND_NAMES[kind])
        for kind in kinds
    ]
    ax.legend(
        handles=handles,
        loc=loc,
        ncol=ncol or len(handles),
        fontsize=8.5,
        frameon=False,
        handlelength=1.4,
        columnspacing=1.2,
    )


def attention_flow_diagram(ax: plt.Axes | None = None) -> plt.Axes:
    """Scaled dot-product attention, step by step, with the shape of every tensor.

    X (T, D) → W_Q, W_K, W_V → Q (T, Dh), K (S, Dh), V (S, Dh) → scores Q Kᵀ / √Dh (T, S)
    → optional mask → softmax over keys → weights (T, S) → weights · V → output (T, Dh).
    Draws on ``ax`` (a new figure when None) and returns it.
    """
    ax = _canvas(ax, (-0.1, 15.6), (-0.6, 5.9), "Scaled dot-product attention")
    x = _box(ax, 0.8, 3.0, 1.5, 1.5, "token\nembeddings\nX\n(T, D)", "tensor")
    rows = {"Q": 5.0, "K": 3.0, "V": 0.8}
    names = {"Q": "queries Q\n(T, Dh)", "K": "keys K\n(S, Dh)", "V": "values V\n(S, Dh)"}
    tensors = {}
    for letter, y in rows.items():
        w = _box(ax, 2.85, y, 1.4, 0.95, f"× $W_{letter}$\n(D, Dh)", "projection")
        _arrow(ax, x.right, w.left)
        tensors[letter] = _box(ax, 4.8, y, 1.5, 0.95, names[letter], "tensor")
        _arrow(ax, w.right, tensors[letter].left)
    scores = _box(ax, 7.05, 4.0, 1.9, 1.3, "scores\n$Q K^{\\top} / \\sqrt{D_h}$\n(T, S)",
                  "attention")  # fmt: skip
    _arrow(ax, tensors["Q"].right, (scores.left[0], 4.35))
    _arrow(ax, tensors["K"].right, (scores.left[0], 3.65))
    mask = _box(ax, 9.45, 4.0, 2.0, 1.3, "mask (optional):\na blocked score\nbecomes −∞",
                "attention", dashed=True)  # fmt: skip
    _arrow(ax, scores.right, mask.left)
    softmax = _box(ax, 12.0, 4.0, 2.2, 1.3, "softmax over keys\n(along S): each\nrow sums to 1",
                   "softmax")  # fmt: skip
    _arrow(ax, mask.right, softmax.left)
    weights = _box(ax, 12.0, 2.35, 2.2, 0.8, "attention weights\n(T, S)", "tensor")
    _arrow(ax, softmax.bottom, weights.top)
    total = _box(ax, 12.0, 0.8, 2.6, 1.2, "weighted sum of values\nweights · V\n(T, S) · (S, Dh)",
                 "attention")  # fmt: skip
    _arrow(ax, weights.bottom, total.top)
    _arrow(ax, tensors["V"].right, total.left)
    output = _box(ax, 14.65, 0.8, 1.7, 1.2, "output\n(T, Dh):\none row\nper query", "tensor",
                  fontsize=9)  # fmt: skip
    _arrow(ax, total.right, output.left)
    note = (
        "Self-attention: Q, K, V all come from X (S = T).\n"
        "Cross-attention: K, V come from another sequence.\n"
        "Output row i = $\\sum_j$ weights[i, j] · V[j]: a mix of values."
    )
    ax.text(8.2, 2.05, note, ha="center", va="center", fontsize=9, style="italic", color="#444444")
    _legend(ax, ["tensor", "projection", "attention", "softmax"])
    return ax


def _segmented(ax: plt.Axes, x: float, y: float, label: str | None, *, seg: float = 0.4) -> _Box:
    """A (…, D) tensor drawn as H coloured slices, one per head, with a label above."""
    n = len(HEAD_COLOURS)
    left = x - n * seg / 2
    for i, colour in enumerate(HEAD_COLOURS):
        ax.add_patch(
            Rectangle(
                (left + i * seg, y - 0.28), seg, 0.56, facecolor=colour, alpha=0.55,
                edgecolor=EDGE, lw=1.0, zorder=3,
            )
        )  # fmt: skip
    if label:
        ax.text(x, y + 0.36, label, ha="center", va="bottom", fontsize=9.5)
    return _Box(x, y, n * seg, 0.56)


def multi_head_diagram(ax: plt.Axes | None = None) -> plt.Axes:
    """Multi-head attention: project, split into H heads, attend in parallel, merge, project.

    (B, T, D) → W_Q, W_K, W_V → split (B, H, T, Dh), Dh = D / H → H attentions in parallel
    → merge heads (B, T, H·Dh = D) → W_O → (B, T, D). Drawn with H = 4; each colour is one
    head's slice of the D features. Draws on ``ax`` (a new figure when None) and returns it.
    """
    ax = _canvas(ax, (-0.1, 18.0), (-0.4, 7.1), "Multi-head attention (drawn with H = 4)")
    x = _box(ax, 0.75, 3.5, 1.5, 1.3, "input X\n(B, T, D)", "tensor")
    split = _box(ax, 7.35, 3.5, 1.9, 4.6, "split into\nH heads\n\n(B, T, D)\n↓ view\n"
                 "(B, T, H, Dh)\n↓ transpose\n(B, H, T, Dh)\n\nDh = D / H", "reshape")  # fmt: skip
    for letter, y in {"Q": 5.5, "K": 3.5, "V": 1.5}.items():
        w = _box(ax, 2.75, y, 1.3, 0.95, f"× $W_{letter}$\n(D, D)", "projection")
        _arrow(ax, x.right, w.left)
        strip = _segmented(ax, 4.85, y - 0.15, f"{letter} (B, T, D)")
        _arrow(ax, w.right, strip.left)
        _arrow(ax, strip.right, (split.left[0], y - 0.15))
    ax.text(strip.x, strip.bottom[1] - 0.12, "one slice per head:\nDh features each",
            ha="center", va="top", fontsize=8.5, color="#444444")  # fmt: skip
    merge = _box(ax, 12.95, 3.5, 2.1, 4.6, "merge heads\n(concatenate)\n\n(B, H, T, Dh)\n"
                 "↓ transpose\n(B, T, H, Dh)\n↓ reshape\n(B, T, H·Dh = D)\n\n\n", "reshape")  # fmt: skip
    _segmented(ax, merge.x, 1.85, None)
    ax.text(9.95, 6.35, "H attentions in parallel\n(B, H, T, Dh)", ha="center", fontsize=9.5)
    for h, colour in enumerate(HEAD_COLOURS):
        y = 5.4 - 1.27 * h
        head = _box(ax, 9.95, y, 2.7, 0.95, f"head {h + 1}\n"
                    f"attention($Q_{h + 1}, K_{h + 1}, V_{h + 1}$)", "attention", fontsize=9)  # fmt: skip
        ax.add_patch(Rectangle((8.6, y - 0.475), 0.16, 0.95, facecolor=colour, zorder=3))
        _arrow(ax, (split.right[0], y), head.left, color=colour)
        _arrow(ax, head.right, (merge.left[0], y), color=colour)
    w_o = _box(ax, 15.0, 3.5, 1.4, 1.5, "× $W_O$\n(D, D):\nmixes\nthe heads", "projection")
    _arrow(ax, merge.right, w_o.left)
    output = _box(ax, 17.15, 3.5, 1.5, 1.3, "output\n(B, T, D)", "tensor")
    _arrow(ax, w_o.right, output.left)
    _legend(ax, ["tensor", "projection", "reshape", "attention"])
    return ax


def _embed(ax: plt.Axes, x: float, ids: str, shape: str, side: float) -> float:
    """Ids → embedding · √D → ⊕ positional encoding, at column x; returns the stream's top."""
    tokens = _box(ax, x, 0.45, 3.0, 0.75, ids, "tensor")
    embedding = _box(ax, x, 1.75, 2.4, 0.75, f"embedding · √D\n{shape}", "embedding")
    _arrow(ax, tokens.top, embedding.bottom)
    ax.add_patch(Circle((x, 2.85), 0.22, facecolor="white", edgecolor=EDGE, lw=1.2, zorder=2))
    ax.text(x, 2.85, "+", ha="center", va="center", fontsize=13, zorder=3)
    _arrow(ax, embedding.top, (x, 2.63))
    position = _box(ax, x + side * 2.35, 2.85, 1.7, 0.75, "positional\nencoding", "embedding")
    _arrow(ax, position.left if side > 0 else position.right, (x + side * 0.22, 2.85))
    return 3.07


def _sublayer(ax, x, y_start, text, kind, side, *, h=0.95) -> tuple[_Box, float]:
    """One post-LN sublayer, norm(x + block(x)), with the residual drawn around the block.

    The stream arrives at height ``y_start``; the residual leaves it a little higher, runs
    along ``side`` (−1 left, +1 right) and joins the add & norm box. Returns the block and
    the height where the stream leaves the add & norm box.
    """
    branch = y_start + 0.45
    block = _box(ax, x, branch + 0.4 + h / 2, 2.9, h, text, kind)
    norm = _box(ax, x, block.top[1] + 0.7, 2.6, 0.5, "add & norm", "norm")
    _arrow(ax, (x, y_start), block.bottom)
    _arrow(ax, block.top, norm.bottom)
    lane = x + side * 1.8
    ax.plot([x, lane], [branch, branch], color=EDGE, lw=1.3, zorder=1)
    _path_arrow(ax, [(lane, branch), (lane, norm.y), (x + side * 1.3, norm.y)])
    ax.plot([x], [branch], marker="o", markersize=4, color=EDGE, zorder=3)
    return block, norm.top[1]


def _frame(ax, x, y_bottom, y_top, side, label):
    """The grey frame of a layer stacked N times, its name inside and "N×" beside it."""
    ax.add_patch(
        FancyBboxPatch(
            (x - 2.1, y_bottom), 4.2, y_top - y_bottom,
            boxstyle="round,pad=0,rounding_size=0.2", facecolor="#f3f3f3",
            edgecolor="#999999", lw=1.2, zorder=0,
        )
    )  # fmt: skip
    ax.text(x - 1.05, y_top - 0.22, label, ha="center", va="center", fontsize=9.5,
            style="italic")  # fmt: skip
    ax.text(x + side * 2.55, (y_bottom + y_top) / 2, "N×", fontsize=14, fontweight="bold",
            ha="center", va="center")  # fmt: skip


def _final_norm(ax: plt.Axes, x: float, y: float) -> float:
    """The LayerNorm that ends a stack (dashed: PyTorch and this course add it; the paper's
    figure does not show one). Returns the height where the stream leaves it."""
    norm = _box(ax, x, y + 1.0, 2.6, 0.5, "final LayerNorm", "norm", dashed=True)
    _arrow(ax, (x, y), norm.bottom)
    return norm.top[1]


def _encoder(ax: plt.Axes, x: float) -> _Box:
    """The encoder column; returns the memory box."""
    y = _embed(ax, x, "source ids\n(B, S)", "(B, S, D)", -1)
    _, y = _sublayer(ax, x, y, "self-attention\n(each source token\nsees all of them)",
                     "attention", -1)  # fmt: skip
    _, y = _sublayer(ax, x, y, "feed-forward\n(per position)", "feed-forward", -1, h=0.75)
    _frame(ax, x, 3.3, y + 0.45, -1, "encoder layer")
    y = _final_norm(ax, x, y)
    memory = _box(ax, x, y + 0.75, 2.4, 0.75, "memory\n(B, S, D)", "tensor")
    _arrow(ax, (x, y), memory.bottom)
    return memory


def _decoder(ax: plt.Axes, x: float, memory: _Box) -> None:
    """The decoder column, fed by the encoder's memory, up to the next-token probabilities."""
    y = _embed(ax, x, "target ids, shifted right\n(B, T)", "(B, T, D)", 1)
    _, y = _sublayer(ax, x, y, "masked (causal)\nself-attention\n(position t sees ≤ t)",
                     "attention", 1)  # fmt: skip
    cross, y = _sublayer(ax, x, y, "cross-attention\nqueries: decoder\n"
                         "keys, values: memory", "attention", 1, h=1.0)  # fmt: skip
    lane = x - 2.45
    _path_arrow(ax, [memory.right, (lane, memory.y), (lane, cross.y), cross.left])
    ax.text(lane - 0.1, (memory.y + cross.y) / 2, "keys, values\n(to every\ndecoder layer)",
            ha="right", va="center", fontsize=9)  # fmt: skip
    ax.text(x - 0.12, cross.bottom[1] - 0.22, "queries", ha="right", va="center", fontsize=9)
    _, y = _sublayer(ax, x, y, "feed-forward\n(per position)", "feed-forward", 1, h=0.75)
    _frame(ax, x, 3.3, y + 0.45, 1, "decoder layer")
    y = _final_norm(ax, x, y)
    linear = _box(ax, x, y + 0.75, 2.4, 0.7, "linear  D → V", "projection")
    _arrow(ax, (x, y), linear.bottom)
    softmax = _box(ax, x, linear.y + 1.05, 2.4, 0.7, "softmax", "softmax")
    _arrow(ax, linear.top, softmax.bottom)
    probs = _box(ax, x, softmax.y + 1.1, 3.2, 0.75, "next-token probabilities\n(B, T, V)",
                 "tensor")  # fmt: skip
    _arrow(ax, softmax.top, probs.bottom)


def transformer_diagram(ax: plt.Axes | None = None) -> plt.Axes:
    """The encoder–decoder Transformer of Vaswani et al. (2017), post-LN as in the paper.

    Encoder: source ids → embedding · √D + positional encoding → N × [self-attention →
    add & norm → feed-forward → add & norm] → memory (B, S, D). Decoder: target ids shifted
    right → embedding · √D + positions → N × [masked self-attention → add & norm →
    cross-attention (queries from the decoder, keys and values from the memory) → add & norm
    → feed-forward → add & norm] → linear → softmax → next-token probabilities (B, T, V).
    Residual connections are the arrows around each sublayer; a dashed final LayerNorm ends
    each stack, as in PyTorch and ``helpers.transformer``. Draws on ``ax`` (a new figure
    when None) and returns it.
    """
    ax = _canvas(ax, (-1.2, 12.9), (-0.1, 15.7), "The encoder–decoder Transformer (post-LN)")
    memory = _encoder(ax, 3.0)
    _decoder(ax, 9.0, memory)
    note = (
        "Residual connections: the arrows\naround each sublayer.\n"
        "Post-LN (the 2017 paper):\nadd & norm = norm(x + sublayer(x)).\n"
        "Dashed: the LayerNorm that PyTorch\nand this course add after each stack."
    )
    ax.text(3.0, 12.1, note, ha="center", va="center", fontsize=9, style="italic", color="#444444")
    _legend(ax, ["tensor", "embedding", "attention", "norm", "feed-forward", "projection",
                 "softmax"], loc="upper left", ncol=1)  # fmt: skip
    return ax


# --- The three families side by side (`09_beyond_translation`) --------------------------------

_FAMILIES = (
    (
        "GPT: decoder-only",
        "characters so far\n(B, T) ids",
        "token embedding\n+ learned positions",
        "causal",
        "causal self-attention\n(position t sees ≤ t)",
        "linear D → V\nat every position",
        "next-token logits\n(B, T, V)",
    ),
    (
        "BERT: encoder-only",
        "a sentence with [MASK]s\n(B, T) ids",
        "token embedding\n+ learned positions",
        "full",
        "bidirectional self-attention\n(every token sees all)",
        "linear D → V at [MASK]s,\nor D → C on [CLS]",
        "masked-token logits (B, T, V)\nor class logits (B, C)",
    ),
    (
        "ViT: encoder-only on patches",
        "image → N patches\n(B, N, C·P·P)",
        "linear patch embedding,\n[class] token first\n+ learned positions",
        "full",
        "bidirectional self-attention\n(every patch sees all)",
        "linear D → C\non the [class] token",
        "class logits\n(B, C)",
    ),
)


def _mask_icon(ax: plt.Axes, x: float, y: float, kind: str, *, n: int = 4, cell: float = 0.2):
    """A small n × n attention mask centred at (x, y): filled where a query (row) may attend
    to a key (column); ``kind`` is "causal" (lower triangle) or "full"."""
    left, top = x - n * cell / 2, y + n * cell / 2
    for i in range(n):
        for j in range(n):
            allowed = kind == "full" or j <= i
            ax.add_patch(
                Rectangle(
                    (left + j * cell, top - (i + 1) * cell), cell, cell,
                    facecolor=KIND_COLOURS["softmax"] if allowed else "white",
                    edgecolor="#999999", lw=0.6, zorder=3,
                )
            )  # fmt: skip
    ax.text(x, y - n * cell / 2 - 0.08, "mask", ha="center", va="top", fontsize=8)


def _prenorm_sublayer(ax: plt.Axes, x: float, y: float, text: str, kind: str, h: float) -> float:
    """x + f(LayerNorm(x)): the block, the residual drawn on its left and the ⊕ above it.
    The stream arrives at height ``y``; returns the height where it leaves the ⊕."""
    branch = y + 0.3
    block = _box(ax, x, branch + 0.35 + h / 2, 3.0, h, f"LayerNorm →\n{text}", kind, fontsize=8.5)
    plus_y = block.top[1] + 0.5
    _arrow(ax, (x, y), block.bottom)
    _arrow(ax, block.top, (x, plus_y - 0.2))
    ax.add_patch(Circle((x, plus_y), 0.2, facecolor="white", edgecolor=EDGE, lw=1.2, zorder=2))
    ax.text(x, plus_y, "+", ha="center", va="center", fontsize=12, zorder=3)
    lane = x - 1.75
    ax.plot([x, lane], [branch, branch], color=EDGE, lw=1.3, zorder=1)
    _path_arrow(ax, [(lane, branch), (lane, plus_y), (x - 0.2, plus_y)])
    ax.plot([x], [branch], marker="o", markersize=4, color=EDGE, zorder=3)
    return plus_y + 0.2


def _family_column(ax: plt.Axes, x: float, family: tuple[str, ...]) -> None:
    """One family, from its input (bottom) to its output (top)."""
    title, inputs, embedding, mask, attention, head, outputs = family
    tokens = _box(ax, x, 0.6, 3.3, 0.8, inputs, "tensor", fontsize=8.5)
    embed = _box(ax, x, 2.0, 3.3, 1.0, embedding, "embedding", fontsize=8.5)
    _arrow(ax, tokens.top, embed.bottom)
    y = _prenorm_sublayer(ax, x, embed.top[1], attention, "attention", 1.25)
    _mask_icon(ax, x + 2.05, 4.35, mask)
    y = _prenorm_sublayer(ax, x, y, "feed-forward (per position)", "feed-forward", 0.8)
    ax.add_patch(
        FancyBboxPatch(
            (x - 2.15, embed.top[1] + 0.15), 4.75, y - embed.top[1] + 0.15,
            boxstyle="round,pad=0,rounding_size=0.2", facecolor="#f3f3f3",
            edgecolor="#999999", lw=1.2, zorder=0,
        )
    )  # fmt: skip
    ax.text(x + 2.45, y + 0.12, "N×", ha="right", va="top", fontsize=12, fontweight="bold")
    norm = _box(ax, x, y + 0.85, 2.6, 0.5, "final LayerNorm", "norm", fontsize=8.5)
    _arrow(ax, (x, y), norm.bottom)
    linear = _box(ax, x, norm.top[1] + 0.85, 3.3, 0.85, head, "projection", fontsize=8.5)
    _arrow(ax, norm.top, linear.bottom)
    out = _box(ax, x, linear.top[1] + 0.85, 3.3, 0.8, outputs, "tensor", fontsize=8.5)
    _arrow(ax, linear.top, out.bottom)
    ax.text(x + 0.2, out.top[1] + 0.45, title, ha="center", va="center", fontsize=11,
            fontweight="bold")  # fmt: skip


def model_families_diagram(ax: plt.Axes | None = None) -> plt.Axes:
    """GPT, BERT and ViT side by side: one block, three configurations.

    Each column: input (B, T) ids or (B, N, C·P·P) patches → embedding + learned positions →
    N × [LayerNorm → self-attention, + residual; LayerNorm → feed-forward, + residual]
    (pre-LN) → final LayerNorm → a linear head → output. The block is the same in all three;
    the mask beside the self-attention (causal for GPT, full for BERT and ViT), the input and
    the head differ. Draws on ``ax`` (a new figure when None) and returns it.
    """
    ax = _canvas(ax, (-0.4, 17.4), (-0.6, 12.4), "One block, three model families", scale=0.62)
    for x, family in zip((2.5, 8.4, 14.3), _FAMILIES, strict=True):
        _family_column(ax, x, family)
    _legend(ax, ["tensor", "embedding", "attention", "feed-forward", "norm", "projection"],
            loc="lower center", ncol=6)  # fmt: skip
    return ax
