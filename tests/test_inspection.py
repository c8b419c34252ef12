"""helpers.inspection: recording attention without changing the model, word alignments and
their scores, entropy, head ablation and the widget's pure function. (Its figures are tested
in ``test_plotting_inspecting_attention.py``.)"""

from __future__ import annotations

import math

import pytest
import torch

import helpers.inspection as inspection
from helpers.inspection import (
    AlignmentCounts,
    ablated_heads,
    alignment_counts,
    alignment_links,
    alignment_matrix,
    alignment_scores,
    argmax_alignment,
    attention_entropy,
    attention_maps,
    attention_mass,
    cross_attention_maps,
    diagonal_alignment,
    heads_of,
    inspect_sentence,
    mean_head_outputs,
    over_words,
    recording_attention,
    sentence_counts,
    sure_and_possible,
    teacher_forced_maps,
    threshold_alignment,
)
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.data import Example
from helpers.translation.tokenization import WordVocab, tokenize

EXAMPLES = [
    Example("The dog sleeps.", "Der Hund schläft.", ((0, 0), (1, 1), (2, 2), (3, 3))),
    Example(
        "The man has seen the dog in the park.",
        "Der Mann hat den Hund im Park gesehen.",
        ((0, 0), (1, 1), (2, 2), (3, 7), (4, 3), (5, 4), (6, 5), (7, 5), (8, 6), (9, 8)),
    ),
    Example("I sleep.", "Ich schlafe.", ((0, 0), (1, 1), (2, 2))),
]
SRC_VOCAB = WordVocab.build(ex.src for ex in EXAMPLES)
TGT_VOCAB = WordVocab.build(ex.tgt for ex in EXAMPLES)


def _model(fused: bool = False, seed: int = 0) -> Seq2SeqTransformer:
    torch.manual_seed(seed)
    return Seq2SeqTransformer(
        len(SRC_VOCAB),
        len(TGT_VOCAB),
        d_model=16,
        nhead=4,
        num_encoder_layers=2,
        num_decoder_layers=3,
        dim_feedforward=32,
        dropout=0.1,
        max_len=64,
        pad_id=0,
        fused=fused,
    ).eval()


def _batch():
    """Two padded pairs: src (2, S) ids + EOS, tgt_in (2, T) BOS + ids."""
    src = torch.tensor([[5, 6, 7, 2, 0, 0], [4, 5, 6, 7, 8, 2]])
    tgt_in = torch.tensor([[1, 4, 5, 6, 0], [1, 7, 8, 9, 10]])
    return src, tgt_in


# --- the package ------------------------------------------------------------------------------


def test_the_package_re_exports_exactly_the_public_names_of_its_modules():
    from helpers.inspection import ablation, alignment, attribution, recording, sentence, statistics

    modules = (ablation, alignment, attribution, recording, sentence, statistics)
    names = [name for module in modules for name in module.__all__]
    assert sorted(inspection.__all__) == sorted(names)
    for module in modules:
        assert all(getattr(inspection, name) is getattr(module, name) for name in module.__all__)


# --- recording --------------------------------------------------------------------------------


@pytest.mark.parametrize("fused", [False, True])
def test_recording_leaves_outputs_unchanged_and_restores_the_modules(fused):
    model = _model(fused)
    src, tgt_in = _batch()
    with torch.no_grad():
        expected = model(src, tgt_in)
        with recording_attention(model) as maps:
            recorded = model(src, tgt_in)
    assert torch.allclose(recorded, expected, atol=1e-5)
    attention = [m for m in model.modules() if hasattr(m, "head_mask")]
    assert len(attention) == 2 + 3 + 3
    assert all(m.fused is fused and not m._forward_hooks for m in attention)
    B, S, T, H = 2, src.shape[1], tgt_in.shape[1], 4
    assert [tuple(m.shape) for m in maps.encoder] == [(B, H, S, S)] * 2
    assert [tuple(m.shape) for m in maps.decoder] == [(B, H, T, T)] * 3
    assert [tuple(m.shape) for m in maps.cross] == [(B, H, T, S)] * 3


def test_recording_restores_the_modules_after_an_error():
    model = _model(fused=True)
    with pytest.raises(RuntimeError, match="boom"), recording_attention(model):
        raise RuntimeError("boom")
    assert all(m.fused and not m._forward_hooks for m in model.modules() if hasattr(m, "fused"))


