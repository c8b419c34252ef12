"""toy-en-de: the course's generated English→German corpus with gold word alignments.

A grammar (``grammar``) and a lexicon (``lexicon``) write both languages of a sentence at
once, so the German is a deterministic function of the English and every word knows which
words of the other side express the same thing. ``corpus`` samples sentence structures and
writes the bundled files in ``data/toy-en-de/``; rebuild them with
``python -m tools.toy_corpus --out data/toy-en-de``. This is maintenance code, not course
material: the notebooks read the files it wrote through ``helpers.translation.data``, and the
tag list it writes lives in ``helpers.translation.phenomena``.

>>> from tools.toy_corpus import Clause, NounPhrase, PrepositionalPhrase, Sentence, realise
>>> pair = realise(Sentence((Clause(NounPhrase("man"), "see", NounPhrase("dog"),
...     prepositional_phrases=(PrepositionalPhrase("in", NounPhrase("park")),),
...     tense="perfect"),)))
>>> pair.tgt
'Der Mann hat den Hund im Park gesehen.'
"""

from tools.toy_corpus.corpus import (
    DEFAULT_SEED,
    SPLITS,
    corpus_statistics,
    generate_corpus,
    read_split,
    render_readme,
    sample_sentence,
    write_corpus,
)
from tools.toy_corpus.grammar import (
    PHENOMENA,
    TENSES,
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

__all__ = [
    "DEFAULT_SEED",
    "PHENOMENA",
    "SPLITS",
    "TENSES",
    "Adverbial",
    "Clause",
    "Coordination",
    "NounPhrase",
    "Pair",
    "PrepositionalPhrase",
    "Pronoun",
    "Sentence",
    "corpus_statistics",
    "generate_corpus",
    "read_split",
    "realise",
    "render_readme",
    "sample_sentence",
    "write_corpus",
]
