"""Sampling sentence structures, the train/valid/test/test-long splits, files and statistics.

Everything random comes from one ``random.Random(seed)``, and every choice is made from a
tuple in lexicon order, so the corpus is the same on every machine and under every
``PYTHONHASHSEED``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from helpers.translation.tokenization import tokenize
from tools.toy_corpus.grammar import (
    PHENOMENA,
    Adverbial,
    Clause,
    Coordination,
    NounPhrase,
    Pair,
    PrepositionalPhrase,
    Pronoun,
    Sentence,
    realise,
)
from tools.toy_corpus.lexicon import (
    ADJECTIVES,
    NOUNS,
    NUMERALS,
    POSSESSIVES,
    PREPOSITIONS,
    VERBS,
    Verb,
    lexicon_size,
)

__all__ = [
    "DEFAULT_SEED",
    "SPLITS",
    "corpus_statistics",
    "generate_corpus",
    "read_split",
    "render_readme",
    "sample_sentence",
    "write_corpus",
]

DEFAULT_SEED = 5
SPLITS = {"train": 100_000, "valid": 2_000, "test": 2_000, "test-long": 1_000}
MIN_LENGTH, MAX_LENGTH = 4, 20  # English tokens of train/valid/test sources
MAX_LONG_LENGTH = 40  # test-long sources: longer than every train source, at most this
LENGTH_BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20), (21, 25), (26, 30), (31, 40), (41, 999))


@dataclass(frozen=True)
class _Style:
    """Probabilities of the sampler; the long style makes test-long."""

    clauses: tuple[float, ...]  # weights of 1, 2, 3 coordinated clauses
    question: float
    adverbial: float
    complement: float
    pp: float
    second_pp: float
    adjective: float


SHORT = _Style(clauses=(0.8, 0.2), question=0.14, adverbial=0.3, complement=0.1, pp=0.55, second_pp=0.15, adjective=0.2)  # fmt: skip
LONG = _Style(clauses=(0.0, 0.5, 0.5), question=0.0, adverbial=0.55, complement=0.2, pp=0.8, second_pp=0.4, adjective=0.35)  # fmt: skip

FRAMES = (("intransitive", 0.3), ("transitive", 0.47), ("ditransitive", 0.13), ("that", 0.1))
TENSE_WEIGHTS = (("present", 0.42), ("perfect", 0.3), ("will", 0.12), ("can", 0.16))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    r = rng.random() * sum(weight for _, weight in weighted)
    for value, weight in weighted:
        r -= weight
        if r < 0:
            return value
    return weighted[-1][0]


@cache
def _verbs(frame: str) -> tuple[Verb, ...]:
    return tuple(verb for verb in VERBS.values() if verb.frame == frame)


@cache
def _nouns(tags: str, preposition: str = "", pp_tag: str = "") -> tuple[str, ...]:
    """Nouns with any of the space-separated ``tags`` (and the preposition and ``pp_tag``)."""
    wanted = set(tags.split())
    return tuple(
        name
        for name, noun in NOUNS.items()
        if wanted & noun.tags
        and (not preposition or preposition in noun.prepositions)
        and (not pp_tag or pp_tag in noun.tags)
    )


@cache
def _adjectives(noun: str) -> tuple[str, ...]:
    tags = NOUNS[noun].tags
    return tuple(name for name, adjective in ADJECTIVES.items() if adjective.tags & tags)


def _noun_phrase(
    rng: random.Random,
    nouns: tuple[str, ...],
    style: _Style,
    *,
    negated_object: bool = False,
    definite: bool = False,
    allow_no: bool = False,
    place: bool = False,
) -> NounPhrase:
    """``place``: the object of a PP, mostly "the" + singular (in the park, not in two parks)."""
    noun = rng.choice(nouns)
    plural = rng.random() < (0.12 if place else 0.28)
    r = rng.random()
    if definite or (place and not plural):
        determiner = "the" if r < 0.8 else rng.choice(tuple(POSSESSIVES))
    elif plural:
        if r < 0.35:
            determiner = "the"
        elif r < 0.6 and not negated_object:
            determiner = rng.choice(tuple(NUMERALS))
        elif r < 0.8:
            determiner = ""
        else:
            determiner = rng.choice(tuple(POSSESSIVES))
    elif r < 0.55:
        determiner = "the"
    elif r < 0.85:
        determiner = "a"
    else:
        determiner = rng.choice(tuple(POSSESSIVES))
    if allow_no and rng.random() < 0.06:
        determiner = "no"
    adjective = None
    if rng.random() < style.adjective and _adjectives(noun):
        adjective = rng.choice(_adjectives(noun))
    return NounPhrase(noun, determiner, plural, adjective)


def _pronoun(
    rng: random.Random, tags: str, subject: NounPhrase | Pronoun | Coordination | None
) -> Pronoun:
    """A pronoun for a noun with ``tags``; an object never shares the person of a pronoun
    subject (no *I see me*, *we help us*)."""
    if not {"animate", "person"} & set(tags.split()):
        return Pronoun(rng.choice(("it", "they")))
    names = ("I", "he", "she", "we", "they")
    if isinstance(subject, Pronoun):
        first_person = subject.name in ("I", "we")
        names = tuple(
            name
            for name in names
            if name != subject.name and not (first_person and name in ("I", "we"))
        )
    return Pronoun(rng.choice(names))


def _argument(
    rng: random.Random,
    tags: str,
    style: _Style,
    *,
    pronoun: float,
    coordination: float,
    avoid: NounPhrase | Pronoun | Coordination | None = None,
    **np_options: bool,
) -> NounPhrase | Pronoun | Coordination:
    """A subject or object noun phrase with tags; pronouns differ from ``avoid``."""
    nouns = _nouns(tags)
    if isinstance(avoid, NounPhrase) and len(nouns) > 1:
        nouns = tuple(noun for noun in nouns if noun != avoid.noun)
    r = rng.random()
    if r < pronoun:
        return _pronoun(rng, tags, avoid)
    if r < pronoun + coordination and len(nouns) > 1:
        options = {**np_options, "allow_no": False}
        first = _noun_phrase(rng, nouns, style, **options)
        rest = tuple(noun for noun in nouns if noun != first.noun)
        return Coordination((first, _noun_phrase(rng, rest, style, **options)))
    return _noun_phrase(rng, nouns, style, **np_options)


def _prepositional_phrases(
    rng: random.Random, verb: Verb, style: _Style, subject: NounPhrase | Pronoun | Coordination
) -> tuple[PrepositionalPhrase, ...]:
    """Up to two PPs, English order: location or direction first, then company."""
    places = [p for p in verb.prepositions if PREPOSITIONS[p].kind != "company"]
    company = [p for p in verb.prepositions if PREPOSITIONS[p].kind == "company"]
    if not verb.needs_pp and rng.random() >= style.pp:
        return ()
    chosen = []
    if places and (not company or rng.random() < 0.7):
        chosen.append(rng.choice(places))
        if company and verb.with_german == "mit" and rng.random() < style.second_pp:
            chosen.append(rng.choice(company))
    elif company:
        chosen.append(rng.choice(company))
    pps = []
    for preposition in chosen:
        if PREPOSITIONS[preposition].kind == "company":
            tags = "person" if verb.with_german == "bei" and preposition == "with" else "animate"
            nouns = _nouns(tags, preposition)
            if isinstance(subject, NounPhrase):  # not "the queen ... without the queen"
                nouns = tuple(noun for noun in nouns if noun != subject.noun)
            if rng.random() < 0.12:
                pps.append(PrepositionalPhrase(preposition, _pronoun(rng, tags, subject)))
                continue
        else:
            nouns = _nouns("animate thing place", preposition, verb.pp_tag)
        pps.append(PrepositionalPhrase(preposition, _noun_phrase(rng, nouns, style, place=True)))
    return tuple(pps)


def _clause(
    rng: random.Random,
    style: _Style,
    *,
    question: bool = False,
    subordinate: bool = False,
    allow_will: bool = True,
) -> Clause:
    frames = FRAMES if not subordinate else FRAMES[:-1]
    verb = rng.choice(_verbs(_pick(rng, frames)))
    tenses = TENSE_WEIGHTS if allow_will else tuple(t for t in TENSE_WEIGHTS if t[0] != "will")
    tense = _pick(rng, tenses)
    negated = not question and not verb.needs_pp and rng.random() < 0.22
    subject = _argument(
        rng, verb.subject, style, pronoun=0.2, coordination=0.07 if not question else 0.03
    )
    if question and subject == Pronoun("I"):
        subject = Pronoun("he")
    options = {"pronoun": 0.12, "coordination": 0.0 if negated else 0.05, "avoid": subject}
    object = indirect_object = complement = None
    if verb.frame == "ditransitive":
        indirect_object = _argument(
            rng, "person", style, pronoun=0.25, coordination=0.0, avoid=subject, definite=negated
        )
        # no pronoun theme: English would need "gives it to him"
        object = _argument(
            rng,
            verb.object,
            style,
            **{**options, "pronoun": 0.0},
            negated_object=negated,
            allow_no=not (negated or question),
        )
    elif verb.frame == "transitive":
        object = _argument(
            rng,
            verb.object,
            style,
            **options,
            negated_object=negated,
            allow_no=not (negated or question),
        )
    elif verb.frame == "that":
        complement = _clause(rng, style, subordinate=True)
    pps = () if negated else _prepositional_phrases(rng, verb, style, subject)
    return Clause(subject, verb.english, object, indirect_object, pps, tense, negated, complement)


def sample_sentence(rng: random.Random, long: bool = False) -> Sentence:
    """One random sentence structure; ``long`` gives the 2–3 clause sentences of test-long."""
    style = LONG if long else SHORT
    if rng.random() < style.question:
        return Sentence((_clause(rng, style, question=True),), question=True)
    count = 1 + int(_pick(rng, [(str(i), w) for i, w in enumerate(style.clauses)]))
    clauses = []
    for index in range(count):
        clause = _clause(rng, style)
        if clause.complement is None and rng.random() < style.adverbial:
            conjunction = "because" if rng.random() < 0.5 else "if"
            sub = _clause(rng, style, subordinate=True, allow_will=conjunction == "because")
            fronted = index == 0 and rng.random() < 0.35
            clause = replace(clause, adverbial=Adverbial(conjunction, sub, fronted))
        clauses.append(clause)
    conjunctions = tuple("and" if rng.random() < 0.6 else "but" for _ in clauses[1:])
    return Sentence(tuple(clauses), conjunctions)


def generate_corpus(seed: int = DEFAULT_SEED) -> dict[str, list[Pair]]:
    """Split name -> pairs: train, valid and test (4–20 English tokens), and test-long.

    Sentences are drawn from one stream and kept the first time their English occurs, so no
    English sentence appears twice in the corpus; train takes the first 100,000, then valid and
    test. test-long keeps only sources longer than every train source. A sentence drawn twice
    must come out with the same German, alignment and phenomena, else this raises.
    """
    rng = random.Random(seed)
    seen: dict[str, Pair] = {}

    def draw(long: bool, accept) -> Iterable[Pair]:
        while True:
            pair = realise(sample_sentence(rng, long))
            previous = seen.get(pair.src)
            if previous is not None:
                if previous != pair:
                    raise RuntimeError(
                        f"one English sentence, two translations:\n{previous}\n{pair}"
                    )
                continue
            if accept(len(tokenize(pair.src))):
                seen[pair.src] = pair
                yield pair

    short = draw(False, lambda n: MIN_LENGTH <= n <= MAX_LENGTH)
    splits = {
        name: [next(short) for _ in range(SPLITS[name])] for name in ("train", "valid", "test")
    }
    longest = max(len(tokenize(pair.src)) for pair in splits["train"])
    long = draw(True, lambda n: longest < n <= MAX_LONG_LENGTH)
    splits["test-long"] = [next(long) for _ in range(SPLITS["test-long"])]
    return splits


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False) as f:
        f.write(data)
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)


def _tsv(pairs: Sequence[Pair]) -> bytes:
    return "".join(pair.to_line() + "\n" for pair in pairs).encode("utf-8")


def write_corpus(out_dir: str | os.PathLike, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Generate the corpus and write ``<split>.tsv.gz``, ``SHA256SUMS`` and ``README.md``.

    The gzip files carry no name and no time stamp; ``SHA256SUMS`` holds the hashes of the
    *decompressed* files (``train.tsv`` ...), which do not depend on the zlib build.
    Returns file name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = generate_corpus(seed)
    paths = {}
    sums = []
    for name, pairs in splits.items():
        data = _tsv(pairs)
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as f:
            f.write(data)
        paths[f"{name}.tsv.gz"] = out / f"{name}.tsv.gz"
        _atomic_write(paths[f"{name}.tsv.gz"], buffer.getvalue())
        sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}.tsv\n")
    paths["SHA256SUMS"] = out / "SHA256SUMS"
    _atomic_write(paths["SHA256SUMS"], "".join(sums).encode())
    paths["README.md"] = out / "README.md"
    _atomic_write(paths["README.md"], render_readme(splits, seed).encode("utf-8"))
    return paths


def read_split(path: str | os.PathLike) -> list[Pair]:
    """The pairs of one ``<split>.tsv.gz`` file written by ``write_corpus``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        return [Pair.from_line(line) for line in f]


