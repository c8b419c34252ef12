"""Recurrence, convolution and attention measured side by side, as derived in `07_why_attention`.

The distance task: a key token (one of ``NUM_KEYS``) opens a sequence, ``d`` distractor tokens
follow, and the model must name the key at the last position, ``d`` positions later
(``distance_batch``). Three encoders read it, each a classifier on its output at the last
position: ``LSTMClassifier``, ``ConvClassifier`` (a causal 1-D CNN) and ``AttentionClassifier``
(one ``helpers.transformer.EncoderLayer``). Each has ``embed(tokens) -> x (B, T, D)`` and
``features(x) -> (B, D)``, the encoder's output at the last position, so that
``gradient_norms`` can measure how strongly that output depends on each input position
(``measured_receptive_field`` uses it to find how far a convolution stack reaches).

``graph_depth`` and ``shortest_path`` count operations in autograd's graph (sequential steps
and path lengths); ``stepwise_lstm`` makes PyTorch's CPU LSTM record one cell per step so that
they can see its steps. ``forward_backward_seconds`` times a layer. ``RNNEncoderDecoder`` is
the recurrent translator of 2014, with a fixed context vector or with Luong's dot attention.

Shapes: B batch, T sequence length, D width, S source length, V vocabulary.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import deque
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils import benchmark

from helpers._utils import check_positive_int, describe_shape
from helpers.attention import scaled_dot_product_attention
from helpers.positional_encoding import SinusoidalPositionalEncoding
from helpers.transformer import EncoderLayer

__all__ = [
    "NUM_KEYS",
    "VOCAB_SIZE",
    "AttentionClassifier",
    "ConvClassifier",
    "LSTMClassifier",
    "RNNEncoderDecoder",
    "distance_accuracy",
    "distance_batch",
    "forward_backward_seconds",
    "gradient_norms",
    "graph_depth",
    "last_query_output",
    "measured_receptive_field",
    "shortest_path",
    "stepwise_lstm",
    "train_on_distance",
]

NUM_KEYS = 8  # tokens 0..7 are keys, the answers
VOCAB_SIZE = 16  # tokens 8..15 are distractors


def distance_batch(
    n: int, d: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of the distance task: tokens (n, d + 1) and their keys (n,).

    Position 0 holds a key (0 .. NUM_KEYS - 1), positions 1 .. d random distractors
    (NUM_KEYS .. VOCAB_SIZE - 1); the answer, read at position d, is the key: d positions back.
    """
    n, d = check_positive_int("n", n), check_positive_int("d", d)
    keys = torch.randint(0, NUM_KEYS, (n,), generator=generator)
    tokens = torch.randint(NUM_KEYS, VOCAB_SIZE, (n, d + 1), generator=generator)
    tokens[:, 0] = keys
    return tokens, keys


class _LastPositionClassifier(nn.Module):
    """tokens (B, T) -> logits (B, NUM_KEYS): embed, encode, read the last position out."""

    embedding: nn.Embedding
    readout: nn.Linear

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> the encoder's input x (B, T, D)."""
        if tokens.ndim != 2:
            raise ValueError(f"tokens must have shape (B, T); got {describe_shape(tokens)}")
        return self.embedding(tokens)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, D) -> the encoder's output at the last position (B, D)."""
        raise NotImplementedError

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(self.embed(tokens)))


class LSTMClassifier(_LastPositionClassifier):
    """An LSTM of width ``d_model``; the answer is read from its last hidden state.

    ``forget_bias`` (default None: PyTorch's initialisation, biases uniform around 0) sets the
    forget gate's bias at initialisation, e.g. 1.0 as Keras does, so that the cell starts by
    keeping most of its memory (f = sigmoid(1) = 0.73 instead of about 0.5).
    """

    def __init__(self, d_model: int = 32, *, forget_bias: float | None = None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB_SIZE, d_model)
        self.lstm = nn.LSTM(d_model, d_model, batch_first=True)
        self.readout = nn.Linear(d_model, NUM_KEYS)
        if forget_bias is not None:
            forget = slice(
                d_model, 2 * d_model
            )  # PyTorch's gate order: input, forget, cell, output
            with torch.no_grad():
                self.lstm.bias_ih_l0[forget] = forget_bias
                self.lstm.bias_hh_l0[forget] = 0.0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(x)  # (B, T, D): h_1 .. h_T
        return hidden[:, -1]


