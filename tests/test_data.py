"""helpers.translation.data: Multi30k (a local server with small fake files, and the real files when the
shared copy is there), bring-your-own TSV, the bundled toy-en-de reader, and load_dataset."""

import functools
import gzip
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import helpers.translation.data as data
from helpers.translation.data import (
    Example,
    cache_dir,
    load_dataset,
    load_multi30k,
    load_parallel_tsv,
    load_toy_en_de,
)
from helpers.translation.download import DownloadError
from helpers.translation.tokenization import tokenize

SHARED_MULTI30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"

FAKE = {
    "train": (["Ein Hund läuft.", "Zwei Kinder spielen."], ["A dog runs.", "Two kids play."]),
    "val": (["Eine Katze schläft."], ["A cat sleeps."]),
    "test_2016_flickr": (["Ein Mann liest."], ["A man reads."]),
}


@pytest.fixture
def fake_multi30k(tmp_path, monkeypatch):
    """Small Multi30k-shaped .gz files served from 127.0.0.1, with their checksums and line
    counts patched into helpers.translation.data; yields (base_url, directory served, requests made)."""
    served = tmp_path / "served"
    served.mkdir()
    for stem, (german, english) in FAKE.items():
        for lang, lines in (("de", german), ("en", english)):
            body = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
            (served / f"{stem}.{lang}.gz").write_bytes(body)
            monkeypatch.setitem(
                data.MULTI30K_SHA256, f"{stem}.{lang}.gz", hashlib.sha256(body).hexdigest()
            )
    for split, stem in (("train", "train"), ("valid", "val"), ("test", "test_2016_flickr")):
        monkeypatch.setitem(data.MULTI30K_LINES, split, len(FAKE[stem][0]))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    requests = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=served))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served, requests
    httpd.shutdown()
    httpd.server_close()


def write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


# --- cache_dir ---------------------------------------------------------------------------------


def test_cache_dir_prefers_course_data_dir_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "course"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert cache_dir() == tmp_path / "xdg" / "self-attention-course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "self-attention-course"


# --- Multi30k ----------------------------------------------------------------------------------


def test_multi30k_downloads_into_the_cache_once(fake_multi30k, tmp_path):
    base_url, _, requests = fake_multi30k
    train = load_multi30k("train", base_url=base_url)
    assert train == [
        Example("Ein Hund läuft.", "A dog runs."),
        Example("Zwei Kinder spielen.", "Two kids play."),
    ]
    cached = tmp_path / "cache" / "multi30k"
    assert sorted(p.name for p in cached.iterdir()) == ["train.de.gz", "train.en.gz"]
    assert load_multi30k("train", base_url=base_url) == train
    assert sorted(requests) == ["/train.de.gz", "/train.en.gz"]


def test_multi30k_split_aliases_reversal_and_limit(fake_multi30k):
    base_url, _, _ = fake_multi30k
    for split in ("valid", "val", "validation"):
        assert load_multi30k(split, base_url=base_url) == [
            Example("Eine Katze schläft.", "A cat sleeps.")
        ]
    assert load_dataset("multi30k", "test2016", base_url=base_url) == [
        Example("Ein Mann liest.", "A man reads.")
    ]
    reverse = load_dataset("multi30k", "train", src_lang="en", tgt_lang="de", base_url=base_url)
    assert reverse == [
        Example("A dog runs.", "Ein Hund läuft."),
        Example("Two kids play.", "Zwei Kinder spielen."),
    ]
    assert load_dataset("multi30k", "train", limit=1, base_url=base_url) == [
        Example("Ein Hund läuft.", "A dog runs.")
    ]


def test_multi30k_from_root_reads_gz_or_plain_files_without_downloading(fake_multi30k):
    _, served, requests = fake_multi30k
    expected = [Example("Eine Katze schläft.", "A cat sleeps.")]
    assert load_multi30k("valid", root=served) == expected
    gz = served / "val.en.gz"
    (served / "val.en").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert load_multi30k("valid", root=served) == expected
    (served / "val.en").unlink()
    with pytest.raises(FileNotFoundError, match=r"expected .*val\.en\.gz \(or .*val\.en\)"):
        load_multi30k("valid", root=served)
    assert requests == []