def test_rows_sum_to_one_over_unmasked_keys():
    model = _model()
    src, tgt_in = _batch()
    maps = attention_maps(model.train(), src, tgt_in)
    assert model.training  # put back in the mode it was in; the maps came from eval mode
    real_src, real_tgt = src != 0, tgt_in != 0
    for part, keys in (("encoder", real_src), ("decoder", real_tgt), ("cross", real_src)):
        for weights in getattr(maps, part):
            assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)
            assert torch.all(weights.transpose(1, 3)[~keys] == 0)  # padding keys: weight 0
    for weights in maps.decoder:  # causal: no query sees a later position
        assert torch.all(weights.triu(diagonal=1) == 0)


def test_maps_for_bertviz_are_per_layer_single_examples_without_padding():
    maps = attention_maps(_model(), *_batch())
    views = maps.for_bertviz(0, src_len=4, tgt_len=4)
    assert [tuple(w.shape) for w in views["encoder_attention"]] == [(1, 4, 4, 4)] * 2
    assert [tuple(w.shape) for w in views["decoder_attention"]] == [(1, 4, 4, 4)] * 3
    assert [tuple(w.shape) for w in views["cross_attention"]] == [(1, 4, 4, 4)] * 3
    assert torch.equal(views["cross_attention"][2][0], maps.cross[2][0, :, :4, :4])
    last = maps.for_bertviz(-1)["encoder_attention"][0]
    assert torch.equal(last, maps.encoder[0][1:])
    with pytest.raises(ValueError, match=r"index must lie in \[0, B=2\); got 2"):
        maps.for_bertviz(2)


def _as_bertviz_reads(views: dict) -> None:
    """The checks bertviz's model_view makes before drawing (bertviz/model_view.py, util.py):
    per layer a 4-D (1, H, rows, columns) tensor, and as many tokens as rows and columns
    (cross-attention: decoder tokens down, encoder tokens across)."""
    sides = {
        "encoder_attention": ("encoder_tokens", "encoder_tokens"),
        "decoder_attention": ("decoder_tokens", "decoder_tokens"),
        "cross_attention": ("decoder_tokens", "encoder_tokens"),
    }
    for name, (left, right) in sides.items():
        per_layer = views[name]
        assert isinstance(per_layer, tuple) and per_layer
        assert all(torch.is_tensor(m) and m.ndim == 4 and m.shape[0] == 1 for m in per_layer)
        stacked = torch.stack([m.squeeze(0) for m in per_layer])  # (L, H, rows, columns)
        assert len(stacked.tolist()[0][0]) == len(views[left])
        assert len(stacked.tolist()[0][0][0]) == len(views[right])
        assert all(isinstance(token, str) for token in views[left] + views[right])


def test_maps_for_bertviz_carry_their_tokens_in_the_format_bertviz_reads():
    maps = attention_maps(_model(), *_batch())
    encoder_tokens = ["The", "dog", "sleeps", "<eos>"]
    decoder_tokens = ["<bos>", "Der", "Hund", "schläft"]
    views = maps.for_bertviz(0, encoder_tokens=encoder_tokens, decoder_tokens=decoder_tokens)
    _as_bertviz_reads(views)
    assert views["encoder_tokens"] == encoder_tokens and views["decoder_tokens"] == decoder_tokens
    assert torch.equal(views["cross_attention"][1][0], maps.cross[1][0, :, :4, :4])
    with pytest.raises(
        ValueError, match="encoder_tokens must label the 6 encoder positions; got 4"
    ):
        maps.for_bertviz(1, src_len=6, encoder_tokens=encoder_tokens)


def test_an_inspected_sentence_exports_to_bertviz_with_its_tokens():
    result = inspect_sentence(_model(), SRC_VOCAB, TGT_VOCAB, "The dog sleeps.", max_len=6)
    views = result.for_bertviz()
    _as_bertviz_reads(views)
    assert views["encoder_tokens"] == result.source_tokens
    assert views["decoder_tokens"] == result.decoder_inputs
    with pytest.raises(ValueError, match="nothing was translated"):
        inspect_sentence(_model(), SRC_VOCAB, TGT_VOCAB, " ").for_bertviz()