class ConvClassifier(_LastPositionClassifier):
    """A stack of causal 1-D convolutions (ReLU after each); the answer is read at the last position.

    Layer j has kernel ``kernel_size`` and dilation ``dilation_base ** j`` (1: contiguous
    kernels). ``causal_stack`` computes every position; ``features`` computes only the last
    one, from the last ``receptive_field`` inputs, which are all it can see (same numbers).
    """

    def __init__(
        self,
        channels: int = 21,
        num_layers: int = 4,
        kernel_size: int = 5,
        *,
        dilation_base: int = 1,
    ) -> None:
        super().__init__()
        check_positive_int("num_layers", num_layers)
        check_positive_int("dilation_base", dilation_base)
        self.embedding = nn.Embedding(VOCAB_SIZE, channels)
        self.dilations = [dilation_base**j for j in range(num_layers)]
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
            for dilation in self.dilations
        )
        self.readout = nn.Linear(channels, NUM_KEYS)
        self.receptive_field = 1 + (kernel_size - 1) * sum(self.dilations)

    def causal_stack(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C): output t sees inputs t - receptive_field + 1 .. t only."""
        h = x.transpose(1, 2)  # (B, C, T): Conv1d's layout
        for conv, dilation in zip(self.convs, self.dilations, strict=True):
            left = (conv.kernel_size[0] - 1) * dilation  # pad on the left only: causal
            h = F.relu(conv(F.pad(h, (left, 0))))
        return h.transpose(1, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.causal_stack(x[:, -self.receptive_field :])[:, -1]


def measured_receptive_field(
    num_layers: int, kernel_size: int, dilation_base: int = 1, *, length: int = 1000
) -> int:
    """How many of ``length`` inputs reach the last output of a ``ConvClassifier`` stack, by gradient.

    Its wiring is measured, not its weights: one channel, every weight 1/k, no bias and inputs
    of 1, so that no ReLU is ever off, in float64 so that no gradient underflows to zero.
    """
    stack = ConvClassifier(1, num_layers, kernel_size, dilation_base=dilation_base).double()
    with torch.no_grad():
        for conv in stack.convs:
            conv.weight.fill_(1 / kernel_size)
            conv.bias.zero_()
    x = torch.ones(1, length, 1, dtype=torch.float64)
    return int((gradient_norms(lambda x: stack.causal_stack(x)[:, -1], x) > 0).sum())


def last_query_output(layer: EncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)[:, -1]`` (B, D), computed for the last query only: x (B, T, D).

    In one encoder layer, the output at position t depends on x_t (its query, and the
    residual) and on every position's key and value, nothing else; so the last output needs
    one query against T keys, not T queries. Post-LN and pre-LN (``norm_first``) layers alike.
    """
    if not isinstance(layer, EncoderLayer):
        raise TypeError(
            f"layer must be a helpers.transformer.EncoderLayer; got {type(layer).__name__}"
        )
    if x.ndim != 3:
        raise ValueError(f"x must have shape (B, T, D); got {describe_shape(x)}")
    last = x[:, -1:]  # (B, 1, D)
    if layer.norm_first:
        keys = layer.norm1(x)
        h = last + layer.dropout1(layer.self_attn(keys[:, -1:], keys, keys)[0])
        h = h + layer.dropout2(layer.feed_forward(layer.norm2(h)))
    else:
        h = layer.norm1(last + layer.dropout1(layer.self_attn(last, x, x)[0]))
        h = layer.norm2(h + layer.dropout2(layer.feed_forward(h)))
    return h[:, 0]


class AttentionClassifier(_LastPositionClassifier):
    """Token embeddings plus sinusoidal positions, one ``EncoderLayer``, the last position read out.

    ``features`` runs the layer for the last query only (``last_query_output``): the same
    numbers as the full layer's last position, at the cost of one query instead of T.
    """

    def __init__(
        self,
        d_model: int = 32,
        nhead: int = 2,
        dim_feedforward: int = 64,
        *,
        max_len: int = 2048,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB_SIZE, d_model)
        self.position = SinusoidalPositionalEncoding(d_model, max_len)
        self.layer = EncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0)
        self.readout = nn.Linear(d_model, NUM_KEYS)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.position(super().embed(tokens))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return last_query_output(self.layer, x)