def test_multi30k_checks_line_counts(fake_multi30k, monkeypatch):
    _, served, _ = fake_multi30k
    monkeypatch.setitem(data.MULTI30K_LINES, "train", 29000)
    with pytest.raises(ValueError, match=r"train\.de\.gz has 2 lines; Multi30k train has 29000"):
        load_multi30k("train", root=served)


def test_multi30k_download_failure_is_a_download_error(fake_multi30k, monkeypatch):
    base_url, _, _ = fake_multi30k
    monkeypatch.setitem(data.MULTI30K_SHA256, "train.de.gz", "0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        load_multi30k("train", base_url=base_url)


def test_multi30k_rejects_bad_languages_and_splits():
    with pytest.raises(ValueError, match=r"'de' and 'en'.*src_lang='en', tgt_lang='en'"):
        load_multi30k("train", src_lang="en", tgt_lang="en")
    with pytest.raises(ValueError, match=r"'test' \(or 'test2016'\); got split='dev'"):
        load_multi30k("dev")


@pytest.mark.skipif(
    not SHARED_MULTI30K.is_dir(),
    reason=f"the shared copy of the real Multi30k files is not at {SHARED_MULTI30K}",
)
def test_real_multi30k_files_match_the_module_constants():
    for name, expected in data.MULTI30K_SHA256.items():
        assert hashlib.sha256((SHARED_MULTI30K / name).read_bytes()).hexdigest() == expected
    sizes = {}
    for split in ("train", "valid", "test"):
        examples = load_multi30k(split, root=SHARED_MULTI30K)
        sizes[split] = len(examples)
        assert all(e.src and e.tgt and "\n" not in e.src + e.tgt for e in examples)
    assert sizes == {"train": 29000, "valid": 1014, "test": 1000}
    first = load_multi30k("train", root=SHARED_MULTI30K, src_lang="en", tgt_lang="de", limit=1)
    assert first[0].src == "Two young, White males are outside near many bushes."


# --- bring-your-own TSV ------------------------------------------------------------------------


def test_tsv_ignores_extra_columns_blank_lines_and_a_bom(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "\ufeffGo.\tGeh.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (alice)\n"
        "\n"
        "  Hi.  \tHallo!\tCC-BY 2.0 (France) Attribution: tatoeba.org #2 (bob)\r\n",
        encoding="utf-8",
    )
    assert load_parallel_tsv(path) == [Example("Go.", "Geh."), Example("Hi.", "Hallo!")]
    swapped = load_parallel_tsv(path, src_column=1, tgt_column=0)
    assert [(e.src, e.tgt) for e in swapped] == [("Geh.", "Go."), ("Hallo!", "Hi.")]


def test_tsv_reads_gzip(tmp_path):
    path = write_gz(tmp_path / "pairs.tsv.gz", "Größe\tsize\nÜber\tabout\n")
    assert load_parallel_tsv(path) == [Example("Größe", "size"), Example("Über", "about")]
    assert load_parallel_tsv(path, limit=1) == [Example("Größe", "size")]


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        (b"only one column", "expected at least 2 tab-separated columns, got 1"),
        (b"\tleer", r"empty source \(column 0\)"),
        (b"empty\t  \tattribution", r"empty target \(column 1\)"),
        (b"caf\xe9\tcaf\xc3\xa9", "not valid UTF-8"),
    ],
)
def test_tsv_malformed_line_names_the_file_and_line(tmp_path, bad_line, problem):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"one\teins\n\ntwo\tzwei\n" + bad_line + b"\nthree\tdrei\n")
    with pytest.raises(ValueError, match=rf"pairs\.tsv, line 4: {problem}"):
        load_parallel_tsv(path)


def test_tsv_skip_malformed_warns_once_with_the_count(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"one\teins\nbroken\n\xff\tx\ntwo\tzwei\n\tthree\n")
    with pytest.warns(UserWarning) as record:
        examples = load_parallel_tsv(path, skip_malformed=True)
    assert examples == [Example("one", "eins"), Example("two", "zwei")]
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 3 malformed lines" in message
    assert "first at line 2: expected at least 2 tab-separated columns, got 1" in message