def test_recording_needs_the_course_transformer():
    with pytest.raises(TypeError, match="expected the course's Seq2SeqTransformer"):
        with recording_attention(torch.nn.Linear(2, 2)):
            pass


# --- summaries of a head ----------------------------------------------------------------------


def test_entropy_of_uniform_and_one_hot_rows_with_padding_excluded():
    S = 5
    uniform = torch.full((1, 1, 3, S), 1 / S)
    one_hot = torch.eye(S)[:3][None, None]
    weights = torch.cat([uniform, one_hot], dim=1)  # (B=1, H=2, T=3, S=5)
    assert torch.allclose(attention_entropy(weights), torch.tensor([math.log(S), 0.0]).double())
    weights[0, :, 2] = torch.tensor([0.5, 0.5, 0, 0, 0])  # a padding query: must not count
    real = torch.tensor([[True, True, False]])
    assert torch.allclose(
        attention_entropy(weights, real), torch.tensor([math.log(S), 0.0]).double()
    )
    assert not torch.allclose(attention_entropy(weights), torch.tensor([math.log(S), 0.0]).double())
    with pytest.raises(ValueError, match=r"query_mask must be a boolean \(B, T\) = \(1, 3\)"):
        attention_entropy(weights, real[:, :2])


def test_attention_mass_on_the_previous_token():
    T = 4
    previous = torch.arange(T)[None] == torch.arange(T)[:, None] - 1  # (T, S): key t - 1
    weights = torch.stack([torch.eye(T), torch.eye(T).roll(-1, dims=1)])[None]  # (1, 2, T, T)
    # head 0 looks at itself, head 1 at the previous token except for query 0 (which wraps)
    mass = attention_mass(weights, previous)
    assert torch.allclose(mass, torch.tensor([0.0, 0.75]).double())
    with pytest.raises(ValueError, match=r"keys must broadcast to \(B, T, S\) = \(1, 4, 4\)"):
        attention_mass(weights, previous[:3])


# --- alignments and their scores --------------------------------------------------------------


def test_alignment_matrix_and_links_round_trip():
    links = [(0, 0), (1, 2), (2, 1), (2, 2)]
    matrix = alignment_matrix(links, src_len=3, tgt_len=4)
    assert matrix.shape == (4, 3) and matrix[2, 1] and matrix[1, 2] and not matrix[0, 1]
    assert alignment_links(matrix) == sorted(links)
    with pytest.raises(ValueError, match=r"link \(source 3, target 0\) lies outside"):
        alignment_matrix([(3, 0)], src_len=3, tgt_len=4)


def test_argmax_alignment_of_a_hand_made_matrix():
    weights = torch.tensor(
        [
            [0.1, 0.7, 0.2],
            [0.5, 0.1, 0.4],
            [0.3, 0.3, 0.4],
            [0.4, 0.4, 0.2],  # a tie: the first source word wins
        ]
    )
    assert alignment_links(argmax_alignment(weights)) == [(0, 1), (0, 3), (1, 0), (2, 2)]
    batched = argmax_alignment(torch.stack([weights, weights.flip(-1)]))  # leading dimension
    assert torch.equal(batched[0], argmax_alignment(weights))
    assert alignment_links(batched[1]) == [(0, 2), (1, 0), (1, 3), (2, 1)]
    assert alignment_links(threshold_alignment(weights, 0.4)) == [
        (0, 1),
        (0, 3),
        (1, 0),
        (1, 3),
        (2, 1),
        (2, 2),
    ]
    with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\]; got 0"):
        threshold_alignment(weights, 0)


def test_scores_by_hand_with_sure_and_possible_links():
    # 3 target x 4 source words. Gold: sure (0,0) (1,1) (2,3); possible also (2,2).
    sure = alignment_matrix([(0, 0), (1, 1), (3, 2)], src_len=4, tgt_len=3)
    possible = sure | alignment_matrix([(2, 2)], src_len=4, tgt_len=3)
    predicted = alignment_matrix([(0, 0), (2, 2), (2, 1)], src_len=4, tgt_len=3)
    # |A| = 3, |S| = 3, |A ∩ S| = 1 ((0,0)), |A ∩ P| = 2 ((0,0), (2,2))
    counts = alignment_counts(predicted, sure, possible)
    assert float(counts.precision) == pytest.approx(2 / 3)
    assert float(counts.recall) == pytest.approx(1 / 3)
    assert float(counts.aer) == pytest.approx(1 - (1 + 2) / (3 + 3))
    sure_only = alignment_counts(predicted, sure)  # P = S: AER = 1 - F1
    p, r = 1 / 3, 1 / 3
    assert float(sure_only.aer) == pytest.approx(1 - 2 * p * r / (p + r))
    assert float(alignment_counts(sure, sure, possible).aer) == 0.0


