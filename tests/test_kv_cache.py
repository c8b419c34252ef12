"""The decoder's fast paths: the key-value cache (same logits and the same translations as
re-running the prefix, on random models and on the shipped translator), grouped-query attention,
and the fused path's ``is_causal`` and mask-free calls of PyTorch's attention."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import helpers.multi_head_attention as mha_module
from helpers.attention import causal_mask
from helpers.decoding import beam_search, greedy_decode, translate
from helpers.efficient_attention import WithoutCache
from helpers.multi_head_attention import KVCache, MultiHeadAttention
from helpers.transformer import DecoderCache, Seq2SeqTransformer

ROOT = Path(__file__).resolve().parents[1]
PAD, BOS, EOS = 0, 1, 2
IDS = {"bos_id": BOS, "eos_id": EOS, "pad_id": PAD}


def _model(*, seed: int = 0, **kwargs) -> Seq2SeqTransformer:
    torch.manual_seed(seed)
    args = dict(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                dim_feedforward=64, dropout=0.1, pad_id=PAD)  # fmt: skip
    model = Seq2SeqTransformer(20, 23, **{**args, **kwargs}).eval()
    with torch.no_grad():  # sharper logits than at initialisation, so outputs vary by source
        model.generator.weight.mul_(8.0)
    return model


def _batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 20, (5, 7), generator=g)
    src[1, 5:], src[3, 2:] = PAD, PAD
    tgt = torch.randint(3, 23, (5, 9), generator=g)
    tgt[:, 0], tgt[2, 6:] = BOS, PAD  # a finished row, padded as greedy_decode pads it
    return src, tgt


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_cached_decoding_gives_the_logits_of_the_whole_prefix(norm_first, fused):
    model = _model(norm_first=norm_first, fused=fused)
    src, tgt = _batch()
    memory, memory_real = model.encode(src), model.real_tokens(src)
    expected = model.decode(tgt, memory, memory_real)  # (B, 9, V)
    cache = model.new_cache()
    steps = [model.decode(tgt[:, :3], memory, memory_real, cache=cache)]  # a 3-token prefix
    for t in range(4, 10):  # then one token at a time
        steps.append(model.decode(tgt[:, :t], memory, memory_real, cache=cache))
    assert [s.shape[1] for s in steps] == [3, 1, 1, 1, 1, 1, 1]
    assert torch.allclose(torch.cat(steps, dim=1), expected, atol=1e-5)
    assert cache.length == 9


def test_cache_size_is_two_layers_batch_positions_width_numbers():
    model = _model()
    src, tgt = _batch()
    cache = model.new_cache()
    model.decode(tgt, model.encode(src), model.real_tokens(src), cache=cache)
    L, (B, T), S, D = 2, tgt.shape, src.shape[1], 32
    assert isinstance(cache, DecoderCache)
    assert cache.nbytes == 2 * L * B * (T + S) * D * 4  # K and V, self and cross, float32


def test_a_cache_must_be_extended():
    model = _model()
    src, tgt = _batch()
    memory = model.encode(src)
    cache = model.new_cache()
    model.decode(tgt[:, :4], memory, cache=cache)
    with pytest.raises(ValueError, match="tgt must extend the 4 positions the cache holds"):
        model.decode(tgt[:, :4], memory, cache=cache)


def test_cross_attention_projects_the_memory_once():
    model = _model()
    src, tgt = _batch()
    memory = model.encode(src)
    calls = []
    layer = model.transformer.decoder_layers[0]
    layer.cross_attn.w_k.register_forward_hook(lambda *_: calls.append("k"))
    cache = model.new_cache()
    for t in range(1, 6):
        model.decode(tgt[:, :t], memory, model.real_tokens(src), cache=cache)
    assert calls == ["k"]


def test_reorder_keeps_the_chosen_rows():
    cache = KVCache()
    cache.update(torch.arange(6.0).view(3, 1, 2, 1), torch.zeros(3, 1, 2, 1))
    cache.reorder(torch.tensor([2, 2, 0]))
    assert cache.key[:, 0, :, 0].tolist() == [[4.0, 5.0], [4.0, 5.0], [0.0, 1.0]]
    assert cache.length == 2 and cache.nbytes == 2 * 6 * 4


@pytest.mark.parametrize("fused", [False, True])
def test_greedy_and_beam_search_decode_the_same_with_and_without_the_cache(fused):
    model = _model(fused=fused, seed=3)
    src, _ = _batch(seed=4)
    greedy = greedy_decode(model, src, **IDS, max_len=10)
    assert greedy == greedy_decode(WithoutCache(model), src, **IDS, max_len=10)
    assert len(set(map(tuple, greedy))) > 1  # the sources really get different outputs
    beams = beam_search(model, src, **IDS, beam_size=3, max_len=10)
    assert beams == beam_search(WithoutCache(model), src, **IDS, beam_size=3, max_len=10)


def test_the_decoders_use_the_cache_by_default(monkeypatch):
    model = _model()
    made = []
    new_cache = model.new_cache
    monkeypatch.setattr(model, "new_cache", lambda: made.append(1) or new_cache())
    src, _ = _batch()
    greedy_decode(model, src, **IDS, max_len=3)
    beam_search(model, src, **IDS, beam_size=2, max_len=3)
    assert made == [1, 1]


@pytest.fixture(scope="module")
def translator():
    from helpers.translation.checkpoint import load_translator

    return load_translator(ROOT / "data" / "checkpoints" / "toy-en-de.pt")


def test_the_shipped_translator_translates_the_same_with_and_without_the_cache(translator):
    from helpers.translation.data import load_dataset

    texts = [example.src for example in load_dataset("toy-en-de", "test")[:8]]
    tokenizers = (translator.src_tokenizer, translator.tgt_tokenizer)
    for beam_size, chosen in ((1, texts), (4, texts[:3])):
        cached = translate(translator.model, chosen, *tokenizers, beam_size=beam_size)
        uncached = translate(
            WithoutCache(translator.model), chosen, *tokenizers, beam_size=beam_size
        )
        assert cached == uncached
        assert all(cached)


# --- grouped-query attention ----------------------------------------------------------------


def test_grouped_query_attention_is_multi_head_attention_with_shared_keys_and_values():
    torch.manual_seed(0)
    gqa = MultiHeadAttention(16, 4, num_kv_heads=2).eval()  # heads 0, 1 share; 2, 3 share
    full = MultiHeadAttention(16, 4).eval()
    with torch.no_grad():
        for name in ("w_q", "w_o"):
            getattr(full, name).load_state_dict(getattr(gqa, name).state_dict())
        for name in ("w_k", "w_v"):  # each kv head's rows, repeated for the heads that share it
            weight = getattr(gqa, name).weight.view(2, 4, 16).repeat_interleave(2, dim=0)
            bias = getattr(gqa, name).bias.view(2, 4).repeat_interleave(2, dim=0)
            getattr(full, name).weight.copy_(weight.reshape(16, 16))
            getattr(full, name).bias.copy_(bias.reshape(16))
    x = torch.randn(2, 5, 16)
    assert torch.allclose(gqa(x, x, x)[0], full(x, x, x)[0], atol=1e-6)
    assert "num_kv_heads=2" in repr(gqa) and "num_kv_heads" not in repr(full)
    caches = {}
    for G in (4, 2, 1):
        cache = KVCache()
        MultiHeadAttention(16, 4, num_kv_heads=G)(x, x, x, cache=cache)
        caches[G] = cache.nbytes
    assert caches == {4: 2 * 2 * 5 * 16 * 4, 2: 2 * 2 * 5 * 8 * 4, 1: 2 * 2 * 5 * 4 * 4}
    with pytest.raises(ValueError, match="num_heads must be divisible by num_kv_heads"):
        MultiHeadAttention(16, 4, num_kv_heads=3)


# --- the fused path: is_causal and no mask where that is the same ---------------------------


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize(("T", "S"), [(6, 6), (4, 7), (7, 4)])
def test_is_causal_equals_the_explicit_causal_mask(fused, T, S):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, fused=fused).eval()
    x, y = torch.randn(2, T, 16), torch.randn(2, S, 16)
    expected = mha(x, y, y, causal_mask(T, S))[0]
    assert torch.allclose(mha(x, y, y, is_causal=True)[0], expected, atol=1e-6)
    padded = torch.tensor([[True] * S, [True] * (S - 2) + [False] * 2])[:, None, :]
    both = causal_mask(T, S) & padded  # (B, T, S)
    assert torch.allclose(mha(x, y, y, padded, is_causal=True)[0], mha(x, y, y, both)[0], atol=1e-6)


def _record_sdpa(monkeypatch) -> list[tuple[bool, bool]]:
    """Each call of PyTorch's attention from the module: (was a mask passed, is_causal)."""
    calls = []
    real = F.scaled_dot_product_attention

    def recording(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kwargs):
        calls.append((attn_mask is not None, is_causal))
        return real(
            q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, **kwargs
        )

    monkeypatch.setattr(mha_module.F, "scaled_dot_product_attention", recording)
    return calls


