"""helpers.translation.download against a scripted HTTP server on 127.0.0.1."""

import gzip
import hashlib
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers.translation.download import DownloadError, download, file_sha256

BODY = gzip.compress("Ein Hund läuft.\nZwei Kinder spielen.\n".encode(), mtime=0)
SHA = hashlib.sha256(BODY).hexdigest()
FAST = {"retries": 2, "timeout": 2.0, "backoff": 0.001}


class Server:
    """Serves ``BODY`` at every path, after the scripted misbehaviours queued for that path:
    ``status`` (an HTTP error code), ``"truncate"`` (announce more bytes than sent),
    ``"wrong"`` (other bytes), ``"hang"`` (never answer), ``"stall"`` (send half the body, then
    nothing), ``"gzip-label"`` (mark the .gz file as gzip-*encoded* to a client that accepts
    that, as some servers do). Counts requests per path."""

    def __init__(self):
        self.script: dict[str, list] = {}
        self.requests = Counter()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests[self.path] += 1
                queue = server.script.get(self.path, [])
                action = queue.pop(0) if queue else "ok"
                if action == "hang":
                    server.release.wait(5)
                    return
                if action == "stall":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(BODY)))
                    self.end_headers()
                    self.wfile.write(BODY[: len(BODY) // 2])
                    self.wfile.flush()
                    server.release.wait(5)
                    return
                if isinstance(action, int):
                    self.send_error(action)
                    return
                body = b"not the gzip you wanted" if action == "wrong" else BODY
                announced = len(body) + 100 if action == "truncate" else len(body)
                self.send_response(200)
                self.send_header("Content-Length", str(announced))
                if action == "gzip-label" and "gzip" in self.headers.get("Accept-Encoding", ""):
                    self.send_header("Content-Encoding", "gzip")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server():
    s = Server()
    s.thread.start()
    yield s
    s.release.set()
    s.httpd.shutdown()
    s.httpd.server_close()


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


def test_download_verifies_and_places_the_file(server, tmp_path):
    dest = tmp_path / "sub" / "train.de.gz"
    assert download(server.url("/train.de.gz"), dest, sha256=SHA, **FAST) == dest
    assert dest.read_bytes() == BODY
    assert gzip.decompress(dest.read_bytes()).decode().startswith("Ein Hund läuft.")
    assert leftovers(dest.parent) == ["train.de.gz"]
    assert file_sha256(dest) == SHA


def test_present_file_with_right_checksum_is_not_downloaded_again(server, tmp_path):
    dest = tmp_path / "f.gz"
    download(server.url("/f.gz"), dest, sha256=SHA, **FAST)
    download(server.url("/f.gz"), dest, sha256=SHA.upper(), **FAST)
    assert server.requests["/f.gz"] == 1


def test_present_file_with_wrong_checksum_is_replaced(server, tmp_path):
    dest = tmp_path / "f.gz"
    dest.write_bytes(b"stale")
    download(server.url("/f.gz"), dest, sha256=SHA, **FAST)
    assert server.requests["/f.gz"] == 1
    assert dest.read_bytes() == BODY


def test_checksum_mismatch_names_both_hashes_and_is_not_retried(server, tmp_path):
    server.script["/f.gz"] = ["wrong"]
    dest = tmp_path / "f.gz"
    with pytest.raises(DownloadError) as info:
        download(server.url("/f.gz"), dest, sha256=SHA, **FAST)
    message = str(info.value)
    assert SHA in message
    assert hashlib.sha256(b"not the gzip you wanted").hexdigest() in message
    assert "1 attempt)" in message and str(dest) in message
    assert server.requests["/f.gz"] == 1
    assert leftovers(tmp_path) == []


def test_truncated_transfer_is_retried_then_reported(server, tmp_path):
    server.script["/f.gz"] = ["truncate"] * 3
    with pytest.raises(DownloadError) as info:
        download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **FAST)
    message = str(info.value)
    assert f"truncated after {len(BODY)} of {len(BODY) + 100} bytes" in message
    assert "3 attempts" in message
    assert server.requests["/f.gz"] == 3
    assert leftovers(tmp_path) == []


def test_truncation_then_success(server, tmp_path):
    server.script["/f.gz"] = ["truncate"]
    dest = download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **FAST)
    assert dest.read_bytes() == BODY
    assert server.requests["/f.gz"] == 2
    assert leftovers(tmp_path) == ["f.gz"]


