"""Verified, atomic downloads of the real corpora (Multi30k), used in `05_training_translation`.

``download(url, dest, sha256=...)`` hands the transfer to ``pooch.retrieve``, which streams
the file into a temporary file beside ``dest``, checks its sha256 and only then moves it into
place: ``dest`` is either absent or complete and verified, never half-written, and a ``dest``
that already has the right sha256 is not fetched again. pooch sends the request through
``requests``, which also notices a transfer cut short of its announced length.

What this module adds is the retry policy, which ``pooch.retrieve`` does not have (and which
``pooch.create(retry_if_failed=...)`` applies to every failure alike, a 404 and a checksum
mismatch included, after pauses of 1, 2, 3 ... seconds): transient failures (no connection,
timeouts, resets, HTTP 5xx, a transfer cut short) are retried with exponential backoff; a 404
or a checksum mismatch is not, because waiting does not change the answer. Every failure ends
in one ``DownloadError`` naming the URL, what failed and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
from pathlib import Path

import pooch
import requests

__all__ = ["DownloadError", "download", "file_sha256"]

_CHUNK = 1 << 16
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The sha256 is that of the file as published. requests undoes any Content-Encoding it is sent,
# so a server that labels a .gz file gzip-encoded would hand over its decompressed content:
# ask for no transfer encoding.
_HEADERS = {"User-Agent": "self-attention-course", "Accept-Encoding": "identity"}


class DownloadError(RuntimeError):
    """A download that failed for good; the message says what failed and where to put the file
    by hand."""


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 0.5,
) -> Path:
    """Download ``url`` to ``dest`` unless a file with the expected ``sha256`` is already there.

    Makes at most ``1 + retries`` attempts, sleeping ``backoff * 2**k`` seconds before retry
    ``k`` (k = 0, 1, ...). ``timeout`` bounds each connect and each read, in seconds. Returns
    ``dest`` as a ``Path``; raises ``DownloadError`` when no attempt succeeds, leaving no
    partial file behind.
    """
    dest = Path(dest)
    expected = _check_arguments(sha256, retries, timeout, backoff)
    downloader = pooch.HTTPDownloader(timeout=timeout, headers=_HEADERS, chunk_size=_CHUNK)
    attempts = 0
    while True:
        attempts += 1
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{expected}",
                fname=dest.name,
                path=dest.parent,
                downloader=downloader,
            )
            return dest
        except (requests.RequestException, ValueError) as failure:
            reason, transient = _diagnose(failure, timeout)
        if not transient or attempts > retries:
            break
        time.sleep(backoff * 2 ** (attempts - 1))
    raise DownloadError(
        f"could not download {url}: {reason} ({attempts} attempt{'s' if attempts > 1 else ''}). "
        f"To place the file manually, fetch it from that URL yourself and save it as {dest} "
        f"(its sha256 must be {expected})."
    )


def _check_arguments(sha256: object, retries: object, timeout: float, backoff: float) -> str:
    """The expected sha256 in lowercase, or a ValueError for an argument out of range."""
    expected = sha256.lower() if isinstance(sha256, str) else sha256
    if not isinstance(expected, str) or not _SHA256.fullmatch(expected):
        raise ValueError(f"sha256 must be 64 hexadecimal digits; got {sha256!r}")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer; got {retries!r}")
    if timeout <= 0 or backoff < 0:
        raise ValueError(
            f"timeout must be positive and backoff non-negative; got {timeout=}, {backoff=}"
        )
    return expected


def _diagnose(failure: Exception, timeout: float) -> tuple[str, bool]:
    """What went wrong in one attempt, in a few words, and whether another attempt may help."""
    if isinstance(failure, requests.HTTPError) and failure.response is not None:
        status = failure.response.status_code
        transient = status >= 500 or status in (408, 429)
        return f"HTTP {status} {failure.response.reason}", transient
    if not isinstance(failure, requests.RequestException):  # the ValueError of pooch's check
        return f"checksum mismatch: {failure}", False
    if isinstance(failure, ValueError):  # MissingSchema, InvalidURL ...: the request is wrong
        return f"{type(failure).__name__}: {failure}", False
    causes = _causes(failure)
    truncated = next((e for e in causes if isinstance(e, http.client.IncompleteRead)), None)
    if truncated is not None:  # urllib3's subclass counts bytes received and bytes still due
        partial, missing = truncated.partial, truncated.expected
        received = partial if isinstance(partial, int) else len(partial)
        total = "" if missing is None else f" of {received + missing}"
        return f"transfer truncated after {received}{total} bytes", True
    # the socket's own TimeoutError: urllib3 files a refused connection under its TimeoutError
    if isinstance(failure, requests.Timeout) or any(isinstance(e, TimeoutError) for e in causes):
        return f"timed out after {timeout:g} s", True
    if isinstance(failure, requests.ConnectionError):
        return (
            f"could not connect ({causes[-1]}); are you offline, or is the server refusing "
            "connections?",
            True,
        )
    return f"connection lost ({type(failure).__name__}: {causes[-1]})", True


def _causes(failure: BaseException) -> list[BaseException]:
    """``failure`` and the exceptions that led to it, outermost first: requests wraps urllib3's,
    which wraps the operating system's."""
    chain = [failure]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) and cause not in chain:
        chain.append(cause)
    return chain