def test_the_fused_model_passes_is_causal_and_no_mask_when_nothing_is_padded(monkeypatch):
    fused, course = _model(fused=True), _model(fused=False)
    src = torch.randint(4, 20, (3, 6))
    tgt = torch.randint(3, 23, (3, 5))
    calls = _record_sdpa(monkeypatch)
    logits = fused(src, tgt)
    # 2 encoder self-attentions, then per decoder layer: self-attention, cross-attention
    assert calls == [(False, False)] * 2 + [(False, True), (False, False)] * 2
    assert torch.allclose(logits, course(src, tgt), atol=1e-5)


def test_the_fused_model_passes_masks_where_there_is_padding(monkeypatch):
    fused, course = _model(fused=True), _model(fused=False)
    src, tgt = _batch()
    calls = _record_sdpa(monkeypatch)
    logits = fused(src, tgt)
    # padded keys need a mask everywhere; the decoder's causal pattern joins its padding mask
    assert calls == [(True, False)] * 2 + [(True, False), (True, False)] * 2
    assert torch.allclose(logits, course(src, tgt), atol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_a_causal_encoder_layer_decodes_incrementally_with_a_cache(fused):
    """The decoder-only use (a GPT): is_causal instead of a mask, then one position at a time."""
    from helpers.transformer import EncoderLayer

    torch.manual_seed(0)
    layer = EncoderLayer(16, 4, 32, dropout=0.0, norm_first=True, fused=fused).eval()
    x = torch.randn(2, 7, 16)
    expected = layer(x, causal_mask(7))
    assert torch.allclose(layer(x, is_causal=True), expected, atol=1e-6)
    cache = KVCache()
    steps = [layer(x[:, t : t + 1], cache=cache) for t in range(7)]
    assert torch.allclose(torch.cat(steps, dim=1), expected, atol=1e-5)


def test_unpadded_batches_need_no_mask_and_no_read_back_on_an_accelerator(monkeypatch):
    """On an accelerator, finding out that nothing is padded would make the host wait, so the
    mask stays unless the caller says padded=False; then no value is read back at all."""
    import helpers.transformer as transformer_module
    from helpers.transformer import combine_masks

    real = torch.ones(2, 3, dtype=torch.bool)
    assert combine_masks(None, real) is None  # on the CPU the check is free
    assert combine_masks(None, real.to("meta")).shape == (2, 1, 1, 3)  # elsewhere: kept
    reads = []
    original = torch.Tensor.__bool__

    def recording(self):
        if sys._getframe(1).f_code.co_filename in (
            transformer_module.__file__,
            mha_module.__file__,
        ):
            reads.append(self)
        return original(self)

    monkeypatch.setattr(torch.Tensor, "__bool__", recording)
    model = _model(fused=True)
    src, tgt = torch.randint(4, 20, (3, 6)), torch.randint(3, 23, (3, 5))
    calls = _record_sdpa(monkeypatch)
    logits = model(src, tgt, padded=False)
    assert reads == []
    assert calls == [(False, False)] * 2 + [(False, True), (False, False)] * 2
    assert torch.allclose(logits, model(src, tgt), atol=1e-6)