def test_dest_is_absent_while_the_transfer_runs(server, tmp_path):
    """Atomic: the bytes go to a temporary file beside ``dest``; a stalled transfer times out,
    and neither ``dest`` nor the temporary file remains."""
    server.script["/f.gz"] = ["stall"]
    dest = tmp_path / "f.gz"
    failures = []

    def fetch():
        with pytest.raises(DownloadError) as info:
            download(server.url("/f.gz"), dest, sha256=SHA, **{**FAST, "retries": 0, "timeout": 1})
        failures.append(str(info.value))

    thread = threading.Thread(target=fetch)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.requests["/f.gz"] and time.monotonic() < deadline:
        time.sleep(0.01)
    during = leftovers(tmp_path)
    thread.join()
    assert server.requests["/f.gz"] == 1
    assert len(during) == 1 and during != ["f.gz"]  # a temporary file, not dest
    assert "timed out after 1 s (1 attempt)" in failures[0]
    assert leftovers(tmp_path) == []


def test_a_gz_file_is_saved_as_published_not_decoded(server, tmp_path):
    """A server may label a .gz file as gzip-encoded to clients that accept gzip; the download
    asks for no transfer encoding, so it stores the published bytes and their sha256 matches."""
    server.script["/f.gz"] = ["gzip-label"]
    dest = download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **FAST)
    assert dest.read_bytes() == BODY
    assert server.requests["/f.gz"] == 1


def test_server_error_is_retried_until_success(server, tmp_path):
    server.script["/f.gz"] = [500, 503]
    dest = download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **FAST)
    assert dest.read_bytes() == BODY
    assert server.requests["/f.gz"] == 3


def test_server_error_every_time_reports_the_status(server, tmp_path):
    server.script["/f.gz"] = [502] * 5
    with pytest.raises(DownloadError, match=r"HTTP 502 .*\(3 attempts\)"):
        download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **FAST)
    assert server.requests["/f.gz"] == 3
    assert leftovers(tmp_path) == []


def test_not_found_is_not_retried(server, tmp_path):
    server.script["/missing.gz"] = [404]
    url = server.url("/missing.gz")
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "missing.gz", sha256=SHA, **FAST)
    message = str(info.value)
    assert url in message and "HTTP 404" in message and "1 attempt)" in message
    assert server.requests["/missing.gz"] == 1
    assert leftovers(tmp_path) == []


def test_timeout_is_retried_then_reported(server, tmp_path):
    server.script["/f.gz"] = ["hang", "hang"]
    options = {**FAST, "retries": 1, "timeout": 0.2}
    with pytest.raises(DownloadError, match=r"timed out after 0.2 s.*\(2 attempts\)"):
        download(server.url("/f.gz"), tmp_path / "f.gz", sha256=SHA, **options)
    assert server.requests["/f.gz"] == 2
    assert leftovers(tmp_path) == []


def test_offline_says_it_could_not_connect_and_where_to_put_the_file(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "cache" / "val.en.gz"
    url = f"http://127.0.0.1:{port}/val.en.gz"
    with pytest.raises(DownloadError) as info:
        download(url, dest, sha256=SHA, **FAST)
    message = str(info.value)
    assert url in message and "could not connect" in message and "3 attempts" in message
    assert f"save it as {dest}" in message and SHA in message
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"sha256": "abc"}, "64 hexadecimal digits; got 'abc'"),
        ({"sha256": SHA, "retries": -1}, "non-negative integer; got -1"),
        ({"sha256": SHA, "timeout": 0}, "timeout=0"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, options, expected):
    with pytest.raises(ValueError, match=expected):
        download("http://127.0.0.1:9/x", tmp_path / "x", **options)
