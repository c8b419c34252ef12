"""Sentence structures and their realisation as an English→German pair with gold alignment.

A ``Sentence`` is built from ``Clause``s, ``NounPhrase``s, ``Pronoun``s and
``PrepositionalPhrase``s; ``realise`` writes both languages from it in one pass. Every word it
writes carries *keys* naming the parts of the structure it expresses: "the" and "Park" in
*in the park* get the keys of the determiner and the noun, "im" gets the keys of both the
preposition and the determiner. A source and a target token are aligned when they share a key,
so the alignment is built with the sentence rather than guessed afterwards.

German word order follows three patterns:

- main clause, verb second: ``Der Mann hat den Hund im Park gesehen.``
- verb first, in questions and after a fronted subordinate clause: ``Hat der Mann ...?``
- verb last, in subordinate clauses: ``..., weil der Mann den Hund gesehen hat.``

Inside a clause German puts pronoun objects first, then the dative and the accusative object,
then *nicht*, then PPs of company (*mit, ohne, für*), location and direction, and finally the
participle or infinitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from helpers.translation.phenomena import PHENOMENA
from helpers.translation.tokenization import detokenize
from tools.toy_corpus.lexicon import (
    ADJECTIVES,
    CONJUNCTIONS,
    DETERMINERS,
    NOUNS,
    NUMERALS,
    PREPOSITIONS,
    PRONOUNS,
    SUBORDINATORS,
    VERBS,
    Noun,
    Verb,
)

__all__ = [
    "PHENOMENA",
    "TENSES",
    "Adverbial",
    "Clause",
    "Coordination",
    "NounPhrase",
    "Pair",
    "PrepositionalPhrase",
    "Pronoun",
    "Sentence",
    "realise",
]

TENSES = ("present", "perfect", "will", "can")


_DEFINITE = {
    "nom": {"m": "der", "f": "die", "n": "das", "pl": "die"},
    "acc": {"m": "den", "f": "die", "n": "das", "pl": "die"},
    "dat": {"m": "dem", "f": "der", "n": "dem", "pl": "den"},
}
_EIN_ENDING = {
    "nom": {"m": "", "f": "e", "n": "", "pl": "e"},
    "acc": {"m": "en", "f": "e", "n": "", "pl": "e"},
    "dat": {"m": "em", "f": "er", "n": "em", "pl": "en"},
}
_WEAK_ENDING = {
    "nom": {"m": "e", "f": "e", "n": "e", "pl": "en"},
    "acc": {"m": "en", "f": "e", "n": "e", "pl": "en"},
    "dat": {"m": "en", "f": "en", "n": "en", "pl": "en"},
}
_MIXED_ENDING = {
    "nom": {"m": "er", "f": "e", "n": "es", "pl": "en"},
    "acc": {"m": "en", "f": "e", "n": "es", "pl": "en"},
    "dat": {"m": "en", "f": "en", "n": "en", "pl": "en"},
}
_STRONG_PLURAL_ENDING = {"nom": "e", "acc": "e", "dat": "en"}
_CONTRACTIONS = {
    ("in", "dem"): "im",
    ("an", "dem"): "am",
    ("in", "das"): "ins",
    ("zu", "dem"): "zum",
    ("zu", "der"): "zur",
    ("bei", "dem"): "beim",
    ("von", "dem"): "vom",
}
_PP_ORDER = {"company": 0, "location": 1, "direction": 2}
_AUXILIARY = {
    "haben": {"1sg": "habe", "3sg": "hat", "pl": "haben"},
    "sein": {"1sg": "bin", "3sg": "ist", "pl": "sind"},
    "will": {"1sg": "werde", "3sg": "wird", "pl": "werden"},
    "can": {"1sg": "kann", "3sg": "kann", "pl": "können"},
}


@dataclass(frozen=True)
class Pair:
    """One line of the corpus: English source, German target, alignment and phenomena.

    ``alignment`` holds sorted (source index, target index) links over the
    ``helpers.translation.tokenization.tokenize`` tokens of ``src`` and ``tgt``.
    """

    src: str
    tgt: str
    alignment: tuple[tuple[int, int], ...]
    phenomena: tuple[str, ...]

    def to_line(self) -> str:
        """``english<TAB>german<TAB>0-0 1-1 ...<TAB>tag,tag`` (no line end)."""
        links = " ".join(f"{i}-{j}" for i, j in self.alignment)
        return "\t".join((self.src, self.tgt, links, ",".join(self.phenomena)))

    @classmethod
    def from_line(cls, line: str) -> Pair:
        """Parse a line written by ``to_line`` (a trailing newline is ignored)."""
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 4:
            raise ValueError(
                f"a corpus line has 4 tab-separated fields; got {len(fields)} in {line!r}"
            )
        src, tgt, links, tags = fields
        alignment = tuple((int(i), int(j)) for i, j in (link.split("-") for link in links.split()))
        return cls(src, tgt, alignment, tuple(tags.split(",")) if tags else ())


@dataclass(frozen=True)
class NounPhrase:
    """Determiner + optional adjective + noun, e.g. ``NounPhrase("dog", "a", adjective="big")``.

    ``determiner`` is "the", "a", "no", a possessive ("my", "his", "our", "their"), a numeral
    ("two" ... "ten", plural only) or "" (a bare plural: *dogs*).
    """

    noun: str
    determiner: str = "the"
    plural: bool = False
    adjective: str | None = None

    def __post_init__(self) -> None:
        if self.noun not in NOUNS:
            raise ValueError(f"noun must be an English lemma of the lexicon; got {self.noun!r}")
        if self.adjective is not None and self.adjective not in ADJECTIVES:
            raise ValueError(
                f"adjective must be an English lemma of the lexicon; got {self.adjective!r}"
            )
        known = {"the", "", *DETERMINERS, *NUMERALS}
        if self.determiner not in known:
            raise ValueError(f"determiner must be one of {sorted(known)}; got {self.determiner!r}")
        if self.plural and self.determiner == "a":
            raise ValueError("determiner 'a' needs a singular noun; got plural=True")
        if not self.plural and (self.determiner == "" or self.determiner in NUMERALS):
            kind = "a numeral" if self.determiner else "no determiner"
            raise ValueError(f"{kind} needs plural=True; got a singular {self.noun!r}")


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun, named by its English subject form: "I", "he", "she", "it", "we", "they"."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PRONOUNS:
            raise ValueError(f"pronoun must be one of {list(PRONOUNS)}; got {self.name!r}")


@dataclass(frozen=True)
class Coordination:
    """Noun phrases joined by "and" (und); plural for agreement."""

    conjuncts: tuple[NounPhrase, ...]

    def __post_init__(self) -> None:
        if len(self.conjuncts) < 2:
            raise ValueError(
                f"a coordination needs at least 2 conjuncts; got {len(self.conjuncts)}"
            )


Argument = NounPhrase | Pronoun | Coordination


@dataclass(frozen=True)
class PrepositionalPhrase:
    """An English preposition of the lexicon ("in", "into", "next to" ...) and its object."""

    preposition: str
    object: NounPhrase | Pronoun

    def __post_init__(self) -> None:
        if self.preposition not in PREPOSITIONS:
            raise ValueError(
                f"preposition must be one of {list(PREPOSITIONS)}; got {self.preposition!r}"
            )


@dataclass(frozen=True)
class Clause:
    """Subject, verb and its arguments, tense and negation; optionally a subordinate clause.

    The verb's frame follows from the arguments: ``complement`` (a *that*-clause), an
    ``indirect_object`` (ditransitive: dative recipient, accusative ``object``), an ``object``
    (transitive; its case comes from the verb) or nothing (intransitive). ``tense`` is one of
    ``TENSES``: "present", "perfect" (has seen), "will" or "can" (+ infinitive).
    """

    subject: Argument
    verb: str
    object: Argument | None = None
    indirect_object: Argument | None = None
    prepositional_phrases: tuple[PrepositionalPhrase, ...] = ()
    tense: str = "present"
    negated: bool = False
    complement: Clause | None = None
    adverbial: Adverbial | None = None

    @property
    def frame(self) -> str:
        if self.complement is not None:
            return "that"
        if self.indirect_object is not None:
            return "ditransitive"
        return "transitive" if self.object is not None else "intransitive"

    @property
    def lexeme(self) -> Verb:
        """The lexicon entry of ``verb`` in this clause's frame."""
        return VERBS[(self.verb, self.frame)]

    def __post_init__(self) -> None:
        if self.tense not in TENSES:
            raise ValueError(f"tense must be one of {TENSES}; got {self.tense!r}")
        if self.indirect_object is not None and self.object is None:
            raise ValueError("a ditransitive clause needs an object as well as an indirect object")
        if self.complement is not None and self.object is not None:
            raise ValueError("a clause takes an object or a that-clause complement, not both")
        if (self.verb, self.frame) not in VERBS:
            frames = [frame for english, frame in VERBS if english == self.verb]
            raise ValueError(
                f"the lexicon has no verb {self.verb!r} in the {self.frame} frame; "
                f"its frames: {frames or 'none (unknown verb)'}"
            )