def corpus_statistics(pairs: Sequence[Pair]) -> dict:
    """Sizes, length histograms (English/German tokens), vocabularies and phenomenon shares."""
    if not pairs:
        raise ValueError("corpus_statistics needs at least one pair; got none")
    sources = [tokenize(pair.src) for pair in pairs]
    targets = [tokenize(pair.tgt) for pair in pairs]
    tags = Counter(tag for pair in pairs for tag in pair.phenomena)

    def lengths(tokenised: list[list[str]]) -> dict:
        counts = Counter(len(tokens) for tokens in tokenised)
        histogram = {
            (f"{low}–{high}" if high < 999 else f"{low}+"): sum(
                n for length, n in counts.items() if low <= length <= high
            )
            for low, high in LENGTH_BUCKETS
        }
        total = sum(length * n for length, n in counts.items())
        return {
            "histogram": histogram,
            "min": min(counts),
            "max": max(counts),
            "mean": round(total / len(tokenised), 2),
        }

    return {
        "pairs": len(pairs),
        "source_length": lengths(sources),
        "target_length": lengths(targets),
        "english_types": len({token for tokens in sources for token in tokens}),
        "german_types": len({token for tokens in targets for token in tokens}),
        "phenomena": {tag: round(tags[tag] / len(pairs), 4) for tag in PHENOMENA},
    }


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _example(pair: Pair) -> str:
    src, tgt = tokenize(pair.src), tokenize(pair.tgt)
    links = " ".join(f"{src[i]}–{tgt[j]}" for i, j in pair.alignment)
    pharaoh = " ".join(f"{i}-{j}" for i, j in pair.alignment)
    return (
        f"en:        {pair.src}\nde:        {pair.tgt}\nalignment: {pharaoh}\n"
        f"links:     {links}\nphenomena: {', '.join(pair.phenomena)}"
    )