def test_corpus_scores_sum_counts_rather_than_average_sentence_scores():
    sure_a = alignment_matrix([(0, 0)], 2, 1)
    wrong_a = alignment_matrix([(1, 0)], 2, 1)  # 0 of 1 right: AER 1
    sure_b = alignment_matrix([(i, i) for i in range(9)], 9, 9)
    right_b = sure_b.clone()  # 9 of 9 right: AER 0
    total = alignment_counts(wrong_a, sure_a) + alignment_counts(right_b, sure_b)
    assert float(total.aer) == pytest.approx(1 - 18 / 20)  # not (1 + 0) / 2
    assert int(total.predicted) == 10 and int(total.sure_hits) == 9


def test_empty_alignments_give_clear_errors():
    empty = torch.zeros(2, 3, dtype=torch.bool)
    some = alignment_matrix([(0, 0)], 3, 2)
    with pytest.raises(ValueError, match=r"AER is undefined when both .* are empty"):
        _ = alignment_counts(empty, empty).aer
    with pytest.raises(ValueError, match=r"precision is undefined without predicted links"):
        _ = alignment_counts(empty, some).precision
    with pytest.raises(ValueError, match=r"recall is undefined without sure gold links"):
        _ = alignment_counts(some, empty).recall
    assert float(alignment_counts(empty, some).aer) == 1.0  # nothing predicted: all wrong
    with pytest.raises(ValueError, match=r"every sure link must also be possible"):
        alignment_counts(some, some, empty)
    with pytest.raises(ValueError, match=r"must cover the same words; got \(3, 2\), \(2, 3\)"):
        alignment_counts(some.T.contiguous(), some)
    with pytest.raises(ValueError, match=r"predicted must be a boolean link matrix"):
        alignment_counts(some.float(), some)
    per_head = torch.stack([empty, some])  # (H=2, T, S): head 0 predicts nothing
    with pytest.raises(ValueError, match=r"precision .* \(at 1 of 2 entries\)"):
        _ = alignment_counts(per_head, some).precision


def test_over_words_reads_predicting_or_reading_queries():
    weights = torch.arange(4 * 3.0).view(4, 3)  # BOS + 3 target words; 2 source words + EOS
    assert torch.equal(over_words(weights, "predicting"), weights[:3, :2])
    assert torch.equal(over_words(weights), weights[:3, :2])
    assert torch.equal(over_words(weights, "reading"), weights[1:, :2])
    assert over_words(weights.expand(2, 5, 4, 3), "reading").shape == (2, 5, 3, 2)
    with pytest.raises(ValueError, match="query must be one of"):
        over_words(weights, "next")
    with pytest.raises(ValueError, match=r"\(\.\.\., T \+ 1, S \+ 1\) .* got \(4, 1\)"):
        over_words(weights[:, :1])


@pytest.mark.parametrize("fused", [False, True])
def test_cross_attention_maps_match_one_pair_at_a_time(fused):
    model = _model(fused)
    maps = cross_attention_maps(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB, batch_size=2)
    for example, weights in zip(EXAMPLES, maps, strict=True):
        S, T = len(tokenize(example.src)), len(tokenize(example.tgt))
        assert weights.shape == (3, 4, T + 1, S + 1)
        src = torch.tensor([SRC_VOCAB.encode(example.src) + [2]])
        tgt_in = torch.tensor([[1] + TGT_VOCAB.encode(example.tgt)])
        alone = torch.stack(attention_maps(model, src, tgt_in).cross, dim=1)[0]
        assert torch.allclose(weights, alone, atol=1e-5)
        assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)  # no padding left
    assert all(m.fused is fused for m in model.modules() if hasattr(m, "fused"))


