"""helpers.translation.tokenization: word and subword tokenizers share one interface and round-trip text."""

from __future__ import annotations

import io
import itertools

import pytest
import torch

from helpers.translation.tokenization import (
    SPECIAL_TOKENS,
    SubwordTokenizer,
    Tokenizer,
    WordVocab,
    detokenize,
    tokenize,
    tokenizer_from_state,
)

SUBJECTS = ["Ein Mann", "Eine Frau", "Zwei Hunde", "Das Mädchen", "Ein Junge", "Drei Männer"]
VERBS = ["läuft über", "spielt auf", "schläft neben", "wartet vor", "fährt durch", "springt von"]
PLACES = ["die Straße", "dem Gebäude", "einer Brücke", "dem Fluss", "einem Zaun", "der Küche"]
ENDINGS = [".", "!", ", während es regnet.", ", und ein Kind backt schöne Äpfel."]
CORPUS = [f"{s} {v} {p}{e}" for s, v, p, e in itertools.product(SUBJECTS, VERBS, PLACES, ENDINGS)]
UNSEEN_WORDS = "Ein Bäcker wäscht süße Äpfel über der schönen Brücke."  # new words, seen letters


@pytest.fixture(scope="module")
def word_vocab() -> WordVocab:
    return WordVocab.build(CORPUS)


@pytest.fixture(scope="module")
def subword() -> SubwordTokenizer:
    return SubwordTokenizer.train(CORPUS, vocab_size=120)


def torch_round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_tokenize_splits_punctuation_and_detokenize_undoes_it():
    assert tokenize("Der Mann, der schläft.") == ["Der", "Mann", ",", "der", "schläft", "."]
    assert tokenize("Ein T-Shirt (rot) und Peter's Hut!") == [
        "Ein", "T-Shirt", "(", "rot", ")", "und", "Peter's", "Hut", "!"
    ]  # fmt: skip
    for text in ["Der Mann, der schläft.", "Ein T-Shirt (rot) und Peter's Hut!"]:
        assert detokenize(tokenize(text)) == text


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_both_tokenizers_share_the_interface_and_special_ids(kind, word_vocab, subword):
    tokenizer = word_vocab if kind == "word" else subword
    assert isinstance(tokenizer, Tokenizer)
    ids = (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.unk_id)
    assert ids == (0, 1, 2, 3)
    assert [tokenizer.id_to_token(i) for i in ids] == list(SPECIAL_TOKENS)
    text = CORPUS[7]
    ids = tokenizer.encode(text)
    assert all(4 <= i < len(tokenizer) for i in ids)  # no special token, no unknown
    assert tokenizer.tokens(text) == [tokenizer.id_to_token(i) for i in ids]
    with pytest.raises(ValueError, match=r"\[0, V="):
        tokenizer.id_to_token(len(tokenizer))


def test_word_vocab_orders_by_frequency_then_string_and_ignores_text_order():
    texts = ["b a a", "c b a", "B"]
    vocab = WordVocab.build(texts)
    assert [vocab.id_to_token(i) for i in range(len(vocab))] == [
        *SPECIAL_TOKENS,
        "a",
        "b",
        "B",
        "c",
    ]
    assert WordVocab.build(texts[::-1]).to_state() == vocab.to_state()
    assert vocab.encode("b B") == [5, 6]  # case-sensitive
    assert [vocab.id_to_token(i) for i in range(4, len(WordVocab.build(texts, min_freq=2)))] == [
        "a",
        "b",
    ]
    assert len(WordVocab.build(texts, max_size=5)) == 5
    assert WordVocab.build(texts, max_size=5).id_to_token(4) == "a"


def test_word_vocab_round_trips_known_sentences(word_vocab):
    for text in CORPUS:
        assert word_vocab.decode(word_vocab.encode(text)) == detokenize(tokenize(text))
    assert word_vocab.decode(word_vocab.encode("Ein Mann läuft  über die Straße .")) == (
        "Ein Mann läuft über die Straße."
    )


def test_word_vocab_flags_unknown_words(word_vocab):
    text = "Ein Zebra schläft neben dem Zebra oder Tiger."
    ids = word_vocab.encode(text)
    assert ids.count(word_vocab.unk_id) == 4  # Zebra twice, oder, Tiger
    assert word_vocab.unknown_words(text) == ["Zebra", "oder", "Tiger"]
    assert word_vocab.tokens(text)[1] == "<unk>"
    assert word_vocab.decode(ids) == "Ein <unk> schläft neben dem <unk> <unk> <unk>."
    assert word_vocab.unknown_words(CORPUS[0]) == []


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_decode_skips_pad_and_bos_and_stops_at_the_first_eos(kind, word_vocab, subword):
    tokenizer = word_vocab if kind == "word" else subword
    text = CORPUS[11]
    ids = tokenizer.encode(text)
    framed = [tokenizer.bos_id, *ids, tokenizer.eos_id, *ids, tokenizer.pad_id]
    assert tokenizer.decode(framed) == tokenizer.decode(ids)
    assert tokenizer.decode(torch.tensor([tokenizer.pad_id, *ids, tokenizer.pad_id])) == (
        tokenizer.decode(ids)
    )
    assert tokenizer.decode([tokenizer.eos_id, *ids]) == ""
    with pytest.raises(ValueError, match="1-D"):
        tokenizer.decode(torch.tensor([ids, ids]))
    with pytest.raises(ValueError, match=r"\[0, V="):
        tokenizer.decode([*ids, len(tokenizer)])


