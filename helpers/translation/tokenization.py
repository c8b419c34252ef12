"""Text to tokens and back, used in `05_training_translation`.

``tokenize`` is the word tokenizer of the bundled corpus and of its gold alignments: words are
runs of letters/digits (with inner hyphens or apostrophes), and every punctuation mark is its
own token. ``detokenize`` undoes it for display and for BLEU.

A model sees ids, not words. Two tokenizers turn text into ids of a vocabulary of size V and
back, with one interface (``Tokenizer``): ``WordVocab`` gives every word an id and maps the
rest to ``<unk>``; ``SubwordTokenizer`` (sentencepiece BPE) splits rare words into pieces, so
any word made of known characters gets ids. Both reserve the same ids for the special tokens:
``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import sentencepiece

from helpers._utils import check_positive_int

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "SPECIAL_TOKENS",
    "UNK",
    "SubwordTokenizer",
    "Tokenizer",
    "WordVocab",
    "detokenize",
    "tokenize",
    "tokenizer_from_state",
]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)  # their ids are their positions: 0, 1, 2, 3

_TOKEN = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")


def tokenize(text: str) -> list[str]:
    """'Der Mann, der schläft.' -> ['Der', 'Mann', ',', 'der', 'schläft', '.']."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    return _TOKEN.findall(text)


def detokenize(tokens: Sequence[str]) -> str:
    """['Der', 'Mann', ',', 'der', 'schläft', '.'] -> 'Der Mann, der schläft.'."""
    text = " ".join(tokens)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


@runtime_checkable
class Tokenizer(Protocol):
    """What the translation code needs from a tokenizer; each side of a pair has its own.

    Ids 0-3 are the special tokens ``PAD``, ``BOS``, ``EOS`` and ``UNK``; ``encode`` adds no
    ``BOS``/``EOS`` (the caller does), ``decode`` skips ``PAD``/``BOS`` and stops at the first
    ``EOS``. ``len(tokenizer)`` is the vocabulary size V. ``to_state`` returns plain Python
    data that ``tokenizer_from_state`` rebuilds, also after ``torch.save`` and
    ``torch.load(..., weights_only=True)``.
    """

    pad_id: int
    bos_id: int
    eos_id: int
    unk_id: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def tokens(self, text: str) -> list[str]: ...

    def id_to_token(self, i: int) -> str: ...

    def __len__(self) -> int: ...

    def to_state(self) -> dict: ...


class _SpecialIds:
    """The fixed ids of the special tokens, and the id clean-up that ``decode`` shares."""

    pad_id, bos_id, eos_id, unk_id = range(len(SPECIAL_TOKENS))

    def _content_ids(self, ids: Iterable[int]) -> list[int]:
        """The ids ``decode`` shows: PAD and BOS skipped, everything from the first EOS cut."""
        if getattr(ids, "ndim", 1) != 1:
            raise ValueError(f"decode expects a 1-D sequence of ids; got shape {tuple(ids.shape)}")
        content = []
        for i in map(int, ids):
            if not 0 <= i < len(self):
                raise ValueError(f"token id must lie in [0, V={len(self)}); got {i}")
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                content.append(i)
        return content


