"""A verified, atomic file download for the real corpora of `05_training_translation`.

``download(url, dest, sha256=...)`` streams the file into a temporary file next to ``dest``,
hashing as it goes, checks the length the server announced and the sha256 the course
expects, and only then moves it into place with ``os.replace``: ``dest`` is either absent
or complete and verified, never half-written. Transient failures (no connection, timeouts,
resets, HTTP 5xx, a transfer cut short) are retried with exponential backoff; a 404 or a
checksum mismatch is not, because waiting does not change the answer. Standard library only.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

__all__ = ["DownloadError", "download", "file_sha256"]

_CHUNK = 1 << 16
_SHA256 = re.compile(r"[0-9a-f]{64}")
_USER_AGENT = "self-attention-course"


class DownloadError(RuntimeError):
    """A download that failed for good; the message says what failed and where to put the file
    by hand."""


class _Transient(Exception):
    """A failure worth another attempt."""


class _Permanent(Exception):
    """A failure that another attempt would only repeat."""


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
    partial file behind. Derived in `05_training_translation`.
    """
    dest = Path(dest)
    expected = sha256.lower() if isinstance(sha256, str) else sha256
    if not isinstance(expected, str) or not _SHA256.fullmatch(expected):
        raise ValueError(f"sha256 must be 64 hexadecimal digits; got {sha256!r}")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer; got {retries!r}")
    if timeout <= 0 or backoff < 0:
        raise ValueError(
            f"timeout must be positive and backoff non-negative; got {timeout=}, {backoff=}"
        )
    if dest.is_file() and file_sha256(dest) == expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)

    attempts = 0
    while True:
        attempts += 1
        try:
            _fetch(url, dest, expected, timeout)
            return dest
        except _Permanent as failure:
            reason = str(failure)
            break
        except _Transient as failure:
            reason = str(failure)
            if attempts > retries:
                break
            time.sleep(backoff * 2 ** (attempts - 1))
    raise DownloadError(
        f"could not download {url}: {reason} ({attempts} attempt{'s' if attempts > 1 else ''}). "
        f"To place the file manually, fetch it from that URL yourself and save it as {dest} "
        f"(its sha256 must be {expected})."
    )


def _fetch(url: str, dest: Path, expected: str, timeout: float) -> None:
    """One attempt: stream ``url`` into a temporary file beside ``dest``, verify, move in place."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual, received, announced = _stream(url, out, timeout)
        if announced is not None and received != announced:
            raise _Transient(f"transfer truncated after {received} of {announced} bytes")
        if actual != expected:
            raise _Permanent(f"checksum mismatch: sha256 expected {expected}, got {actual}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, out: BinaryIO, timeout: float) -> tuple[str, int, int | None]:
    """Copy the body of ``url`` into ``out``; returns (sha256 of the bytes received, their
    count, the announced Content-Length or None). Errors are sorted into transient and
    permanent."""
    digest = hashlib.sha256()
    received = 0
    announced = None
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as error:
        error.close()
        message = f"HTTP {error.code} {error.reason}"
        if error.code >= 500 or error.code in (408, 429):
            raise _Transient(message) from error
        raise _Permanent(message) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise _Transient(f"timed out after {timeout:g} s") from error
        raise _Transient(
            f"could not connect ({error.reason}); are you offline, or is the server refusing "
            "connections?"
        ) from error
    except http.client.IncompleteRead as error:
        received += len(error.partial)
        raise _Transient(
            f"transfer truncated after {received} of {announced} bytes"
            if announced is not None
            else f"transfer truncated after {received} bytes"
        ) from error
    except TimeoutError as error:
        raise _Transient(f"timed out after {timeout:g} s (received {received} bytes)") from error
    except (ConnectionError, http.client.HTTPException) as error:
        raise _Transient(
            f"connection lost after {received} bytes ({type(error).__name__}: {error})"
        ) from error
    return digest.hexdigest(), received, announced