@dataclass(frozen=True)
class Adverbial:
    """A subordinate clause introduced by "because" (weil) or "if" (wenn).

    ``fronted`` puts it before its main clause, whose verb then comes first:
    *Wenn der Hund bellt, schläft der Mann.*
    """

    conjunction: str
    clause: Clause
    fronted: bool = False

    def __post_init__(self) -> None:
        if self.conjunction not in ("because", "if"):
            raise ValueError(f"conjunction must be 'because' or 'if'; got {self.conjunction!r}")


@dataclass(frozen=True)
class Sentence:
    """Main clauses joined by ``conjunctions`` ("and", "but"); or one clause as a question."""

    clauses: tuple[Clause, ...]
    conjunctions: tuple[str, ...] = ()
    question: bool = False

    def __post_init__(self) -> None:
        if len(self.conjunctions) != len(self.clauses) - 1:
            raise ValueError(
                f"{len(self.clauses)} clauses need {len(self.clauses) - 1} conjunctions; "
                f"got {len(self.conjunctions)}"
            )
        if any(c not in CONJUNCTIONS for c in self.conjunctions):
            raise ValueError(
                f"conjunctions must be in {list(CONJUNCTIONS)}; got {self.conjunctions}"
            )
        if self.question and (
            len(self.clauses) != 1 or self.clauses[0].negated or self.clauses[0].adverbial
        ):
            raise ValueError(
                "a question is one clause without negation or adverbial clause; got "
                f"{len(self.clauses)} clause(s)"
            )