class WordVocab(_SpecialIds):
    """Word-level vocabulary over ``tokenize``: one id per word or punctuation mark.

    Case-sensitive. Words not in the vocabulary encode to ``unk_id`` and decode as ``<unk>``;
    ``unknown_words`` lists them. ``WordVocab(tokens)`` takes the whole vocabulary in id order,
    the special tokens first; ``WordVocab.build`` makes it from texts.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(
                f"a WordVocab's first tokens must be {list(SPECIAL_TOKENS)}; "
                f"got {tokens[: len(SPECIAL_TOKENS)]}"
            )
        self._tokens = tokens
        self._ids = {token: i for i, token in enumerate(tokens)}
        if len(self._ids) != len(tokens):
            repeated = sorted(t for t, n in Counter(tokens).items() if n > 1)
            raise ValueError(f"a WordVocab's tokens must be distinct; repeated: {repeated}")

    @classmethod
    def build(
        cls, texts: Iterable[str], *, min_freq: int = 1, max_size: int | None = None
    ) -> WordVocab:
        """Vocabulary of the words in ``texts`` seen at least ``min_freq`` times.

        Order, and so the ids: most frequent first, ties in string order, which makes the
        result independent of the order of ``texts``. ``max_size`` caps V = ``len(vocab)``,
        the four special tokens included.
        """
        check_positive_int("min_freq", min_freq)
        if max_size is not None and (
            not isinstance(max_size, int) or max_size < len(SPECIAL_TOKENS)
        ):
            raise ValueError(
                f"max_size must be None or an integer >= {len(SPECIAL_TOKENS)} "
                f"(the special tokens); got {max_size!r}"
            )
        counts = Counter(word for text in texts for word in tokenize(text))
        if not counts:
            raise ValueError("WordVocab.build needs texts that contain words; got none")
        words = sorted(
            (w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            words = words[: max_size - len(SPECIAL_TOKENS)]
        return cls([*SPECIAL_TOKENS, *words])

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"WordVocab(V={len(self)})"

    def encode(self, text: str) -> list[int]:
        """'Ein Hund.' -> [id('Ein'), id('Hund'), id('.')], no BOS/EOS; unknown words -> unk_id."""
        return [self._ids.get(word, self.unk_id) for word in tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> detokenized text; skips PAD/BOS, stops at the first EOS."""
        return detokenize([self._tokens[i] for i in self._content_ids(ids)])

    def tokens(self, text: str) -> list[str]:
        """The tokens ``encode`` produces, ``<unk>`` for unknown words: labels for plots."""
        return [self._tokens[i] for i in self.encode(text)]

    def id_to_token(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise ValueError(f"token id must lie in [0, V={len(self)}); got {i}")
        return self._tokens[i]

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` that encode to ``unk_id``, each once, in order of appearance."""
        return list(dict.fromkeys(w for w in tokenize(text) if w not in self._ids))

    def to_state(self) -> dict:
        return {"kind": "word", "tokens": list(self._tokens)}


class SubwordTokenizer(_SpecialIds):
    """Subword tokenizer (BPE by default) backed by a sentencepiece model held in memory.

    Text is NFKC-normalised (sentencepiece's ``nmt_nfkc``) and split into pieces; a piece
    that starts a word carries ``▁``. Training uses every character of the training texts
    (``character_coverage=1.0``), so any word made of seen characters encodes without
    ``unk_id``. A character never seen in training encodes to ``unk_id``, and ``decode``
    shows it as `` ⁇ ``.
    """

    def __init__(self, model_proto: bytes) -> None:
        if not isinstance(model_proto, bytes):
            raise TypeError(
                f"model_proto must be the serialized sentencepiece model as bytes; "
                f"got {type(model_proto).__name__}"
            )
        self._model_proto = model_proto
        self._sp = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        ids = tuple(self._sp.piece_to_id(token) for token in SPECIAL_TOKENS)
        if ids != (self.pad_id, self.bos_id, self.eos_id, self.unk_id):
            raise ValueError(
                f"the model must give {list(SPECIAL_TOKENS)} the ids [0, 1, 2, 3]; got {list(ids)}"
            )

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        *,
        vocab_size: int = 8000,
        model_type: str = "bpe",
        character_coverage: float = 1.0,
        seed: int = 0,
    ) -> SubwordTokenizer:
        """Train on ``texts`` (the training split only), in memory and quietly.

        ``vocab_size`` is V, the four special tokens included; a size the texts cannot fill,
        or one too small for their characters, is a ValueError that says which sizes work.
        ``seed`` seeds sentencepiece's (process-wide) random generator before training; the
        same texts and seed give the same model bytes.
        """
        texts = [text for text in texts if text.strip()]
        if not texts:
            raise ValueError("SubwordTokenizer.train needs non-empty training texts; got none")
        if model_type not in ("bpe", "unigram"):
            raise ValueError(f"model_type must be 'bpe' or 'unigram'; got {model_type!r}")
        if not 0 < character_coverage <= 1:
            raise ValueError(f"character_coverage must lie in (0, 1]; got {character_coverage}")
        model = io.BytesIO()
        sentencepiece.set_random_generator_seed(seed)
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=model,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                pad_id=0,
                bos_id=1,
                eos_id=2,
                unk_id=3,
                pad_piece=PAD,
                bos_piece=BOS,
                eos_piece=EOS,
                unk_piece=UNK,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise _vocab_size_error(str(error), vocab_size) from error
        return cls(model.getvalue())

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def __repr__(self) -> str:
        return f"SubwordTokenizer(V={len(self)})"

    def encode(self, text: str) -> list[int]:
        """'Ein Hund.' -> piece ids, no BOS/EOS; unseen characters -> unk_id."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        return self._sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text by sentencepiece's detokenization; skips PAD/BOS, stops at the first EOS."""
        return self._sp.decode(self._content_ids(ids))

    def tokens(self, text: str) -> list[str]:
        """The pieces ``encode`` produces, ``<unk>`` for unseen characters: labels for plots."""
        return [self._sp.id_to_piece(i) for i in self.encode(text)]

    def id_to_token(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise ValueError(f"token id must lie in [0, V={len(self)}); got {i}")
        return self._sp.id_to_piece(i)

    def to_state(self) -> dict:
        return {"kind": "subword", "model_proto": self._model_proto}


def tokenizer_from_state(state: dict) -> WordVocab | SubwordTokenizer:
    """Rebuild the tokenizer whose ``to_state()`` gave ``state``."""
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind == "word":
        return WordVocab(state["tokens"])
    if kind == "subword":
        return SubwordTokenizer(state["model_proto"])
    raise ValueError(
        "state must be a dict from to_state() with kind 'word' or 'subword'; "
        f"got {type(state).__name__} with kind {kind!r}"
    )


def _vocab_size_error(message: str, vocab_size: int) -> Exception:
    """sentencepiece's failed size check as a ValueError that says which sizes would work."""
    too_high = re.search(r"Vocabulary size too high .*<= (\d+)", message)
    if too_high:
        return ValueError(
            f"vocab_size={vocab_size} is too large for these texts: they yield at most "
            f"{too_high[1]} pieces; pass vocab_size <= {too_high[1]} or train on more text"
        )
    too_low = re.search(r"smaller than required_chars\. \d+ vs (\d+)", message)
    if too_low:
        return ValueError(
            f"vocab_size={vocab_size} is too small for these texts: their characters and the "
            f"special tokens need {too_low[1]} pieces; pass vocab_size >= {too_low[1]}"
        )
    return ValueError(f"sentencepiece could not train with vocab_size={vocab_size}: {message}")