def test_recording_only_some_parts():
    maps = attention_maps(_model(fused=True), *_batch(), parts=("cross",))
    assert maps.encoder == [] and maps.decoder == [] and len(maps.cross) == 3
    with pytest.raises(ValueError, match="no maps recorded yet for encoder, decoder"):
        maps.for_bertviz()
    with pytest.raises(ValueError, match="parts must be a list drawn from"):
        attention_maps(_model(), *_batch(), parts="cross")


def test_cross_attention_maps_need_one_id_per_word():
    class Letters(WordVocab):
        def encode(self, text):
            return [4] * len(text.replace(" ", ""))

    letters = Letters(SRC_VOCAB.to_state()["tokens"])
    with pytest.raises(ValueError, match=r"source tokenizer must give one id per word"):
        cross_attention_maps(_model(), EXAMPLES, letters, TGT_VOCAB)


def test_alignment_scores_per_layer_and_head_sum_the_sentences():
    maps = cross_attention_maps(_model(), EXAMPLES, SRC_VOCAB, TGT_VOCAB)
    attentions = [over_words(weights) for weights in maps]
    scores = alignment_scores(attentions, EXAMPLES)
    assert scores.predicted.shape == (3, 4)
    words = sum(len(tokenize(ex.tgt)) for ex in EXAMPLES)
    assert torch.all(scores.predicted == words)  # argmax: one link per target word
    by_hand = 0
    for weights, ex in zip(attentions, EXAMPLES, strict=True):
        gold = alignment_matrix(ex.alignment, weights.shape[-1], weights.shape[-2])
        by_hand += (argmax_alignment(weights[1, 2]) & gold).sum()
    assert scores.sure_hits[1, 2] == by_hand
    perfect = [alignment_matrix(ex.alignment, w.shape[-1], w.shape[-2]).float() for w, ex in
               zip(attentions, EXAMPLES, strict=True)]  # fmt: skip
    assert torch.all(alignment_scores(perfect, EXAMPLES, threshold=0.5).aer == 0)
    with pytest.raises(ValueError, match="example 0 has no gold alignment"):
        alignment_scores(attentions[:1], [Example("The dog sleeps.", "Der Hund schläft.")])
    with pytest.raises(ValueError, match="one attention tensor per example"):
        alignment_scores(attentions[:2], EXAMPLES)


def test_diagonal_baselines_give_one_link_per_target_word():
    identity = diagonal_alignment(3, 5)  # more target words than source words
    assert alignment_links(identity) == [(0, 0), (1, 1), (2, 2), (2, 3), (2, 4)]
    proportional = diagonal_alignment(10, 9, proportional=True)
    assert alignment_links(proportional) == [
        (0, 0), (1, 1), (2, 2), (3, 3), (5, 4), (6, 5), (7, 6), (8, 7), (9, 8)
    ]  # fmt: skip
    for S, T in [(1, 7), (7, 1), (4, 4), (13, 5)]:
        links = diagonal_alignment(S, T, proportional=True)
        assert links.shape == (T, S) and torch.all(links.sum(-1) == 1)
        source = links.int().argmax(-1)  # (T,): the source word of each target word
        assert torch.all(source.diff() >= 0)  # in order, at the same relative place
        assert torch.all(((source + 0.5) / S - (torch.arange(T) + 0.5) / T).abs() <= 0.5 / S)
        assert torch.equal(diagonal_alignment(S, S, proportional=True), torch.eye(S).bool())
    with pytest.raises(ValueError, match="src_len"):
        diagonal_alignment(0, 3)


def test_sure_and_possible_grades_contractions_and_do_support():
    contraction = EXAMPLES[1]  # ... in the park -> im Park: in-im sure, the-im possible
    sure, possible = sure_and_possible(contraction)
    assert torch.equal(possible, alignment_matrix(contraction.alignment, 10, 9))
    assert alignment_links(possible & ~sure) == [(7, 5)]
    question = Example(
        "Does a frog find a shoe?",
        "Findet ein Frosch einen Schuh?",
        ((0, 0), (1, 1), (2, 2), (3, 0), (4, 3), (5, 4), (6, 5)),
    )
    sure, possible = sure_and_possible(question)
    assert alignment_links(possible & ~sure) == [(0, 0)]  # does-Findet; find-Findet stays sure
    assert sure[0, 3]
    plain = sure_and_possible(EXAMPLES[0])
    assert torch.equal(plain[0], plain[1])  # nothing to grade: P = S
    with pytest.raises(ValueError, match="no gold alignment"):
        sure_and_possible(Example("a", "b"))


