"""helpers.model_families: one stack, three configurations (causality, bidirectionality,
padding, patches), BERT's masking rule, sampling, attention maps and rollout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.model_families import (
    BERT,
    GPT,
    IGNORE_INDEX,
    SelfAttentionStack,
    VisionTransformer,
    generate,
    mask_tokens,
    next_token_distribution,
    patchify,
    self_attention_maps,
)
from helpers.transformer import EncoderLayer


def _gpt(seed: int = 0, **kwargs) -> GPT:
    torch.manual_seed(seed)
    return GPT(11, 16, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, **kwargs).eval()


def _bert(seed: int = 0) -> BERT:
    torch.manual_seed(seed)
    return BERT(13, 12, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, pad_id=0).eval()


def test_the_three_families_share_one_kind_of_block():
    gpt, bert, vit = _gpt(), _bert(), VisionTransformer(d_model=16, nhead=2, dim_feedforward=32)
    for model in (gpt, bert, vit):
        assert isinstance(model.blocks, SelfAttentionStack)
        assert all(type(layer) is EncoderLayer for layer in model.blocks.layers)
        assert not hasattr(model.blocks.layers[0], "cross_attn")
    assert [m.blocks.causal for m in (gpt, bert, vit)] == [True, False, False]


def test_gpt_logits_at_t_ignore_the_tokens_after_t():
    model = _gpt()
    ids = torch.randint(0, 11, (2, 10), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 11
    with torch.no_grad():
        before, after = model(ids), model(changed)
    assert before.shape == (2, 10, 11)
    torch.testing.assert_close(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])


def test_gpt_ties_its_output_layer_to_the_token_embedding():
    model = _gpt()
    assert model.lm_head.weight is model.token_embedding.weight


def test_bert_sees_both_directions_and_ignores_padding():
    model = _bert()
    ids = torch.tensor([[1, 5, 6, 7, 8, 2, 0, 0]])
    changed = ids.clone()
    changed[0, 4] = 9
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        hidden, hidden_changed = model.encode(ids), model.encode(changed)
        assert not torch.allclose(hidden[:, 0], hidden_changed[:, 0])  # position 0 sees token 4
        torch.testing.assert_close(model.encode(padded)[:, :6], hidden[:, :6])
        assert model(ids).shape == (1, 8, 13)
        assert model.classify(ids).shape == (1, 2)


@pytest.mark.parametrize("ids", [torch.zeros(2, 17, dtype=torch.long), torch.zeros(2, 3)])
def test_token_models_reject_bad_ids(ids):
    with pytest.raises(ValueError, match="ids|max_len"):
        _gpt()(ids)


def test_patchify_matches_unfold_and_reads_patches_row_by_row():
    images = torch.randn(2, 3, 6, 4)
    expected = F.unfold(images, 2, stride=2).transpose(1, 2)  # (B, N, C·P·P)
    torch.testing.assert_close(patchify(images, 2), expected)
    grid = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert patchify(grid, 2)[0].tolist() == [
        [0, 1, 4, 5],
        [2, 3, 6, 7],
        [8, 9, 12, 13],
        [10, 11, 14, 15],
    ]


@pytest.mark.parametrize(
    ("shape", "size", "message"),
    [((2, 8, 8), 2, "(B, C, H, W)"), ((1, 1, 6, 6), 4, "multiples"), ((1, 1, 4, 4), 0, "positive")],
)
def test_patchify_explains_bad_arguments(shape, size, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        patchify(torch.zeros(shape), size)


def test_vision_transformer_puts_a_class_token_before_the_patches():
    torch.manual_seed(0)
    model = VisionTransformer(8, 2, 1, 10, d_model=16, nhead=2, dim_feedforward=32).eval()
    images = torch.rand(3, 1, 8, 8)
    maps = self_attention_maps(model, images)
    assert model(images).shape == (3, 10)
    assert [m.shape for m in maps] == [(3, 2, 17, 17)] * 2  # 1 class token + 16 patches
    with pytest.raises(ValueError, match="multiple"):
        VisionTransformer(8, 3)


def test_mask_tokens_follows_the_15_80_10_10_rule():
    ids = torch.randint(4, 700, (400, 250), generator=torch.Generator().manual_seed(0))
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = False  # [CLS]
    inputs, targets = mask_tokens(
        ids,
        maskable,
        mask_id=700,
        random_ids=range(4, 700),
        generator=torch.Generator().manual_seed(1),
    )
    chosen = targets != IGNORE_INDEX
    assert not chosen[:, 0].any() and (inputs[:, 0] == ids[:, 0]).all()
    assert (targets[chosen] == ids[chosen]).all()
    assert abs(chosen[:, 1:].float().mean().item() - 0.15) < 0.005
    masked, kept = inputs[chosen] == 700, inputs[chosen] == ids[chosen]
    random = ~masked & ~kept
    assert abs(masked.float().mean().item() - 0.8) < 0.01
    assert abs(kept.float().mean().item() - 0.1) < 0.01
    assert abs(random.float().mean().item() - 0.1) < 0.01
    assert ((inputs[chosen][random] >= 4) & (inputs[chosen][random] < 700)).all()
    assert (inputs[~chosen] == ids[~chosen]).all()


def test_mask_tokens_is_repeatable_with_a_seeded_generator():
    ids = torch.arange(40).reshape(2, 20) % 10 + 4
    maskable = torch.ones_like(ids, dtype=torch.bool)
    run = [
        mask_tokens(
            ids,
            maskable,
            mask_id=3,
            random_ids=[4, 5, 6],
            generator=torch.Generator().manual_seed(7),
        )
        for _ in range(2)
    ]
    assert torch.equal(run[0][0], run[1][0]) and torch.equal(run[0][1], run[1][1])
    with pytest.raises(ValueError, match="maskable"):
        mask_tokens(ids, maskable[:, :5], mask_id=3, random_ids=[4])


def test_next_token_distribution_keeps_the_top_k_and_renormalises():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 3.0, 1.0, 2.0]])
    probs = next_token_distribution(logits, 0.5, top_k=2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
    assert (probs[0, 2:] == 0).all() and (probs[1, [0, 2]] == 0).all()
    torch.testing.assert_close(probs[0, :2], torch.softmax(torch.tensor([4.0, 2.0]), 0))
    torch.testing.assert_close(next_token_distribution(logits), torch.softmax(logits, -1))
    assert next_token_distribution(logits, top_k=99).shape == (2, 4)
    with pytest.raises(ValueError, match="temperature"):
        next_token_distribution(logits, 0.0)


def test_generate_is_seeded_and_top_1_is_greedy():
    model = _gpt()
    prompt = torch.tensor([[1, 2, 3]])
    model.train()
    samples = [
        generate(model, prompt, 8, top_k=3, generator=torch.Generator().manual_seed(0))
        for _ in range(2)
    ]
    assert model.training, "generate must restore the model's mode"
    assert samples[0].shape == (1, 11) and torch.equal(samples[0], samples[1])
    greedy = prompt
    with torch.no_grad():
        for _ in range(8):
            greedy = torch.cat([greedy, model(greedy)[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(generate(model, prompt, 8, top_k=1), greedy)


def test_cached_and_uncached_generation_give_the_same_samples():
    model = _gpt()
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    samples = [
        generate(
            model,
            prompt,
            20,
            temperature=1.5,
            generator=torch.Generator().manual_seed(3),
            use_cache=use,
        )
        for use in (True, False)
    ]
    assert samples[0].shape == (2, 23)  # past max_len = 16: the window slides
    assert torch.equal(samples[0], samples[1])


def test_the_cache_gives_the_logits_of_the_whole_sequence():
    model = _gpt()
    ids = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(0))
    cache = model.new_cache()
    with torch.no_grad():
        steps = [model(ids[:, :5], cache=cache)] + [
            model(ids[:, : t + 1], cache=cache) for t in range(5, 9)
        ]
        torch.testing.assert_close(torch.cat(steps, dim=1), model(ids), atol=1e-5, rtol=1e-4)
        assert cache[0].length == 9
        with pytest.raises(ValueError, match="extend"):
            model(ids, cache=cache)


def test_self_attention_maps_are_causal_for_a_gpt_and_full_for_a_bert():
    ids = torch.tensor([[1, 5, 6, 7, 8, 2]])
    for model, causal in ((_gpt(), True), (_bert(), False)):
        maps = self_attention_maps(model, ids)
        assert len(maps) == 2 and maps[0].shape == (1, 2, 6, 6)
        torch.testing.assert_close(maps[-1].sum(-1), torch.ones(1, 2, 6))
        above = torch.ones(6, 6, dtype=torch.bool).triu(1)
        assert (maps[0][..., above] == 0).all() == causal
    with pytest.raises(TypeError, match="SelfAttentionStack"):
        self_attention_maps(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_the_fused_kernel_gives_the_course_paths_result_and_recording_restores_it():
    model, ids = _bert(), torch.tensor([[1, 5, 6, 7, 8, 2, 0, 0]])
    attentions = [layer.self_attn for layer in model.blocks.layers]
    assert all(a.fused for a in attentions)
    with torch.no_grad():
        fused = model(ids)
        for a in attentions:
            a.fused = False
        torch.testing.assert_close(model(ids), fused, atol=1e-5, rtol=1e-4)
        for a in attentions:
            a.fused = True
    maps = self_attention_maps(model, ids)
    assert all(m is not None for m in maps) and all(a.fused for a in attentions)
    assert (maps[0][..., 6:] == 0).all()  # no query attends to the padding
