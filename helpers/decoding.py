"""From a trained model to output sentences, as derived in `05_training_translation`.

The decoder predicts one token at a time from the tokens so far. ``greedy_decode`` takes the
most likely token at every step; ``beam_search`` keeps the ``beam_size`` most likely
prefixes and picks the best finished sentence under the GNMT length penalty. Both encode the
source once and run whole batches; ``translate`` goes from texts to texts.

The model needs ``encode(src (B, S) ids) -> memory (B, S, D)``, ``real_tokens(src) -> (B, S)``
(True = a real source token) and ``decode(tgt (B, T) ids, memory, memory_real) -> logits
(B, T, V)``, like ``helpers.transformer.Seq2SeqTransformer``.

A model that also offers ``new_cache()`` and ``decode(..., cache=cache)`` (the course's
``Seq2SeqTransformer`` does) is decoded with its key-value cache: each step runs the decoder on
the newest token only, reusing the keys and values of the earlier ones, and gives the same
tokens as re-running the whole prefix, several times faster. `08_efficient_attention`
explains and measures it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from helpers._utils import check_positive_int, describe_shape, evaluating
from helpers.translation.tokenization import Tokenizer

__all__ = ["beam_search", "greedy_decode", "translate"]

EXTRA_LENGTH = 50  # default max_len: S + 50 generated tokens


def _check_src(src: torch.Tensor, max_len: int | None) -> int:
    """The max_len to use, after checking src is (B, S) integer ids."""
    if src.ndim != 2 or src.dtype not in (torch.int64, torch.int32):
        raise ValueError(
            f"src must be a (B, S) tensor of integer token ids; got {src.dtype} of shape "
            f"{describe_shape(src)}"
        )
    return check_positive_int(
        "max_len", src.shape[1] + EXTRA_LENGTH if max_len is None else max_len
    )


def _until_eos(row: list[int], eos_id: int) -> list[int]:
    return row[: row.index(eos_id)] if eos_id in row else row


def _new_cache(model: nn.Module):
    """An empty key-value cache if the model offers one (``new_cache()``), else None."""
    new_cache = getattr(model, "new_cache", None)
    return new_cache() if callable(new_cache) else None


def _next_token_logits(
    model: nn.Module, tgt: torch.Tensor, memory: torch.Tensor, memory_real, cache
) -> torch.Tensor:
    """(B, V) logits for the token after the prefix tgt (B, t): with a cache, the decoder runs
    on the newest position only; without, on the whole prefix again."""
    if cache is None:
        return model.decode(tgt, memory, memory_real)[:, -1]
    return model.decode(tgt, memory, memory_real, cache=cache)[:, -1]


def greedy_decode(
    model: nn.Module,
    src: torch.Tensor,
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    max_len: int | None = None,
) -> list[list[int]]:
    """The most likely next token at every step, for a batch: src (B, S) ids -> B id lists.

    The encoder runs once; at step t the decoder runs on the newest token, with the model's
    key-value cache, or else on the whole prefix (B, t). A row
    that has emitted eos is padded with ``pad_id`` from then on and ignored; decoding stops
    when every row has ended, or after ``max_len`` generated tokens (default S + 50, where a
    row is cut off without eos). The lists exclude bos and eos. Runs in eval mode under
    ``torch.inference_mode()`` and puts the model back in the mode it was in.
    """
    max_len = _check_src(src, max_len)
    with evaluating(model):
        memory, memory_real = model.encode(src), model.real_tokens(src)  # (B, S, D), (B, S)
        tgt = torch.full((src.shape[0], 1), bos_id, dtype=src.dtype, device=src.device)
        finished = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)  # (B,)
        cache = _new_cache(model)
        for _ in range(max_len):
            logits = _next_token_logits(model, tgt, memory, memory_real, cache)  # (B, V)
            next_token = logits.argmax(dim=-1).masked_fill(finished, pad_id)  # (B,)
            tgt = torch.cat([tgt, next_token[:, None]], dim=1)  # (B, t + 1)
            finished |= next_token == eos_id
            if finished.all():
                break
    return [_until_eos(row[1:], eos_id) for row in tgt.tolist()]


def _length_penalty(length: int, alpha: float) -> float:
    """GNMT (Wu et al. 2016): ((5 + length) / 6) ** alpha."""
    return ((5 + length) / 6) ** alpha


def beam_search(
    model: nn.Module,
    src: torch.Tensor,
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    beam_size: int = 4,
    length_penalty: float = 0.6,
    max_len: int | None = None,
) -> list[list[int]]:
    """The best of ``beam_size`` hypotheses kept per sentence: src (B, S) ids -> B id lists.

    All B · K beams (K = beam_size) decode as one batch, against the encoder output computed
    once and repeated K times (``repeat_interleave``), with the model's key-value cache if it
    has one (reordered with the beams). At every step each beam proposes its
    continuations; of the 2K best (by total log-probability), an eos among the top K ends a
    hypothesis, scored by log P / ((5 + length) / 6) ** length_penalty (GNMT; length counts
    the generated tokens including eos), and the best K others carry on. A sentence is done
    once K hypotheses have ended (as in fairseq); after ``max_len`` steps (default S + 50)
    the live beams count as hypotheses without eos. K = 1 is greedy decoding. The lists
    exclude bos and eos; ``pad_id`` is unused and kept for the same signature as
    ``greedy_decode``.
    """
    max_len = _check_src(src, max_len)
    check_positive_int("beam_size", beam_size)
    B, K = src.shape[0], beam_size
    with evaluating(model):
        memory = model.encode(src).repeat_interleave(K, dim=0)  # (B·K, S, D)
        memory_real = model.real_tokens(src)  # (B, S) or None
        if memory_real is not None:
            memory_real = memory_real.repeat_interleave(K, dim=0)  # (B·K, S)
        tokens = torch.full((B * K, 1), bos_id, dtype=src.dtype, device=src.device)
        scores = torch.full((B, K), float("-inf"), device=src.device)  # log P per beam
        scores[:, 0] = 0.0  # one live beam at the start, so the K beams differ
        ended: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
        cache = _new_cache(model)
        for length in range(1, max_len + 1):
            logits = _next_token_logits(model, tokens, memory, memory_real, cache)  # (B·K, V)
            log_probs = logits.float().log_softmax(dim=-1)
            V = log_probs.shape[-1]
            candidates = (scores.view(B * K, 1) + log_probs).view(B, K * V)
            top_scores, top = candidates.topk(min(2 * K, K * V), dim=-1)  # (B, 2K)
            beam, token = top // V, top % V  # which beam each candidate extends, and how
            is_eos = token == eos_id
            for b, c in (is_eos[:, :K] & top_scores[:, :K].isfinite()).nonzero().tolist():
                if len(ended[b]) < K:
                    hypothesis = tokens[b * K + int(beam[b, c]), 1:].tolist()
                    score = float(top_scores[b, c]) / _length_penalty(length, length_penalty)
                    ended[b].append((score, hypothesis))
            if all(len(hypotheses) >= K for hypotheses in ended):
                break
            # The K best candidates that do not end carry on (there are at least K of 2K,
            # since each beam offers eos at most once).
            keep = is_eos.to(torch.int8).sort(dim=-1, stable=True).indices[:, :K]  # (B, K)
            scores = top_scores.gather(1, keep)
            parents = torch.arange(B, device=src.device)[:, None] * K + beam.gather(1, keep)
            next_token = token.gather(1, keep).view(B * K, 1).to(tokens.dtype)
            tokens = torch.cat([tokens[parents.view(-1)], next_token], dim=1)
            if cache is not None:
                cache.reorder(parents.view(-1))  # each beam carries on its parent's keys and values
        else:  # max_len reached: the live beams of unfinished sentences compete too
            penalty = _length_penalty(max_len, length_penalty)
            for b in range(B):
                if len(ended[b]) < K:
                    ended[b] += [
                        (scores[b, k].item() / penalty, tokens[b * K + k, 1:].tolist())
                        for k in range(K)
                    ]
    return [max(hypotheses, key=lambda h: h[0])[1] for hypotheses in ended]


def translate(
    model: nn.Module,
    texts: Sequence[str],
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    *,
    beam_size: int = 1,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    length_penalty: float = 0.6,
    max_len: int | None = None,
) -> list[str]:
    """Translate texts: encode each (plus eos), decode in batches, return texts in input order.

    Sentences are sorted by length so that each batch holds similar lengths (little padding),
    then put back in the order given. ``beam_size=1`` decodes greedily, larger beams with
    ``beam_search``. ``device`` is where the batches go (default: the model's device).
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings; got a single str")
    check_positive_int("beam_size", beam_size)
    check_positive_int("batch_size", batch_size)
    if device is None:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
    sources = [src_tokenizer.encode(text) + [src_tokenizer.eos_id] for text in texts]
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    ids = {"bos_id": tgt_tokenizer.bos_id, "eos_id": tgt_tokenizer.eos_id}
    ids["pad_id"] = tgt_tokenizer.pad_id
    outputs: list[str] = [""] * len(sources)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        S = max(len(sources[i]) for i in batch)
        src = torch.full((len(batch), S), src_tokenizer.pad_id, dtype=torch.long)
        for row, i in enumerate(batch):
            src[row, : len(sources[i])] = torch.tensor(sources[i])
        src = src.to(device)
        if beam_size == 1:
            hypotheses = greedy_decode(model, src, max_len=max_len, **ids)
        else:
            hypotheses = beam_search(
                model,
                src,
                beam_size=beam_size,
                length_penalty=length_penalty,
                max_len=max_len,
                **ids,
            )
        for i, hypothesis in zip(batch, hypotheses, strict=True):
            outputs[i] = tgt_tokenizer.decode(hypothesis)
    return outputs