def render_readme(splits: dict[str, Sequence[Pair]], seed: int = DEFAULT_SEED) -> str:
    """``data/toy-en-de/README.md``: description, format, licence and statistics of ``splits``."""
    stats = {name: corpus_statistics(pairs) for name, pairs in splits.items()}
    names = list(splits)
    sizes = lexicon_size()
    examples, used = [], set()
    for tag in (
        "perfect",
        "subordinate",
        "negation_kein",
        "contraction",
        "question",
        "coordination",
    ):
        pair = next(p for p in splits["test"] if tag in p.phenomena and p.src not in used)
        used.add(pair.src)
        examples.append(_example(pair))
    buckets = list(stats[names[0]]["source_length"]["histogram"])

    def lengths(name: str, key: str) -> str:
        length = stats[name][f"{key}_length"]
        return f"{length['min']} / {length['mean']} / {length['max']}"

    overview = _table(
        ["", *names],
        [
            ["pairs", *(stats[n]["pairs"] for n in names)],
            ["English tokens: min / mean / max", *(lengths(n, "source") for n in names)],
            ["German tokens: min / mean / max", *(lengths(n, "target") for n in names)],
            ["English types", *(stats[n]["english_types"] for n in names)],
            ["German types", *(stats[n]["german_types"] for n in names)],
        ],
    )
    histogram = _table(
        ["tokens", *(f"{n} {side}" for n in names for side in ("en", "de"))],
        [
            [
                bucket,
                *(
                    stats[n][f"{key}_length"]["histogram"][bucket]
                    for n in names
                    for key in ("source", "target")
                ),
            ]
            for bucket in buckets
        ],
    )
    shares = _table(
        ["tag", *names],
        [[tag, *(f"{100 * stats[n]['phenomena'][tag]:.1f} %" for n in names)] for tag in PHENOMENA],
    )
    lexicon = ", ".join(f"{n} {kind}" for kind, n in sizes.items() if kind != "total")
    tags = _table(["tag", "meaning"], PHENOMENA.items())
    example_list = "\n\n".join(examples)
    return f"""# toy-en-de: a generated English→German corpus with gold word alignments

<!-- Written by `python -m tools.toy_corpus --out data/toy-en-de`; do not edit by hand. -->

English→German sentence pairs generated by the course's own grammar and lexicon
(`tools/toy_corpus/`), for notebook `05_training_translation`, where a small Transformer
learns to translate on a laptop CPU and we measure whether its cross-attention learns word
alignment. Why generated rather than downloaded:

- **learnable on a CPU**: {sizes["total"]} English lemmas, and the German is a deterministic
  function of the English (no random synonyms or word orders), so a perfect model could reach
  BLEU 100;
- **real reordering**: the participle and infinitive go to the end (*hat den Hund im Park
  gesehen*), the verb goes last in *dass/weil/wenn* clauses and first in questions and after a
  fronted subordinate clause, objects and PPs change places;
- **gold word alignments**, built by the grammar as it writes both sentences.

Licence: generated by the course's code; no third-party text. The data is dedicated to the
public domain (CC0 1.0), like any output of `tools.toy_corpus`.

## Rebuild

```
python -m tools.toy_corpus --out data/toy-en-de            # seed {seed} (the default)
python -m tools.toy_corpus --stats data/toy-en-de          # statistics of the files
```

Generation uses one `random.Random({seed})` and does not depend on `PYTHONHASHSEED`.
`SHA256SUMS` holds the SHA-256 of each **decompressed** file (`gunzip -c train.tsv.gz |
sha256sum`), so the content can be checked independently of the zlib build.
`tests/test_toy_corpus.py` regenerates the corpus and compares it byte for byte.

## Format

`train.tsv.gz`, `valid.tsv.gz`, `test.tsv.gz`, `test-long.tsv.gz`: gzip, UTF-8, `\\n` line
ends, one pair per line, four tab-separated columns:

```
english<TAB>german<TAB>alignment<TAB>phenomena
```

- tokens are those of `helpers.translation.tokenization.tokenize` (words; every punctuation
  mark is a token);
- alignment: Pharaoh format `i-j` (English token i, German token j), sorted; one English word
  may link to several German words and vice versa (*in the* – *im*, *does … see* – *sieht*,
  *not a* – *keinen*); every word is aligned, final punctuation to final punctuation, and a
  German comma with no English counterpart stays unaligned;
- phenomena: comma-separated tags, sorted:

{tags}

No English sentence occurs twice in the corpus. train, valid and test have 4–20 English
tokens; every test-long source is longer than every train source (two or three clauses, more
PPs and subordinate clauses).

## Statistics

{overview}

Length histogram, pairs per bucket of English (en) and German (de) tokens:

{histogram}

Share of pairs showing each phenomenon:

{shares}

Lexicon (English lemmas): {lexicon};
{sizes["total"]} in all.

## Examples (from test)

```
{example_list}
```
"""