def train_on_distance(
    model: nn.Module,
    d: int,
    *,
    steps: int,
    seed: int,
    batch_size: int = 32,
    lr: float = 1e-2,
) -> list[float]:
    """Adam on ``steps`` fresh batches of the distance task at distance d; the losses.

    ``seed`` fixes the batches; seed the model's initialisation before building it.
    """
    check_positive_int("steps", steps)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        tokens, keys = distance_batch(batch_size, d, generator)
        loss = F.cross_entropy(model(tokens), keys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def distance_accuracy(model: nn.Module, d: int, n: int = 1000, seed: int = 12345) -> float:
    """Share of ``n`` held-out sequences at distance d whose key the model names."""
    tokens, keys = distance_batch(n, d, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return (model(tokens).argmax(dim=-1) == keys).float().mean().item()


def gradient_norms(
    features: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> torch.Tensor:
    """‖∂ features(x)[b] / ∂ x[b, T - 1 - d]‖ for every distance d, averaged over b: (T,).

    ``features`` maps x (B, T, D) to one output vector per sequence (B, O); entry d of the
    result is the Frobenius norm of the (O, D) Jacobian of that output with respect to the
    input d positions before the last, so entry 0 is the last position itself. All O rows of
    each Jacobian come from one backward pass: every sequence is repeated O times, and copy i
    backpropagates output i.
    """
    if x.ndim != 3:
        raise ValueError(f"x must have shape (B, T, D); got {describe_shape(x)}")
    B, T, D = x.shape
    width = features(x[:1]).shape[-1]  # O
    copies = x.detach().repeat_interleave(width, dim=0).requires_grad_()  # (B·O, T, D)
    out = features(copies).view(B, width, width)  # out[b, i] = output of copy i of sequence b
    out.diagonal(dim1=1, dim2=2).sum().backward()  # copy i: the gradient of output i alone
    jacobians = copies.grad.view(B, width, T, D)  # [b, i, t] = ∂ output_i / ∂ x_t
    return jacobians.pow(2).sum(dim=(1, 3)).sqrt().mean(dim=0).flip(0)


def _graph_nodes(output: torch.Tensor) -> dict:
    """Every node of the autograd graph behind ``output``, with the nodes it feeds on."""
    if output.grad_fn is None:
        raise ValueError("output has no autograd graph: compute it from tensors that require grad")
    edges, todo = {}, [output.grad_fn]
    while todo:
        node = todo.pop()
        if node in edges:
            continue
        edges[node] = [child for child, _ in node.next_functions if child is not None]
        todo.extend(edges[node])
    return edges


def graph_depth(output: torch.Tensor) -> int:
    """The longest chain of operations in autograd's graph from the inputs to ``output``.

    Operations on one chain must run one after another: this counts the sequential steps
    (each a batched operation) a forward pass needs, however many processors there are.
    """
    edges = _graph_nodes(output)
    depth: dict = {}
    for node in _topological_order(edges):
        depth[node] = 1 + max((depth[child] for child in edges[node]), default=0)
    return depth[output.grad_fn]


def _topological_order(edges: dict) -> list:
    """Nodes with every node's children before the node itself (no recursion: graphs are deep)."""
    order, seen = [], set()
    for root in edges:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in edges[node] if child not in seen)
    return order


def shortest_path(output: torch.Tensor, leaf: torch.Tensor) -> int:
    """The fewest operations in autograd's graph between the leaf tensor ``leaf`` and ``output``.

    ``leaf`` must require grad and have been created by the user (no ``grad_fn``); its
    gradient flows back along this path, one Jacobian per operation.
    """
    if not leaf.requires_grad or leaf.grad_fn is not None:
        raise ValueError("leaf must be a leaf tensor that requires grad (created by the user)")
    edges = _graph_nodes(output)
    distance, queue = {output.grad_fn: 1}, deque([output.grad_fn])
    while queue:
        node = queue.popleft()
        if getattr(node, "variable", None) is leaf:
            return distance[node] - 1  # the AccumulateGrad node is not an operation
        for child in edges[node]:
            if child not in distance:
                distance[child] = distance[node] + 1
                queue.append(child)
    raise ValueError("output does not depend on leaf")


@contextlib.contextmanager
def stepwise_lstm() -> Iterator[None]:
    """Run ``nn.LSTM`` on the CPU one cell per step, visible to autograd and the FLOP counter.

    PyTorch's CPU LSTM runs its whole loop inside one oneDNN kernel, one node in autograd's
    graph. With oneDNN off it records every step's matrix products and gates (same numbers).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a note about TF32 on Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def forward_backward_seconds(
    layer: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, min_run_time: float = 0.2
) -> float:
    """Median seconds of one forward and backward pass of ``layer`` on x.

    ``torch.utils.benchmark.Timer`` warms up, repeats for at least ``min_run_time`` seconds
    and, on a GPU, waits for the device before reading the clock.
    """
    x = x.detach().requires_grad_()

    def step() -> None:
        x.grad = None
        layer(x).sum().backward()

    timer = benchmark.Timer(
        stmt="step()", globals={"step": step}, num_threads=torch.get_num_threads()
    )
    return timer.blocked_autorange(min_run_time=min_run_time).median


class RNNEncoderDecoder(nn.Module):
    """A GRU encoder and a GRU decoder, with a fixed context vector or with dot attention.

    The decoder starts from the encoder's last state. At every target position t it combines
    its state h_t with a context c_t, ``tanh(W_c [h_t; c_t])``, and predicts the next word:

    - ``attention=False``: c_t is the encoder's last state for every t, one fixed vector of
      ``d_hidden`` numbers for the whole source sentence (Cho et al. 2014, Sutskever et al. 2014);
    - ``attention=True``: c_t is an average of all the encoder's states weighted by
      softmax(h_t · s_j), Luong et al.'s (2015) "dot" attention: this course's
      ``scaled_dot_product_attention`` with scale 1.

    Both have exactly the same parameters. It offers ``encode``, ``real_tokens`` and
    ``decode`` like ``Seq2SeqTransformer``, so ``helpers.decoding`` translates with it.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        *,
        attention: bool,
        pad_id: int,
        d_embed: int = 64,
        d_hidden: int = 64,
    ) -> None:
        super().__init__()
        self.attention, self.pad_id = attention, pad_id
        self.src_embedding = nn.Embedding(src_vocab_size, d_embed, padding_idx=pad_id)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_embed, padding_idx=pad_id)
        self.encoder = nn.GRU(d_embed, d_hidden, batch_first=True)
        self.decoder = nn.GRU(d_embed, d_hidden, batch_first=True)
        self.combine = nn.Linear(2 * d_hidden, d_hidden)
        self.generator = nn.Linear(d_hidden, tgt_vocab_size)

    def real_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, L) boolean, True = a real token (not ``pad_id``)."""
        return ids != self.pad_id

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """src (B, S) ids, padded at the end -> the encoder's states (B, S, D)."""
        if src.ndim != 2:
            raise ValueError(f"src must be (B, S) token ids; got {describe_shape(src)}")
        states, _ = self.encoder(self.src_embedding(src))
        return states

    def _attend(
        self, tgt: torch.Tensor, memory: torch.Tensor, memory_real: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoder states h (B, T, D), contexts c (B, T, D) and weights (B, T, S)."""
        if memory_real is None:
            memory_real = torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device)
        last_real = memory_real.sum(dim=1) - 1  # (B,): where each source ends
        summary = memory[torch.arange(len(memory), device=memory.device), last_real]  # (B, D)
        states, _ = self.decoder(self.tgt_embedding(tgt), summary[None].contiguous())
        if self.attention:
            mask = memory_real[:, None, :]  # (B, 1, S): every target position, real keys only
            context, weights = scaled_dot_product_attention(states, memory, memory, mask, scale=1.0)
        else:  # the same vector at every position: all the weight on the last real state
            context = summary[:, None, :].expand_as(states)
            weights = (
                F.one_hot(last_real, memory.shape[1])
                .to(memory)[:, None]
                .expand(-1, tgt.shape[1], -1)
            )
        return states, context, weights

    def decode(
        self, tgt: torch.Tensor, memory: torch.Tensor, memory_real: torch.Tensor | None = None
    ) -> torch.Tensor:
        """tgt (B, T) ids so far, memory (B, S, D) encoder states, memory_real (B, S) -> (B, T, V)."""
        states, context, _ = self._attend(tgt, memory, memory_real)
        return self.generator(torch.tanh(self.combine(torch.cat([states, context], dim=-1))))

    def alignment(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """The weights (B, T, S) each target position gives the source positions (one-hot on
        the last source token for the fixed context)."""
        memory = self.encode(src)
        return self._attend(tgt, memory, self.real_tokens(src))[2]

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt, self.encode(src), self.real_tokens(src))