Words = list[tuple[str, tuple[int, ...]]]  # a word and the keys of what it expresses


class _VerbKeys(NamedTuple):
    """Alignment keys of a clause's verb group: the main verb, the auxiliary (the verb's own
    key in the present tense), and the negation (None if the clause is not negated)."""

    verb: tuple[int, ...]
    auxiliary: tuple[int, ...]
    negation: int | None


class _Realiser:
    """Writes one sentence in both languages, handing out alignment keys and collecting tags."""

    def __init__(self) -> None:
        self.keys = 0
        self.tags: set[str] = set()

    def key(self) -> int:
        self.keys += 1
        return self.keys

    # noun phrases -------------------------------------------------------------------------

    def argument(
        self, argument: Argument, case: str, kein_key: int | None = None
    ) -> tuple[Words, Words]:
        """English and German words of an argument in ``case`` ("nom", "acc", "dat")."""
        if isinstance(argument, Pronoun):
            pronoun = PRONOUNS[argument.name]
            self.tags.add("pronoun")
            key = (self.key(),)
            english = pronoun.english if case == "nom" else pronoun.english_object
            german = {"nom": pronoun.nominative, "acc": pronoun.accusative, "dat": pronoun.dative}
            return [(english, key)], [(german[case], key)]
        if isinstance(argument, Coordination):
            self.tags.add("coordination")
            english, german = self.argument(argument.conjuncts[0], case)
            for conjunct in argument.conjuncts[1:]:
                key = (self.key(),)
                more_english, more_german = self.argument(conjunct, case)
                english += [("and", key), *more_english]
                german += [("und", key), *more_german]
            return english, german
        return self.noun_phrase(argument, case, kein_key)

    def noun_phrase(
        self, np: NounPhrase, case: str, kein_key: int | None = None
    ) -> tuple[Words, Words]:
        """Determiner, adjective and noun in ``case``; ``kein_key`` turns "a" or a bare plural
        into *kein* (the key it shares with the *not* it replaces)."""
        noun = NOUNS[np.noun]
        slot = "pl" if np.plural else noun.gender
        if np.plural:
            self.tags.add("plural")
        if kein_key is not None:
            english, german = self.kein(np, case, slot, kein_key)
            declension = _MIXED_ENDING
        else:
            english, german, declension = self.determiner(np, case, slot)
        if np.adjective is not None:
            ending = _STRONG_PLURAL_ENDING[case] if declension is None else declension[case][slot]
            english_adjective, german_adjective = self.adjective(np.adjective, ending)
            english += english_adjective
            german += german_adjective
        key = (self.key(),)
        english.append((noun.english_plural if np.plural else noun.english, key))
        german.append((_german_noun(noun, case, np.plural), key))
        return english, german

    def determiner(
        self, np: NounPhrase, case: str, slot: str
    ) -> tuple[Words, Words, dict[str, dict[str, str]] | None]:
        """The determiner in both languages and the adjective endings it calls for: weak after
        *der*, mixed after *ein*-words, None (strong) after a numeral or no determiner."""
        determiner = np.determiner
        if determiner == "the":
            key = (self.key(),)
            return [("the", key)], [(_DEFINITE[case][slot], key)], _WEAK_ENDING
        if determiner in DETERMINERS:
            if determiner == "no":
                self.tags.add("negation_kein")
            key = (self.key(),)
            english = _a_or_an(np) if determiner == "a" else determiner
            german = DETERMINERS[determiner] + _EIN_ENDING[case][slot]
            return [(english, key)], [(german, key)], _MIXED_ENDING
        if not determiner:  # a bare plural
            return [], [], None
        self.tags.add("numeral")
        key = (self.key(),)
        return [(determiner, key)], [(NUMERALS[determiner], key)], None

    def kein(self, np: NounPhrase, case: str, slot: str, kein_key: int) -> tuple[Words, Words]:
        """*kein* for the "a" or bare plural of a negated clause's object: *not a dog* - *keinen
        Hund*, *not apples* - *keine Äpfel*."""
        if np.determiner not in ("a", ""):
            raise ValueError(f"kein replaces 'a' or a bare plural; got {np.determiner!r}")
        german = "kein" + _EIN_ENDING[case][slot]
        if np.determiner == "":
            return [], [(german, (kein_key,))]
        key = self.key()
        return [(_a_or_an(np), (key,))], [(german, (kein_key, key))]

    def adjective(self, name: str, ending: str) -> tuple[Words, Words]:
        """An attributive adjective with its German ``ending`` (a stem in -e drops the ending's e)."""
        self.tags.add("adjective")
        adjective = ADJECTIVES[name]
        stem = adjective.german
        key = (self.key(),)
        german = stem + (ending[1:] if stem.endswith("e") else ending)
        return [(adjective.english, key)], [(german, key)]

    def prepositional_phrase(self, pp: PrepositionalPhrase, verb: Verb) -> tuple[Words, Words]:
        preposition = PREPOSITIONS[pp.preposition]
        key = (self.key(),)
        german_preposition = preposition.german
        if pp.preposition == "with":
            german_preposition = verb.with_german
        self.tags.add("pp_dative" if preposition.case == "dat" else "pp_accusative")
        english_object, german_object = self.argument(pp.object, preposition.case)
        english = [(word, key) for word in pp.preposition.split()] + english_object
        article, article_keys = german_object[0]
        contraction = _CONTRACTIONS.get((german_preposition, article))
        if contraction is not None:
            self.tags.add("contraction")
            return english, [(contraction, key + article_keys), *german_object[1:]]
        return english, [(german_preposition, key), *german_object]

    # clauses ------------------------------------------------------------------------------

    def clause(self, clause: Clause, order: str) -> tuple[Words, Words]:
        """Both languages of a clause; ``order`` is "main", "question", "inverted" or "final"."""
        if clause.adverbial is not None and clause.adverbial.fronted and order != "inverted":
            raise ValueError("only a main clause of a Sentence can front its adverbial clause")
        person = _person(clause.subject)
        negation = self.key() if clause.negated else None
        kein_target = self.kein_target(clause) if clause.negated else None
        verb = (self.key(),)
        keys = _VerbKeys(verb, verb if clause.tense == "present" else (self.key(),), negation)
        english_subject, german_subject = self.argument(clause.subject, "nom")
        english_before, english_after = _english_verb_group(clause, person, order, keys)
        finite, nonfinite = self.german_verb_group(clause, person, keys)
        english_objects, german_objects = self.objects(clause, kein_target, negation)
        nicht = self.negation(clause, kein_target, negation)
        english_pps, german_pps = self.prepositional_phrases(clause)

        english = english_before + english_subject + english_after + english_objects + english_pps
        # German: verb last (final), verb second (main) or verb first (question, inverted)
        middle = german_objects + nicht + german_pps
        if order == "final":
            german = german_subject + middle + nonfinite + finite
        elif order == "main":
            german = german_subject + finite + middle + nonfinite
        else:
            german = finite + german_subject + middle + nonfinite
        english_tail, german_tail = self.subordinate_clauses(clause)
        return english + english_tail, german + german_tail

    def german_verb_group(
        self, clause: Clause, person: str, keys: _VerbKeys
    ) -> tuple[Words, Words]:
        """The German finite verb, and the participle or infinitive that goes to the end."""
        verb = clause.lexeme
        if clause.tense == "present":
            forms = {"1sg": verb.german_1sg, "3sg": verb.german_3sg, "pl": verb.german}
            return [(forms[person], keys.verb)], []
        if clause.tense == "perfect":
            self.tags.add("perfect")
            auxiliary = _AUXILIARY[verb.auxiliary][person]
            return [(auxiliary, keys.auxiliary)], [(verb.german_participle, keys.verb)]
        self.tags.add("modal")
        return [(_AUXILIARY[clause.tense][person], keys.auxiliary)], [(verb.german, keys.verb)]

    def objects(
        self, clause: Clause, kein_target: NounPhrase | None, negation: int | None
    ) -> tuple[Words, Words]:
        """The objects: in English recipient then object; in German pronouns before nouns, two
        pronouns accusative first, two nouns dative first."""
        objects = []
        if clause.indirect_object is not None:
            self.tags.add("dative_object")
            objects.append((clause.indirect_object, "dat"))
        if clause.object is not None:
            case = clause.lexeme.object_case
            if case == "dat":
                self.tags.add("dative_object")
            objects.append((clause.object, case))
        english: Words = []
        realised = []
        for argument, case in objects:
            kein = negation if argument is kein_target else None
            english_words, german_words = self.argument(argument, case, kein)
            english += english_words
            realised.append((argument, case, german_words))
        german: Words = []
        for _, _, german_words in sorted(realised, key=lambda r: _german_object_rank(r[0], r[1])):
            german += german_words
        return english, german

    def negation(
        self, clause: Clause, kein_target: NounPhrase | None, negation: int | None
    ) -> Words:
        """German *nicht* after the objects, or nothing where the negation became *kein*."""
        if not clause.negated:
            return []
        if kein_target is not None:
            self.tags.add("negation_kein")
            return []
        self.tags.add("negation_nicht")
        return [("nicht", (negation,))]

    def prepositional_phrases(self, clause: Clause) -> tuple[Words, Words]:
        """The PPs: in English as given; in German company, then location, then direction."""
        pps = [
            (pp, *self.prepositional_phrase(pp, clause.lexeme))
            for pp in clause.prepositional_phrases
        ]
        english = [word for _, english_pp, _ in pps for word in english_pp]
        by_kind = sorted(pps, key=lambda r: _PP_ORDER[PREPOSITIONS[r[0].preposition].kind])
        german = [word for _, _, german_pp in by_kind for word in german_pp]
        return english, german

    def subordinate_clauses(self, clause: Clause) -> tuple[Words, Words]:
        """What follows the clause: its *that*-clause and an adverbial clause not fronted."""
        english: Words = []
        german: Words = []
        if clause.complement is not None:
            self.tags.add("subordinate")
            key = (self.key(),)
            english_that, german_that = self.clause(clause.complement, "final")
            english += [("that", key), *english_that]
            german += [(",", ()), ("dass", key), *german_that]
        if clause.adverbial is not None and not clause.adverbial.fronted:
            english_sub, german_sub = self.adverbial(clause.adverbial)
            english += english_sub
            german += [(",", ()), *german_sub]
        return english, german

    def adverbial(self, adverbial: Adverbial) -> tuple[Words, Words]:
        self.tags.add("subordinate")
        key = (self.key(),)
        english, german = self.clause(adverbial.clause, "final")
        conjunction = adverbial.conjunction
        return [(conjunction, key), *english], [(SUBORDINATORS[conjunction], key), *german]

    @staticmethod
    def kein_target(clause: Clause) -> NounPhrase | None:
        """The object a negation turns into kein (*sieht keinen Hund*), or None for nicht."""
        if clause.indirect_object is not None and _indefinite(clause.indirect_object):
            raise ValueError(
                "a negated ditransitive clause needs a definite recipient; got "
                f"{clause.indirect_object}"
            )
        for argument in (clause.object, clause.indirect_object):
            if isinstance(argument, NounPhrase) and argument.determiner == "no":
                raise ValueError("a negated clause cannot also have 'no' (double negation)")
            if isinstance(argument, NounPhrase) and argument.determiner in NUMERALS:
                raise ValueError("a negated clause with a numeral object has no neutral nicht")
            if isinstance(argument, Coordination) and any(map(_indefinite, argument.conjuncts)):
                raise ValueError("a negated clause cannot take coordinated indefinite objects")
        return clause.object if _indefinite(clause.object) else None

    def sentence(self, sentence: Sentence) -> tuple[Words, Words]:
        english: Words = []
        german: Words = []
        for index, clause in enumerate(sentence.clauses):
            if index:
                conjunction = sentence.conjunctions[index - 1]
                key = (self.key(),)
                previous = sentence.clauses[index - 1]
                ends_in_subordinate = previous.complement is not None or (
                    previous.adverbial is not None and not previous.adverbial.fronted
                )
                if conjunction == "but" or ends_in_subordinate:
                    comma = (self.key(),)
                    english.append((",", comma))
                    german.append((",", comma))
                english.append((conjunction, key))
                german.append((CONJUNCTIONS[conjunction], key))
                self.tags.add("coordination")
            order = "question" if sentence.question else "main"
            if clause.adverbial is not None and clause.adverbial.fronted:
                if index:
                    raise ValueError("only the first clause of a sentence may front its adverbial")
                comma = (self.key(),)
                english_sub, german_sub = self.adverbial(clause.adverbial)
                english += [*english_sub, (",", comma)]
                german += [*german_sub, (",", comma)]
                order = "inverted"
            english_clause, german_clause = self.clause(clause, order)
            english += english_clause
            german += german_clause
        if sentence.question:
            self.tags.add("question")
        end = (self.key(),)
        mark = "?" if sentence.question else "."
        return [*english, (mark, end)], [*german, (mark, end)]


