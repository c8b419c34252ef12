"""Tests for tools.toy_corpus: hand-checked sentence pairs and the committed corpus files."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers.translation.tokenization import tokenize
from tools.toy_corpus import (
    DEFAULT_SEED,
    PHENOMENA,
    SPLITS,
    Adverbial,
    Clause,
    Coordination,
    NounPhrase,
    Pair,
    PrepositionalPhrase,
    Pronoun,
    Sentence,
    corpus_statistics,
    read_split,
    realise,
    sample_sentence,
    write_corpus,
)
from tools.toy_corpus.corpus import _nouns
from tools.toy_corpus.lexicon import NOUNS, PREPOSITIONS, VERBS

DATA = Path(__file__).resolve().parent.parent / "data" / "toy-en-de"
N, P, PP = NounPhrase, Pronoun, PrepositionalPhrase


def say(clause: Clause, question: bool = False) -> Pair:
    return realise(Sentence((clause,), question=question))


SEEN_IN_PARK = Clause(
    N("man"), "see", N("dog"), prepositional_phrases=(PP("in", N("park")),), tense="perfect"
)
BARKS_BECAUSE = Clause(
    N("dog"), "bark", adverbial=Adverbial("because", Clause(N("man"), "read", N("newspaper", "a")))
)

# Every German sentence below was checked by hand; each exercises one or more phenomena.
CASES = [
    # tense, word order, stem changes
    (SEEN_IN_PARK,
     "The man has seen the dog in the park.", "Der Mann hat den Hund im Park gesehen."),
    (Clause(N("woman"), "eat", N("apple", "a")), "The woman eats an apple.", "Die Frau isst einen Apfel."),
    (Clause(P("I"), "climb", prepositional_phrases=(PP("onto", N("roof")),)),
     "I climb onto the roof.", "Ich klettere auf das Dach."),
    (Clause(N("man"), "go", prepositional_phrases=(PP("into", N("house")),), tense="perfect"),
     "The man has gone into the house.", "Der Mann ist ins Haus gegangen."),
    (Clause(N("child", "the", True), "visit", N("grandmother"), prepositional_phrases=(PP("in", N("hospital")),), tense="will"),
     "The children will visit the grandmother in the hospital.", "Die Kinder werden die Großmutter im Krankenhaus besuchen."),
    (Clause(P("we"), "like", N("cat")), "We like the cat.", "Wir mögen die Katze."),
    (Clause(P("she"), "like", N("cat")), "She likes the cat.", "Sie mag die Katze."),
    # negation
    (Clause(N("man"), "see", N("dog", "a"), negated=True), "The man does not see a dog.", "Der Mann sieht keinen Hund."),
    (Clause(N("man"), "have", N("dog", "no")), "The man has no dog.", "Der Mann hat keinen Hund."),
    (Clause(N("child"), "eat", N("apple", "", True, "red"), negated=True),
     "The child does not eat red apples.", "Das Kind isst keine roten Äpfel."),
    (Clause(P("I"), "read", N("book", "a"), tense="perfect", negated=True), "I have not read a book.", "Ich habe kein Buch gelesen."),
    (Clause(N("man"), "help", N("child", "a"), negated=True), "The man does not help a child.", "Der Mann hilft keinem Kind."),
    (Clause(N("man"), "give", N("ball", "a"), indirect_object=N("child"), negated=True),
     "The man does not give the child a ball.", "Der Mann gibt dem Kind keinen Ball."),
    (Clause(N("girl"), "see", N("cat"), negated=True), "The girl does not see the cat.", "Das Mädchen sieht die Katze nicht."),
    (Clause(N("boy"), "sleep", tense="perfect", negated=True), "The boy has not slept.", "Der Junge hat nicht geschlafen."),
    (Clause(N("dog"), "swim", tense="can", negated=True), "The dog cannot swim.", "Der Hund kann nicht schwimmen."),
    (Clause(P("she"), "help", P("he"), tense="will", negated=True), "She will not help him.", "Sie wird ihm nicht helfen."),
    (Clause(N("woman"), "show", N("picture"), indirect_object=N("boy"), tense="perfect", negated=True),
     "The woman has not shown the boy the picture.", "Die Frau hat dem Jungen das Bild nicht gezeigt."),
    # prepositions, case and contractions
    (Clause(N("girl"), "go", prepositional_phrases=(PP("to", N("school")),)), "The girl goes to the school.", "Das Mädchen geht zur Schule."),
    (Clause(N("boy"), "run", prepositional_phrases=(PP("to", N("station", adjective="old")),)),
     "The boy runs to the old station.", "Der Junge läuft zum alten Bahnhof."),
    (Clause(N("child"), "live", prepositional_phrases=(PP("with", N("grandfather")),)),
     "The child lives with the grandfather.", "Das Kind wohnt beim Großvater."),
    (Clause(N("apple"), "fall", prepositional_phrases=(PP("from", N("tree")),)), "The apple falls from the tree.", "Der Apfel fällt vom Baum."),
    (Clause(N("woman"), "sit", prepositional_phrases=(PP("at", N("table")),)), "The woman sits at the table.", "Die Frau sitzt am Tisch."),
    (Clause(N("dog"), "sleep", prepositional_phrases=(PP("in", N("garden", adjective="big")),)),
     "The dog sleeps in the big garden.", "Der Hund schläft im großen Garten."),
    (Clause(N("fox", "a"), "run", prepositional_phrases=(PP("through", N("forest")),)), "A fox runs through the forest.", "Ein Fuchs läuft durch den Wald."),
    (Clause(N("cat"), "jump", prepositional_phrases=(PP("onto", N("table")),), tense="perfect"),
     "The cat has jumped onto the table.", "Die Katze ist auf den Tisch gesprungen."),
    (Clause(N("cat"), "sleep", prepositional_phrases=(PP("on", N("sofa")),)), "The cat sleeps on the sofa.", "Die Katze schläft auf dem Sofa."),
    (Clause(N("horse"), "stand", prepositional_phrases=(PP("in front of", N("house")),)),
     "The horse stands in front of the house.", "Das Pferd steht vor dem Haus."),
    (Clause(N("man", "the", True), "wait", prepositional_phrases=(PP("next to", N("door")),)),
     "The men wait next to the door.", "Die Männer warten neben der Tür."),
    (Clause(N("father"), "buy", N("ball", "a"), prepositional_phrases=(PP("for", N("son")),)),
     "The father buys a ball for the son.", "Der Vater kauft einen Ball für den Sohn."),
    (Clause(N("woman"), "go", prepositional_phrases=(PP("into", N("park")), PP("without", N("dog")))),
     "The woman goes into the park without the dog.", "Die Frau geht ohne den Hund in den Park."),
    (Clause(N("girl"), "take", N("key"), prepositional_phrases=(PP("out of", N("bag")),)),
     "The girl takes the key out of the bag.", "Das Mädchen nimmt den Schlüssel aus der Tasche."),
    (Clause(P("they"), "find", P("it"), prepositional_phrases=(PP("under", N("bed")),)), "They find it under the bed.", "Sie finden es unter dem Bett."),
    (Clause(P("I"), "play", prepositional_phrases=(PP("with", P("they")),)), "I play with them.", "Ich spiele mit ihnen."),
    # dative objects, weak nouns, declension
    (Clause(N("boy"), "help", N("woman", adjective="old")), "The boy helps the old woman.", "Der Junge hilft der alten Frau."),
    (Clause(N("dog"), "follow", N("man"), tense="perfect"), "The dog has followed the man.", "Der Hund ist dem Mann gefolgt."),
    (Clause(N("teacher"), "give", N("book", "a"), indirect_object=N("child", "the", True)),
     "The teacher gives the children a book.", "Der Lehrer gibt den Kindern ein Buch."),
    (Clause(P("we"), "show", N("picture", "our"), indirect_object=P("she"), tense="perfect"),
     "We have shown her our picture.", "Wir haben ihr unser Bild gezeigt."),
    (Clause(N("lion"), "see", N("elephant", "a", adjective="young")), "The lion sees a young elephant.", "Der Löwe sieht einen jungen Elefanten."),
    (Clause(N("girl"), "thank", N("neighbour")), "The girl thanks the neighbour.", "Das Mädchen dankt dem Nachbarn."),
    (Clause(N("man", "a", adjective="old"), "see", N("elephant", "a")),
     "An old man sees an elephant.", "Ein alter Mann sieht einen Elefanten."),
    (Clause(N("horse", "a", adjective="white"), "eat", N("carrot")), "A white horse eats the carrot.", "Ein weißes Pferd isst die Karotte."),
    (Clause(N("cat", "my", True, "black"), "catch", N("mouse", "a")), "My black cats catch a mouse.", "Meine schwarzen Katzen fangen eine Maus."),
    (Clause(N("man"), "give", N("key", "his"), indirect_object=N("son", "his", adjective="tired")),
     "The man gives his tired son his key.", "Der Mann gibt seinem müden Sohn seinen Schlüssel."),
    (Clause(N("dog", adjective="tired"), "sleep"), "The tired dog sleeps.", "Der müde Hund schläft."),
    # numerals: plural with strong adjective endings
    (Clause(N("dog", "two", True, "big"), "play", prepositional_phrases=(PP("in", N("garden")),)),
     "Two big dogs play in the garden.", "Zwei große Hunde spielen im Garten."),
    (Clause(N("woman"), "go", prepositional_phrases=(PP("with", N("child", "three", True, "small")),)),
     "The woman goes with three small children.", "Die Frau geht mit drei kleinen Kindern."),
    (Clause(P("I"), "buy", N("egg", "five", True)), "I buy five eggs.", "Ich kaufe fünf Eier."),
    # coordination of noun phrases: plural verb
    (Clause(Coordination((N("man"), N("woman"))), "see", N("dog")), "The man and the woman see the dog.", "Der Mann und die Frau sehen den Hund."),
    (Clause(Coordination((N("boy"), N("girl"))), "read", N("letter")), "The boy and the girl read the letter.", "Der Junge und das Mädchen lesen den Brief."),
    (Clause(N("man"), "see", Coordination((N("dog", "a"), N("cat", "a"))), tense="perfect"),
     "The man has seen a dog and a cat.", "Der Mann hat einen Hund und eine Katze gesehen."),
    # pronouns
    (Clause(P("he"), "see", P("she")), "He sees her.", "Er sieht sie."),
    (Clause(P("I"), "sleep"), "I sleep.", "Ich schlafe."),
    # subordinate clauses
    (BARKS_BECAUSE,
     "The dog barks because the man reads a newspaper.", "Der Hund bellt, weil der Mann eine Zeitung liest."),
    (Clause(N("woman"), "say", complement=Clause(N("man"), "see", N("dog"), tense="perfect")),
     "The woman says that the man has seen the dog.", "Die Frau sagt, dass der Mann den Hund gesehen hat."),
    (Clause(N("cat"), "sleep", adverbial=Adverbial("if", Clause(N("child"), "sing"), fronted=True)),
     "If the child sings, the cat sleeps.", "Wenn das Kind singt, schläft die Katze."),
    (Clause(P("I"), "think", complement=Clause(N("bird"), "fly", tense="can"), negated=True),
     "I do not think that the bird can fly.", "Ich denke nicht, dass der Vogel fliegen kann."),
    (Clause(N("teacher"), "know", complement=Clause(N("child", "the", True), "swim", tense="can")),
     "The teacher knows that the children can swim.", "Der Lehrer weiß, dass die Kinder schwimmen können."),
    (Clause(N("woman"), "know", N("city")), "The woman knows the city.", "Die Frau kennt die Stadt."),
    (Clause(N("man"), "believe", complement=Clause(N("woman"), "come", tense="will"), tense="perfect"),
     "The man has believed that the woman will come.", "Der Mann hat geglaubt, dass die Frau kommen wird."),
    (Clause(N("boy"), "cry", adverbial=Adverbial("because", Clause(N("dog"), "eat", N("cake", "his"), tense="perfect"))),
     "The boy cries because the dog has eaten his cake.", "Der Junge weint, weil der Hund seinen Kuchen gegessen hat."),
]  # fmt: skip

QUESTIONS = [
    (Clause(N("man"), "see", N("dog")), "Does the man see the dog?", "Sieht der Mann den Hund?"),
    (Clause(N("man"), "see", N("dog"), tense="perfect"), "Has the man seen the dog?", "Hat der Mann den Hund gesehen?"),
    (Clause(P("they"), "swim", prepositional_phrases=(PP("in", N("lake")),), tense="can"),
     "Can they swim in the lake?", "Können sie im See schwimmen?"),
    (Clause(N("child", "the", True), "play", prepositional_phrases=(PP("with", N("dog")),)),
     "Do the children play with the dog?", "Spielen die Kinder mit dem Hund?"),
    (Clause(Coordination((N("man"), N("woman"))), "see", N("dog"), tense="will"),
     "Will the man and the woman see the dog?", "Werden der Mann und die Frau den Hund sehen?"),
    (Clause(N("woman"), "know", complement=Clause(N("man"), "sleep")),
     "Does the woman know that the man sleeps?", "Weiß die Frau, dass der Mann schläft?"),
]  # fmt: skip

COORDINATED = [
    (Sentence((Clause(N("dog"), "sleep"), Clause(N("cat"), "play")), ("but",)),
     "The dog sleeps, but the cat plays.", "Der Hund schläft, aber die Katze spielt."),
    (Sentence((Clause(N("man"), "read", N("book"), tense="perfect"), Clause(N("woman"), "sleep", tense="perfect")), ("and",)),
     "The man has read the book and the woman has slept.", "Der Mann hat das Buch gelesen und die Frau hat geschlafen."),
    (Sentence((Clause(N("dog"), "sleep", adverbial=Adverbial("because", Clause(N("man"), "read", N("book", "a")))), Clause(N("cat"), "play")), ("and",)),
     "The dog sleeps because the man reads a book, and the cat plays.",
     "Der Hund schläft, weil der Mann ein Buch liest, und die Katze spielt."),
]  # fmt: skip

ALL_CASES = (
    [(Sentence((clause,)), en, de) for clause, en, de in CASES]
    + [(Sentence((clause,), question=True), en, de) for clause, en, de in QUESTIONS]
    + COORDINATED
)


@pytest.mark.parametrize(("sentence", "english", "german"), ALL_CASES)
def test_hand_checked_pairs(sentence, english, german):
    pair = realise(sentence)
    assert (pair.src, pair.tgt) == (english, german)
    src, tgt = tokenize(pair.src), tokenize(pair.tgt)
    assert all(0 <= i < len(src) and 0 <= j < len(tgt) for i, j in pair.alignment)
    assert_covered(pair)


def test_every_phenomenon_has_three_hand_checked_pairs():
    counts = Counter(tag for sentence, _, _ in ALL_CASES for tag in realise(sentence).phenomena)
    assert len(ALL_CASES) >= 40
    assert {tag: counts[tag] for tag in PHENOMENA if counts[tag] < 3} == {}


def links(pair: Pair) -> set[tuple[str, str]]:
    src, tgt = tokenize(pair.src), tokenize(pair.tgt)
    return {(src[i], tgt[j]) for i, j in pair.alignment}


def test_alignment_of_perfect_and_contraction():
    pair = say(SEEN_IN_PARK)
    assert pair.alignment == (
        (0, 0), (1, 1), (2, 2), (3, 7), (4, 3), (5, 4), (6, 5), (7, 5), (8, 6), (9, 8),
    )  # fmt: skip
    assert pair.phenomena == ("contraction", "perfect", "pp_dative")


def test_alignment_of_do_support_and_kein():
    pair = say(Clause(N("man"), "see", N("dog", "a"), negated=True))
    assert links(pair) == {
        ("The", "Der"), ("man", "Mann"), ("does", "sieht"), ("see", "sieht"),
        ("not", "keinen"), ("a", "keinen"), ("dog", "Hund"), (".", "."),
    }  # fmt: skip
    question = say(Clause(N("man"), "see", N("dog")), question=True)
    assert (0, 0) in question.alignment and (3, 0) in question.alignment  # Does, see -> Sieht


def test_alignment_of_multiword_prepositions_cannot_and_commas():
    pair = say(Clause(N("horse"), "stand", prepositional_phrases=(PP("in front of", N("house")),)))
    assert {("in", "vor"), ("front", "vor"), ("of", "vor")} <= links(pair)
    pair = say(Clause(N("dog"), "swim", tense="can", negated=True))
    assert {("cannot", "kann"), ("cannot", "nicht"), ("swim", "schwimmen")} <= links(pair)
    # the German comma before weil has no English counterpart; a fronted clause's comma has
    trailing = say(BARKS_BECAUSE)
    comma = tokenize(trailing.tgt).index(",")
    assert all(j != comma for _, j in trailing.alignment)
    fronted = say(
        Clause(
            N("cat"), "sleep", adverbial=Adverbial("if", Clause(N("child"), "sing"), fronted=True)
        )
    )
    assert (4, 4) in fronted.alignment  # "," - ","


def assert_covered(pair: Pair) -> None:
    """Every non-punctuation token of both sides is aligned; final marks align."""
    src, tgt = tokenize(pair.src), tokenize(pair.tgt)
    aligned_src = {i for i, _ in pair.alignment}
    aligned_tgt = {j for _, j in pair.alignment}
    assert [w for i, w in enumerate(src) if i not in aligned_src and w.isalnum()] == [], pair
    assert [w for j, w in enumerate(tgt) if j not in aligned_tgt and w.isalnum()] == [], pair
    assert (len(src) - 1, len(tgt) - 1) in pair.alignment, pair


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: N("dog", "two"), "needs plural=True"),
        (lambda: N("dog", "a", plural=True), "singular"),
        (lambda: N("unicorn"), "noun must be"),
        (lambda: N("dog", adjective="purple"), "adjective must be"),
        (lambda: P("you"), "pronoun must be"),
        (lambda: PP("over", N("bridge")), "preposition must be"),
        (lambda: Clause(N("dog"), "bark", tense="past"), "tense must be"),
        (lambda: Clause(N("man"), "sleep", N("dog"), indirect_object=N("child")), "no verb 'sleep'"),
        (lambda: Sentence((Clause(N("dog"), "bark"), Clause(N("cat"), "sleep")), ("and",), question=True), "a question"),
        (lambda: Sentence((Clause(N("dog"), "bark"), Clause(N("cat"), "sleep"))), "need 1 conjunctions"),
        (lambda: say(Clause(N("man"), "have", N("dog", "no"), negated=True)), "double negation"),
        (lambda: say(Clause(N("man"), "give", N("ball"), indirect_object=N("child", "a"), negated=True)), "definite recipient"),
    ],
)  # fmt: skip
def test_misuse_raises_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_pair_lines_round_trip():
    pair = say(SEEN_IN_PARK)
    assert Pair.from_line(pair.to_line() + "\n") == pair
    with pytest.raises(ValueError, match="4 tab-separated fields"):
        Pair.from_line("only\ttwo")


def test_every_verb_preposition_has_nouns():
    for verb in VERBS.values():
        for preposition in verb.prepositions:
            if PREPOSITIONS[preposition].kind != "company":
                nouns = _nouns("animate thing place", preposition, verb.pp_tag)
                assert len(nouns) >= 2, (verb.english, preposition)
    assert all(noun.german[0].isupper() and noun.gender in "mfn" for noun in NOUNS.values())


# the committed files -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[Pair]]:
    return {name: read_split(DATA / f"{name}.tsv.gz") for name in SPLITS}


def test_regeneration_is_byte_identical(tmp_path):
    paths = write_corpus(tmp_path, seed=DEFAULT_SEED)
    assert sorted(paths) == sorted(p.name for p in DATA.iterdir() if p.is_file())
    for name, path in paths.items():
        if name.endswith(".gz"):
            assert gzip.decompress(path.read_bytes()) == gzip.decompress(
                (DATA / name).read_bytes()
            ), name
        else:
            assert path.read_bytes() == (DATA / name).read_bytes(), name


def test_sha256sums_match_decompressed_files():
    lines = (DATA / "SHA256SUMS").read_text().splitlines()
    expected = {name: digest for digest, name in (line.split("  ") for line in lines)}
    assert sorted(expected) == sorted(f"{name}.tsv" for name in SPLITS)
    for name in SPLITS:
        data = gzip.decompress((DATA / f"{name}.tsv.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == expected[f"{name}.tsv"]


def test_split_sizes_lengths_and_no_overlap(corpus):
    assert {name: len(pairs) for name, pairs in corpus.items()} == SPLITS
    sources = [pair.src for pairs in corpus.values() for pair in pairs]
    assert len(set(sources)) == len(sources)  # no duplicates within or across splits
    train_lengths = [len(tokenize(pair.src)) for pair in corpus["train"]]
    assert min(train_lengths) >= 4 and max(train_lengths) <= 20
    assert min(len(tokenize(pair.src)) for pair in corpus["test-long"]) > max(train_lengths)


def test_every_line_is_well_formed_and_aligned(corpus):
    for pairs in corpus.values():
        for pair in pairs:
            assert pair.src[0].isupper() and pair.tgt[0].isupper(), pair
            assert pair.src[-1] in ".?" and pair.tgt[-1] == pair.src[-1], pair
            assert "'" not in pair.src, pair  # no contractions
            src, tgt = tokenize(pair.src), tokenize(pair.tgt)
            assert list(pair.alignment) == sorted(set(pair.alignment)), pair
            assert all(0 <= i < len(src) and 0 <= j < len(tgt) for i, j in pair.alignment), pair
            assert_covered(pair)
            assert list(pair.phenomena) == sorted(pair.phenomena)
            assert set(pair.phenomena) <= set(PHENOMENA), pair


def test_every_phenomenon_is_common_in_train(corpus):
    shares = corpus_statistics(corpus["train"])["phenomena"]
    assert {tag: share for tag, share in shares.items() if share < 0.05} == {}


def test_german_is_a_function_of_english(corpus):
    """Fresh samples from another seed never translate a corpus sentence differently."""
    german = {pair.src: pair.tgt for pairs in corpus.values() for pair in pairs}
    rng = random.Random(12345)
    seen = 0
    for _ in range(20_000):
        pair = realise(sample_sentence(rng, long=rng.random() < 0.1))
        if pair.src in german:
            seen += 1
            assert german[pair.src] == pair.tgt, pair
    assert seen > 100  # the check compared many sentences


def test_sampling_does_not_depend_on_hash_seed():
    code = (
        "import random, json; from tools.toy_corpus import realise, sample_sentence; "
        "rng = random.Random(7); "
        "print(json.dumps([realise(sample_sentence(rng)).to_line() for _ in range(300)]))"
    )
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        outputs.add(run.stdout)
    assert len(outputs) == 1 and len(json.loads(outputs.pop())) == 300


def test_corpus_statistics_counts():
    pairs = [say(SEEN_IN_PARK), say(Clause(N("dog", "two", True), "sleep"))]
    stats = corpus_statistics(pairs)
    assert stats["pairs"] == 2
    assert stats["source_length"]["max"] == 10 and stats["source_length"]["min"] == 4
    assert stats["source_length"]["histogram"]["1–5"] == 1
    assert stats["phenomena"]["perfect"] == 0.5 and stats["phenomena"]["numeral"] == 0.5
    with pytest.raises(ValueError, match="at least one pair"):
        corpus_statistics([])