def test_sentence_counts_keep_the_sentences_apart_and_sum_to_the_corpus_counts():
    maps = cross_attention_maps(_model(), EXAMPLES, SRC_VOCAB, TGT_VOCAB)
    attentions = [over_words(weights) for weights in maps]
    links = [argmax_alignment(w) for w in attentions]
    per_sentence = sentence_counts(links, EXAMPLES)
    assert per_sentence.predicted.shape == (3, 3, 4)  # (N, L, H)
    total = per_sentence.total()
    scores = alignment_scores(attentions, EXAMPLES)
    assert all(
        torch.equal(a, b) for a, b in zip(total.as_tensor(), scores.as_tensor(), strict=True)
    )
    second = AlignmentCounts.from_tensor(per_sentence.as_tensor()[1])
    gold = alignment_matrix(EXAMPLES[1].alignment, 10, 9)
    assert torch.equal(second.sure_hits, (links[1] & gold).sum((-2, -1)))
    graded = sentence_counts(links, EXAMPLES, gold=sure_and_possible)
    assert torch.all(graded.sure[1] == per_sentence.sure[1] - 1)  # the-im is possible only
    assert torch.equal(graded.possible_hits, per_sentence.possible_hits)
    with pytest.raises(ValueError, match="one link matrix per example"):
        sentence_counts(links[:2], EXAMPLES)
    with pytest.raises(ValueError, match="last dimension of 4"):
        AlignmentCounts.from_tensor(torch.zeros(3))


def test_teacher_forced_maps_hold_every_part_without_padding():
    model = _model(fused=True)
    maps = teacher_forced_maps(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB, batch_size=2)
    cross = cross_attention_maps(model, EXAMPLES, SRC_VOCAB, TGT_VOCAB)
    for example, pair, alone in zip(EXAMPLES, maps, cross, strict=True):
        S, T = len(tokenize(example.src)) + 1, len(tokenize(example.tgt)) + 1
        assert pair["encoder"].shape == (2, 4, S, S) and pair["decoder"].shape == (3, 4, T, T)
        assert torch.allclose(pair["cross"], alone, atol=1e-5)
        for weights in pair.values():
            assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)


# --- ablation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fused", [False, True])
def test_ablating_no_heads_changes_nothing_and_all_cross_heads_cuts_off_the_source(fused):
    model = _model(fused)
    src, tgt_in = _batch()
    other_src = src.flip(0)
    with torch.no_grad():
        expected = model(src, tgt_in)
        with ablated_heads(model, []):
            assert torch.equal(model(src, tgt_in), expected)
        with ablated_heads(model, heads_of(model, "cross")):
            ablated = model(src, tgt_in)
            cut_off = model(other_src, tgt_in)  # the source now cannot reach the decoder
        assert not torch.allclose(ablated, expected, atol=1e-3)
        assert torch.allclose(ablated, cut_off, atol=1e-5)
        assert torch.equal(model(src, tgt_in), expected)  # restored
    assert all(m.head_mask is None for m in model.modules() if hasattr(m, "head_mask"))


def test_ablating_one_head_changes_only_its_layer_mix_and_keeps_an_existing_mask():
    model = _model()
    cross = model.transformer.decoder_layers[1].cross_attn
    cross.head_mask = torch.tensor([1.0, 1.0, 0.5, 1.0])
    with ablated_heads(model, [("cross", 1, 0)]):
        assert cross.head_mask.tolist() == [0.0, 1.0, 0.5, 1.0]
        assert model.transformer.decoder_layers[0].cross_attn.head_mask is None
    assert cross.head_mask.tolist() == [1.0, 1.0, 0.5, 1.0]