def _indefinite(argument: Argument | None) -> bool:
    return isinstance(argument, NounPhrase) and argument.determiner in ("a", "")


def _person(subject: Argument) -> str:
    if isinstance(subject, Pronoun):
        return PRONOUNS[subject.name].person
    if isinstance(subject, Coordination) or subject.plural:
        return "pl"
    return "3sg"


def _english_present(verb: Verb, person: str) -> str:
    return verb.english_3sg if person == "3sg" else verb.english


def _english_verb_group(
    clause: Clause, person: str, order: str, keys: _VerbKeys
) -> tuple[Words, Words]:
    """English verb words before and after the subject: *sees*; *does the man see*; *has not
    seen*; *cannot swim*. Questions put the auxiliary before the subject."""
    verb = clause.lexeme
    if clause.tense == "present" and not clause.negated and order != "question":
        return [], [(_english_present(verb, person), keys.verb)]
    if clause.tense == "present":
        auxiliary, main = {"3sg": "does"}.get(person, "do"), verb.english
    elif clause.tense == "perfect":
        auxiliary, main = {"3sg": "has"}.get(person, "have"), verb.english_participle
    else:
        auxiliary, main = clause.tense, verb.english
    if clause.negated and clause.tense == "can":
        auxiliary_words = [("cannot", (*keys.auxiliary, keys.negation))]
    elif clause.negated:
        auxiliary_words = [(auxiliary, keys.auxiliary), ("not", (keys.negation,))]
    else:
        auxiliary_words = [(auxiliary, keys.auxiliary)]
    if order == "question":
        return auxiliary_words, [(main, keys.verb)]
    return [], [*auxiliary_words, (main, keys.verb)]