def test_tsv_rejects_bad_columns(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must differ; both are 1"):
        load_parallel_tsv(path, src_column=1, tgt_column=1)
    with pytest.raises(ValueError, match="expected at least 4 tab-separated columns, got 2"):
        load_parallel_tsv(path, tgt_column=3)


# --- the bundled toy-en-de corpus --------------------------------------------------------------

TOY_LINES = (
    "The cat sleeps.\tDie Katze schläft.\t0-0 1-1 2-2 3-3\tagreement\n"
    "I don't know.\tIch weiß es nicht.\t0-0 1-3 2-1 3-4\tnegation, reordering\n"
    "Yes.\tJa.\t\t\n"
)


def test_toy_reader_parses_alignment_and_phenomena(tmp_path):
    write_gz(tmp_path / "valid.tsv.gz", TOY_LINES)
    examples = load_toy_en_de("validation", root=tmp_path)
    assert examples[0] == Example(
        "The cat sleeps.",
        "Die Katze schläft.",
        ((0, 0), (1, 1), (2, 2), (3, 3)),
        ("agreement",),
    )
    assert examples[1].phenomena == ("negation", "reordering")
    assert examples[1].alignment == ((0, 0), (1, 3), (2, 1), (3, 4))
    assert examples[2] == Example("Yes.", "Ja.", (), ())
    for e in examples:
        n_src, n_tgt = len(tokenize(e.src)), len(tokenize(e.tgt))
        assert all(i < n_src and j < n_tgt for i, j in e.alignment)
    assert load_dataset("toy-en-de", "valid", root=tmp_path, limit=2) == examples[:2]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("The cat.\tDie Katze.\t0-0 3-1\t\n", r"'3-1' is out of range: the source has 3 tokens"),
        ("The cat.\tDie Katze.\t0-0 1-7\t\n", r"'1-7' is out of range: .* target 3 \(0\.\.2\)"),
        ("The cat.\tDie Katze.\t0:0\t\n", "'0:0' is not of the form i-j"),
        ("The cat.\tDie Katze.\t0-0\n", "expected 4 tab-separated columns"),
    ],
)
def test_toy_reader_rejects_bad_lines_with_file_and_line(tmp_path, line, problem):
    write_gz(tmp_path / "test.tsv.gz", TOY_LINES + line)
    with pytest.raises(ValueError, match=rf"test\.tsv\.gz, line 4: .*{problem}"):
        load_toy_en_de("test", root=tmp_path)


def test_toy_reader_missing_file_and_unknown_split(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"test-long\.tsv\.gz.*toy-en-de/README\.md"):
        load_toy_en_de("test-long", root=tmp_path)
    with pytest.raises(
        ValueError, match=r"'train', 'valid' \(or 'val', 'validation'\), 'test', 'test-long'"
    ):
        load_dataset("toy-en-de", "dev", root=tmp_path)


# --- load_dataset ------------------------------------------------------------------------------


def test_load_dataset_reads_a_tsv_file_or_a_directory_of_splits(tmp_path):
    (tmp_path / "train.tsv").write_text("a\tA\nb\tB\n", encoding="utf-8")
    write_gz(tmp_path / "valid.tsv.gz", "c\tC\n")
    assert load_dataset(tmp_path / "train.tsv") == [Example("a", "A"), Example("b", "B")]
    assert load_dataset(str(tmp_path / "train.tsv"), tgt_column=0, src_column=1, limit=1) == [
        Example("A", "a")
    ]
    assert load_dataset(tmp_path, "valid") == [Example("c", "C")]
    with pytest.raises(ValueError, match=r"has splits 'train', 'valid'; got split='test'"):
        load_dataset(tmp_path, "test")
    with pytest.raises(ValueError, match="single file, so it has no splits; got split='train'"):
        load_dataset(tmp_path / "train.tsv", "train")
    with pytest.raises(ValueError, match="root only applies to"):
        load_dataset(tmp_path / "train.tsv", root=tmp_path)


def test_load_dataset_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'wmt14'; choose one of 'multi30k', "):
        load_dataset("wmt14", "train")
    with pytest.raises(ValueError, match=r"multi30k has splits .*got split=None"):
        load_dataset("multi30k")