def test_mean_ablation_puts_each_heads_mean_output_in_its_place():
    model = _model(fused=True)
    src, tgt_in = _batch()
    means = mean_head_outputs(model, src, tgt_in)
    assert {part: tuple(m.shape) for part, m in means.items()} == {
        "encoder": (2, 4, 4),
        "decoder": (3, 4, 4),
        "cross": (3, 4, 4),
    }
    inputs = {}
    hook = model.transformer.decoder_layers[1].cross_attn.w_o.register_forward_hook(
        lambda module, args, output: inputs.update(x=args[0])  # what w_o was given
    )
    with torch.no_grad():
        model(src, tgt_in)
        heads = inputs["x"].view(2, 5, 4, 4)  # (B, T, H, Dh)
        assert torch.allclose(means["cross"][1], heads[tgt_in != 0].mean(0), atol=1e-5)
        with ablated_heads(model, [("cross", 1, 2)], means=means):
            model(src, tgt_in)
            replaced = inputs["x"].view(2, 5, 4, 4)
        assert torch.allclose(replaced[:, :, 2], means["cross"][1, 2].expand(2, 5, 4))
        assert torch.equal(replaced[:, :, [0, 1, 3]], heads[:, :, [0, 1, 3]])
        zeros = {part: torch.zeros_like(m) for part, m in means.items()}
        expected = model(src, tgt_in)
        with ablated_heads(model, heads_of(model, "cross"), means=zeros):
            as_zero = model(src, tgt_in)
        with ablated_heads(model, heads_of(model, "cross")):
            assert torch.allclose(as_zero, model(src, tgt_in), atol=1e-5)
        assert torch.equal(model(src, tgt_in), expected)  # hooks removed
    hook.remove()
    assert all(not m.w_o._forward_pre_hooks for m in model.modules() if hasattr(m, "w_o"))


def test_mean_ablation_cuts_the_source_off_and_checks_the_means():
    model = _model()
    src, tgt_in = _batch()
    means = mean_head_outputs(model, src, tgt_in, parts=("cross",))
    with torch.no_grad(), ablated_heads(model, heads_of(model, "cross"), means=means):
        assert torch.allclose(model(src, tgt_in), model(src.flip(0), tgt_in), atol=1e-5)
    with pytest.raises(ValueError, match=r"means\['encoder'\] must be the \(L, H, Dh\)"):
        with ablated_heads(model, [("encoder", 0, 0)], means=means):
            pass


def test_ablation_errors_name_the_heads_there_are():
    model = _model()
    assert len(heads_of(model, "encoder")) == 8 and heads_of(model)[-1] == ("cross", 2, 3)
    with pytest.raises(ValueError, match="cross has 3 layers of 4 heads; got layer 3, head 0"):
        with ablated_heads(model, [("cross", 3, 0)]):
            pass
    with pytest.raises(ValueError, match=r"part in \('encoder', 'decoder', 'cross'\)"):
        with ablated_heads(model, [("self", 0, 0)]):
            pass
    with pytest.raises(ValueError, match="part must be one of"):
        heads_of(model, "self")


# --- the widget's function --------------------------------------------------------------------


def test_inspect_sentence_flags_unknown_words_instead_of_failing():
    model = _model()
    result = inspect_sentence(model, SRC_VOCAB, TGT_VOCAB, "The zebra sleeps in Paris.", max_len=6)
    assert result.unknown_words == ["zebra", "Paris"]
    assert "zebra, Paris" in result.message and "<unk>" in result.message
    assert result.source_tokens == ["The", "<unk>", "sleeps", "in", "<unk>", ".", "<eos>"]
    assert result.decoder_inputs[0] == "<bos>" and result.outputs[-1] == "<eos>"
    T, S = len(result.outputs), len(result.source_tokens)
    assert tuple(result.maps.cross[0].shape) == (1, 4, T, S)
    assert result.translation == TGT_VOCAB.decode(TGT_VOCAB.encode(result.translation))
    assert result.labels("cross") == (result.outputs, result.source_tokens)
    assert len(result.labels("decoder")[0]) == result.maps.decoder[0].shape[-2] == T
    with pytest.raises(ValueError, match="part must be one of"):
        result.labels("self")
    known = inspect_sentence(model, SRC_VOCAB, TGT_VOCAB, "The dog sleeps.", max_len=6)
    assert known.unknown_words == [] and known.message == ""
    empty = inspect_sentence(model, SRC_VOCAB, TGT_VOCAB, "   ")
    assert empty.maps is None and empty.translation == "" and "Type an English" in empty.message
