"""Text to tokens and back; used by the translation data (`05_training_translation`).

``tokenize`` is the word tokenizer of the bundled corpus and of its gold alignments: words are
runs of letters/digits (with inner hyphens or apostrophes), and every punctuation mark is its
own token. ``detokenize`` undoes it for display and for BLEU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["detokenize", "tokenize"]

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