def test_subword_round_trips_sentences_with_umlauts_and_unseen_words(subword):
    assert len(subword) == 120
    assert set(UNSEEN_WORDS) <= set("".join(CORPUS))
    for text in [*CORPUS[::17], UNSEEN_WORDS]:
        ids = subword.encode(text)
        assert subword.unk_id not in ids
        assert subword.decode(ids) == text
    pieces = subword.tokens("Bäcker")
    assert len(pieces) > 1 and "".join(pieces) == "▁Bäcker"


def test_subword_maps_a_never_seen_character_to_unk_and_decode_marks_it(subword):
    text = "Ein Mann sieht ☃ auf der Straße."
    ids = subword.encode(text)
    assert ids.count(subword.unk_id) == 1
    assert "<unk>" in subword.tokens(text)
    decoded = subword.decode(ids)
    assert " ⁇ " in decoded and "☃" not in decoded
    assert decoded.replace(" ⁇ ", "☃").replace("  ", " ") == text


def test_subword_training_is_deterministic_and_quiet(capfd):
    first = SubwordTokenizer.train(CORPUS, vocab_size=100, seed=3)
    second = SubwordTokenizer.train(CORPUS, vocab_size=100, seed=3)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert first.to_state()["model_proto"] == second.to_state()["model_proto"]
    assert first.encode(UNSEEN_WORDS) == second.encode(UNSEEN_WORDS)


def test_subword_unigram_model_also_round_trips():
    unigram = SubwordTokenizer.train(CORPUS, vocab_size=80, model_type="unigram")
    assert unigram.decode(unigram.encode(UNSEEN_WORDS)) == UNSEEN_WORDS


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_state_survives_torch_save_and_weights_only_load(kind, word_vocab, subword):
    tokenizer = word_vocab if kind == "word" else subword
    restored = tokenizer_from_state(torch_round_trip(tokenizer.to_state()))
    assert type(restored) is type(tokenizer) and len(restored) == len(tokenizer)
    for text in [CORPUS[3], UNSEEN_WORDS]:
        assert restored.encode(text) == tokenizer.encode(text)
        assert restored.decode(restored.encode(text)) == tokenizer.decode(tokenizer.encode(text))


def test_bad_states_are_rejected():
    with pytest.raises(ValueError, match="kind 'word' or 'subword'"):
        tokenizer_from_state({"kind": "char"})
    with pytest.raises(ValueError, match="kind 'word' or 'subword'"):
        tokenizer_from_state(["<pad>"])
    with pytest.raises(ValueError, match="first tokens must be"):
        WordVocab(["a", "b"])
    with pytest.raises(ValueError, match=r"distinct; repeated: \['a'\]"):
        WordVocab([*SPECIAL_TOKENS, "a", "b", "a"])
    with pytest.raises(TypeError, match="bytes"):
        SubwordTokenizer("not a model")


def test_word_vocab_build_errors():
    with pytest.raises(ValueError, match="contain words"):
        WordVocab.build([])
    with pytest.raises(ValueError, match="contain words"):
        WordVocab.build(["", "   "])
    with pytest.raises(ValueError, match="min_freq"):
        WordVocab.build(CORPUS, min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        WordVocab.build(CORPUS, max_size=3)


def test_subword_training_errors_are_clear():
    with pytest.raises(ValueError, match="non-empty training texts"):
        SubwordTokenizer.train([])
    with pytest.raises(ValueError, match="non-empty training texts"):
        SubwordTokenizer.train(["", "  "])
    with pytest.raises(ValueError, match=r"vocab_size=100000 is too large .* at most \d+ pieces"):
        SubwordTokenizer.train(CORPUS, vocab_size=100_000)
    with pytest.raises(ValueError, match=r"vocab_size=10 is too small .* >= \d+"):
        SubwordTokenizer.train(CORPUS, vocab_size=10)
    with pytest.raises(ValueError, match="model_type"):
        SubwordTokenizer.train(CORPUS, model_type="word")
    with pytest.raises(ValueError, match="character_coverage"):
        SubwordTokenizer.train(CORPUS, character_coverage=0)
