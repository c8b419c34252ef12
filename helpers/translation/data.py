"""Parallel corpora for translation, used in `05_training_translation` and
`06_inspecting_attention`.

Every loader returns a list of ``Example(src, tgt, alignment, phenomena)``, and
``load_dataset(name, split)`` is the one entry point the notebooks use:

- ``"toy-en-de"``: the English→German corpus bundled in ``data/toy-en-de/``, with gold word
  alignments and tags for the linguistic phenomena each pair shows;
- ``"multi30k"``: Multi30k task 1 (German–English image descriptions), downloaded once into
  ``cache_dir()`` and verified against the checksums below;
- a path to your own tab-separated file of sentence pairs (see ``load_parallel_tsv``), or to
  a directory holding one such file per split (``train.tsv``, ``valid.tsv.gz``, ...).
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from helpers.translation.download import download
from helpers.translation.tokenization import tokenize

__all__ = [
    "DATASETS",
    "MULTI30K_LINES",
    "MULTI30K_SHA256",
    "MULTI30K_URL",
    "TOY_EN_DE_DIR",
    "Example",
    "cache_dir",
    "load_dataset",
    "load_multi30k",
    "load_parallel_tsv",
    "load_toy_en_de",
]

DATASETS = ("multi30k", "toy-en-de")

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
# sha256 of the published .gz files (data/task1/raw/ of github.com/multi30k/dataset).
MULTI30K_SHA256 = {
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
}
MULTI30K_LINES = {"train": 29000, "valid": 1014, "test": 1000}
_MULTI30K_STEMS = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
_MULTI30K_ALIASES = {"val": "valid", "validation": "valid", "test2016": "test"}
_MULTI30K_LANGUAGES = ("de", "en")

TOY_EN_DE_DIR = Path(__file__).resolve().parents[2] / "data" / "toy-en-de"
_TOY_SPLITS = ("train", "valid", "test", "test-long")
_TOY_ALIASES = {"val": "valid", "validation": "valid"}
_TOY_COLUMNS = ("english", "german", "alignment", "phenomena")
_LINK = re.compile(r"(\d+)-(\d+)")


@dataclass(frozen=True)
class Example:
    """One sentence pair: source and target text, optionally the gold word alignment as
    (source token, target token) index pairs over ``tokenize`` tokens, and phenomenon tags."""

    src: str
    tgt: str
    alignment: tuple[tuple[int, int], ...] | None = None
    phenomena: tuple[str, ...] = ()


def cache_dir() -> Path:
    """Where downloaded corpora live: ``$COURSE_DATA_DIR`` if set, else
    ``$XDG_CACHE_HOME/self-attention-course``, else ``~/.cache/self-attention-course``."""
    if os.environ.get("COURSE_DATA_DIR"):
        return Path(os.environ["COURSE_DATA_DIR"]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "self-attention-course"


def load_dataset(
    name: str | os.PathLike,
    split: str | None = None,
    root: str | os.PathLike | None = None,
    *,
    limit: int | None = None,
    **options,
) -> list[Example]:
    """The examples of one split of a corpus, the first ``limit`` of them if given.

    ``name`` is ``"toy-en-de"``, ``"multi30k"`` (options ``src_lang``/``tgt_lang``; German→
    English by default, ``src_lang="en", tgt_lang="de"`` reverses it) or a path: a TSV file,
    read whole (``split`` stays None; options go to ``load_parallel_tsv``), or a directory
    with one ``<split>.tsv`` or ``<split>.tsv.gz`` per split. ``root`` points a named corpus
    at a local directory instead of its default place.
    """
    if isinstance(name, str) and name.lower() in DATASETS:
        if name.lower() == "toy-en-de":
            return load_toy_en_de(split, root=root, limit=limit, **options)
        return load_multi30k(split, root=root, limit=limit, **options)
    if not isinstance(name, os.PathLike) and not _looks_like_path(name):
        choices = ", ".join(repr(choice) for choice in DATASETS)
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {choices}, or give the path to a "
            "tab-separated file of sentence pairs"
        )
    if root is not None:
        raise ValueError(f"root only applies to {' and '.join(DATASETS)}; got a path {name!r}")
    path = Path(name)
    if path.is_dir():
        return load_parallel_tsv(_split_file(path, split), limit=limit, **options)
    if split is not None:
        raise ValueError(
            f"{path} is a single file, so it has no splits; got split={split!r}. Pass "
            "split=None, or put one <split>.tsv file per split in a directory and pass that"
        )
    return load_parallel_tsv(path, limit=limit, **options)


def load_multi30k(
    split: str | None,
    *,
    root: str | os.PathLike | None = None,
    src_lang: str = "de",
    tgt_lang: str = "en",
    base_url: str = MULTI30K_URL,
    limit: int | None = None,
) -> list[Example]:
    """Multi30k task 1 (raw text): train 29000, valid 1014, test (2016 Flickr) 1000 pairs.

    With ``root``, reads ``<file>.gz`` (or the decompressed ``<file>``) from that directory
    and downloads nothing; without it, downloads the missing files from ``base_url`` into
    ``cache_dir() / "multi30k"``, verifying their sha256. Lines are kept as published, only
    the newline removed.
    """
    split = _canonical_split("multi30k", split, tuple(MULTI30K_LINES), _MULTI30K_ALIASES)
    if {src_lang, tgt_lang} != set(_MULTI30K_LANGUAGES):
        raise ValueError(
            f"Multi30k pairs German and English: src_lang and tgt_lang must be 'de' and 'en' in "
            f"either order; got src_lang={src_lang!r}, tgt_lang={tgt_lang!r}"
        )
    _check_limit(limit)
    expected = MULTI30K_LINES[split]
    sides = {}
    for lang in _MULTI30K_LANGUAGES:
        name = f"{_MULTI30K_STEMS[split]}.{lang}.gz"
        path = (
            _local_multi30k_file(Path(root), name, base_url)
            if root is not None
            else download(
                f"{base_url.rstrip('/')}/{name}",
                cache_dir() / "multi30k" / name,
                sha256=MULTI30K_SHA256[name],
            )
        )
        sides[lang] = _read_lines(path)
        if len(sides[lang]) != expected:
            raise ValueError(
                f"{path} has {len(sides[lang])} lines; Multi30k {split} has {expected}. The "
                "file is incomplete or not the published one: replace it with the published file"
            )
    pairs = zip(sides[src_lang], sides[tgt_lang], strict=True)
    return [Example(src, tgt) for src, tgt in pairs][:limit]


def load_toy_en_de(
    split: str | None, *, root: str | os.PathLike | None = None, limit: int | None = None
) -> list[Example]:
    """The bundled English→German corpus: splits train, valid, test and test-long.

    Each line of ``<split>.tsv.gz`` is ``english<TAB>german<TAB>alignment<TAB>phenomena``,
    the alignment in Pharaoh form (``0-0 1-2``: source token - target token, over
    ``tokenize`` tokens) and the phenomena comma-separated (possibly none). ``root`` defaults
    to ``data/toy-en-de`` in the repository.
    """
    split = _canonical_split("toy-en-de", split, _TOY_SPLITS, _TOY_ALIASES)
    _check_limit(limit)
    path = Path(TOY_EN_DE_DIR if root is None else root) / f"{split}.tsv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"toy-en-de {split} split not found: expected {path} (it ships with the "
            "repository; data/toy-en-de/README.md says how to rebuild it)"
        )
    examples = []
    for number, line in _numbered_lines(path):
        if len(examples) == limit:
            break
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(_TOY_COLUMNS):
            raise ValueError(
                f"{path}, line {number}: expected {len(_TOY_COLUMNS)} tab-separated columns "
                f"({', '.join(_TOY_COLUMNS)}); got {len(fields)}"
            )
        src, tgt, links, phenomena = fields
        examples.append(
            Example(
                src=src,
                tgt=tgt,
                alignment=_parse_alignment(links, src, tgt, f"{path}, line {number}"),
                phenomena=tuple(tag.strip() for tag in phenomena.split(",") if tag.strip()),
            )
        )
    return examples


def load_parallel_tsv(
    path: str | os.PathLike,
    *,
    src_column: int = 0,
    tgt_column: int = 1,
    skip_malformed: bool = False,
    limit: int | None = None,
) -> list[Example]:
    """Sentence pairs from a UTF-8 tab-separated file (``.gz`` too), one pair per line.

    Columns other than ``src_column`` and ``tgt_column`` are ignored, so exports such as
    Tatoeba's or anki's with attribution columns load as they are. Blank lines are skipped;
    surrounding whitespace is stripped from each side. A malformed line (too few columns, an
    empty side, bytes that are not UTF-8) raises ``ValueError`` with its line number, or with
    ``skip_malformed=True`` is skipped and counted in one warning.
    """
    _check_index("src_column", src_column)
    _check_index("tgt_column", tgt_column)
    if src_column == tgt_column:
        raise ValueError(f"src_column and tgt_column must differ; both are {src_column}")
    _check_limit(limit)
    path = Path(path)
    examples = []
    skipped = []
    for number, line in _numbered_lines(path, strict=False):
        if len(examples) == limit:
            break
        try:
            example = _parse_pair(line, src_column, tgt_column)
        except _MalformedLine as problem:
            if not skip_malformed:
                raise ValueError(
                    f"{path}, line {number}: {problem}. Fix the line, or pass skip_malformed=True"
                ) from None
            skipped.append((number, str(problem)))
            continue
        if example is not None:
            examples.append(example)
    if skipped:
        first, problem = skipped[0]
        warnings.warn(
            f"{path}: skipped {len(skipped)} malformed line{'s' if len(skipped) > 1 else ''} "
            f"(first at line {first}: {problem})",
            stacklevel=2,
        )
    return examples


class _MalformedLine(ValueError):
    """A line of a TSV file that holds no sentence pair; the message says why."""


def _parse_pair(line: str | None, src_column: int, tgt_column: int) -> Example | None:
    """The sentence pair on one TSV line, None for a blank line; raises ``_MalformedLine`` for a
    line that is not UTF-8 (None), has too few columns or an empty side."""
    if line is None:
        raise _MalformedLine("not valid UTF-8")
    if not line.strip():
        return None
    fields = line.split("\t")
    needed = max(src_column, tgt_column) + 1
    if len(fields) < needed:
        raise _MalformedLine(f"expected at least {needed} tab-separated columns, got {len(fields)}")
    src, tgt = fields[src_column].strip(), fields[tgt_column].strip()
    if not src or not tgt:
        side, column = ("source", src_column) if not src else ("target", tgt_column)
        raise _MalformedLine(f"empty {side} (column {column})")
    return Example(src, tgt)


def _canonical_split(
    dataset: str, split: str | None, splits: tuple[str, ...], aliases: dict[str, str]
) -> str:
    """``split`` with its aliases resolved, or a ValueError listing the splits there are."""
    canonical = aliases.get(split, split) if isinstance(split, str) else None
    if canonical not in splits:
        names = []
        for name in splits:
            others = [alias for alias, target in aliases.items() if target == name]
            names.append(repr(name) + (f" (or {', '.join(map(repr, others))})" if others else ""))
        raise ValueError(f"{dataset} has splits {', '.join(names)}; got split={split!r}")
    return canonical


def _check_index(name: str, value: object) -> None:
    """A ValueError naming ``name`` unless ``value`` is an integer >= 0 (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")


def _check_limit(limit: int | None) -> None:
    if limit is not None:
        _check_index("limit", limit)


def _looks_like_path(name: object) -> bool:
    """A str that names a file or directory rather than a corpus."""
    return isinstance(name, str) and (
        os.sep in name
        or "/" in name
        or name.endswith((".tsv", ".gz", ".txt"))
        or Path(name).exists()
    )


def _split_file(directory: Path, split: str | None) -> Path:
    """``directory/<split>.tsv`` or ``.tsv.gz``, or a ValueError listing the splits there."""
    for suffix in (".tsv", ".tsv.gz"):
        if split is not None and (directory / f"{split}{suffix}").is_file():
            return directory / f"{split}{suffix}"
    found = sorted({p.name.split(".")[0] for p in directory.glob("*.tsv*")})
    raise ValueError(
        f"{directory} has splits {', '.join(map(repr, found)) or '(none: no *.tsv files)'}; "
        f"got split={split!r}"
    )


def _local_multi30k_file(root: Path, name: str, base_url: str) -> Path:
    """``root/name`` or its decompressed twin, or a FileNotFoundError saying how to get it."""
    for path in (root / name, root / name.removesuffix(".gz")):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"Multi30k file not found: expected {root / name} (or the decompressed "
        f"{root / name.removesuffix('.gz')}). Download it from {base_url.rstrip('/')}/{name}, "
        "or pass root=None to let the course download it"
    )