def _german_object_rank(argument: Argument, case: str) -> tuple[bool, bool]:
    """Sort key of German objects: pronouns first; accusative first among pronouns, dative
    first among nouns."""
    pronoun = isinstance(argument, Pronoun)
    return not pronoun, (case == "dat") == pronoun


def _german_noun(noun: Noun, case: str, plural: bool) -> str:
    """The German noun form: plural (dative plural in -n), or singular (weak nouns take
    *-en* outside the nominative: *den Jungen*)."""
    if plural:
        return noun.german_dative_plural if case == "dat" else noun.german_plural
    return noun.german if case == "nom" else noun.german_oblique


def _a_or_an(np: NounPhrase) -> str:
    following = np.adjective if np.adjective is not None else np.noun
    return "an" if following[0] in "aeiou" else "a"


def _capitalise(words: Words) -> Words:
    (first, keys), *rest = words
    return [(first[0].upper() + first[1:], keys), *rest]


def realise(sentence: Sentence) -> Pair:
    """The English→German ``Pair`` of a sentence structure, with its alignment and phenomena."""
    realiser = _Realiser()
    english, german = realiser.sentence(sentence)
    english, german = _capitalise(english), _capitalise(german)
    source_positions: dict[int, list[int]] = {}
    for i, (_, keys) in enumerate(english):
        for key in keys:
            source_positions.setdefault(key, []).append(i)
    links = {
        (i, j)
        for j, (_, keys) in enumerate(german)
        for key in keys
        for i in source_positions.get(key, ())
    }
    return Pair(
        src=detokenize([word for word, _ in english]),
        tgt=detokenize([word for word, _ in german]),
        alignment=tuple(sorted(links)),
        phenomena=tuple(sorted(realiser.tags)),
    )
