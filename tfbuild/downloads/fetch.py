"""One verified, resumable download with requests: into `<dest>.part`, resumed with a Range
request when the server allows it, sha256-checked, then renamed into place. Proxies come from
HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as requests reads them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

CHUNK = 1 << 16
TIMEOUT = (10, 60)  # connect, read


@dataclass(frozen=True)
class Fetched:
    path: Path
    url: str
    bytes: int
    resumed_from: int


class FetchError(Exception):
    """Every URL failed (reason per URL), or the content's sha256 is not the pinned one."""


def _sha256_of(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    if path.exists():
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest


def fetch(urls: Sequence[str], dest: Path, sha256: str, *, session: requests.Session,
          on_bytes: Callable[[int], None] | None = None,
          on_total: Callable[[int | None], None] | None = None) -> Fetched:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors: list[str] = []
    for url in urls:
        try:
            return _one(url, dest, part, sha256, session, on_bytes, on_total)
        except FetchError:
            raise
        except (requests.RequestException, OSError) as exc:
            errors.append(f"{url}: {describe(exc)}")
    raise FetchError("; ".join(errors) or "no URL to try")


def describe(exc: BaseException) -> str:
    """A short reason for a failed request: HTTP status, unknown host, refused, timed out."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = repr(exc)
    if "NameResolutionError" in text or "Name or service not known" in text \
            or "Failed to resolve" in text:
        return "cannot resolve the host name"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection refused"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)) or "IncompleteRead" in text:
        return "the connection broke off during the transfer"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return str(exc)[:200] or type(exc).__name__


def _local(url: str, part: Path, on_bytes, on_total) -> None:
    """A file:// URL: a copy of a regular file on this machine (a download made elsewhere)."""
    from urllib.parse import unquote, urlparse

    source = Path(unquote(urlparse(url).path))
    if not source.is_file():
        raise OSError(f"{source} is not a regular file")
    size = source.stat().st_size
    if on_total:
        on_total(size)
    with open(source, "rb") as src, open(part, "wb") as handle:
        while block := src.read(CHUNK):
            handle.write(block)
            if on_bytes:
                on_bytes(len(block))


def _one(url, dest, part, sha256, session, on_bytes, on_total) -> Fetched:
    if url.startswith("file://"):
        _local(url, part, on_bytes, on_total)
        return _verified(url, dest, part, sha256, 0)
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with session.get(url, stream=True, timeout=TIMEOUT, headers=headers) as response:
        if offset and response.status_code == 416:  # the .part is already whole
            response.close()
        else:
            response.raise_for_status()
            resumed = offset if response.status_code == 206 else 0
            if not resumed:
                offset = 0
            length = response.headers.get("Content-Length")
            if on_total:
                on_total(int(length) + offset if length else None)
            if on_bytes and offset:
                on_bytes(offset)
            with open(part, "ab" if resumed else "wb") as handle:
                for chunk in response.iter_content(CHUNK):
                    handle.write(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
    return _verified(url, dest, part, sha256, offset)


def _verified(url: str, dest: Path, part: Path, sha256: str, offset: int) -> Fetched:
    digest = _sha256_of(part).hexdigest()
    if digest != sha256:
        part.unlink(missing_ok=True)
        raise FetchError(f"sha256 mismatch for {url}: expected {sha256}, got {digest}")
    os.replace(part, dest)
    return Fetched(dest, url, dest.stat().st_size, offset)