def _open_bytes(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (``.gz`` too), each without its newline."""
    try:
        with _open_bytes(path) as f:
            text = f.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error})") from error
    except (EOFError, gzip.BadGzipFile) as error:
        raise ValueError(f"{path} is not a complete gzip file ({error})") from error
    return text.removesuffix("\n").split("\n") if text else []


def _numbered_lines(path: Path, strict: bool = True) -> Iterator[tuple[int, str | None]]:
    """(line number from 1, line without its newline) for each line of a UTF-8 file (``.gz``
    too); a line that is not UTF-8 raises, or with ``strict=False`` comes as None."""
    with _open_bytes(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                if strict:
                    raise ValueError(f"{path}, line {number}: not valid UTF-8 ({error})") from error
                line = None
            yield number, None if line is None else line.rstrip("\r\n")


def _parse_alignment(links: str, src: str, tgt: str, where: str) -> tuple[tuple[int, int], ...]:
    """Pharaoh links ``"0-0 1-2"`` as ((0, 0), (1, 2)), checked against the token counts."""
    n_src, n_tgt = len(tokenize(src)), len(tokenize(tgt))
    pairs = []
    for link in links.split():
        match = _LINK.fullmatch(link)
        if match is None:
            raise ValueError(f"{where}: alignment link {link!r} is not of the form i-j")
        i, j = int(match[1]), int(match[2])
        if i >= n_src or j >= n_tgt:
            raise ValueError(
                f"{where}: alignment link {link!r} is out of range: the source has {n_src} "
                f"tokens (0..{n_src - 1}) and the target {n_tgt} (0..{n_tgt - 1})"
            )
        pairs.append((i, j))
    return tuple(pairs)
