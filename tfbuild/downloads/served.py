"""Which host served each download of a build: Bazel's build events say what it fetched
(`fetch` events: the URL each download used, and whether it succeeded); Bazel's record of the
repositories it fetched (downloads.resolved) says which archive that was and its sha256; the
profile's mirrors say whether the URL is a mirror's. The notes patched `print(url)` into Bazel's
Python to see this. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from tfbuild.downloads.resolved import Fetched
from tfbuild.downloads.urls import DEFAULT_MIRROR
from tfbuild.settings.model import Settings


def _key(url: str) -> str:
    """An archive's URL as host/path, without scheme or port (a mirror keeps neither)."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path}"


def origin_key(url: str, settings: Settings) -> str | None:
    """The origin a mirror URL stands for (host/path), None when `url` is not on a mirror: the
    profile's mirrors.host_mirrors (`<prefix>/<path>` for `<host>/<path>`), mirrors.tf_mirror
    and TF's own mirror (`<prefix>/<host>/<path>`)."""
    m = settings.mirrors
    for host, prefix in sorted(m.host_mirrors.items()):
        prefix = prefix.rstrip("/") + "/"
        if url.startswith(prefix):
            return f"{host}/{url[len(prefix):]}"
    for prefix in (m.tf_mirror, DEFAULT_MIRROR):
        prefix = (prefix or "").rstrip("/") + "/"
        if prefix != "/" and url.startswith(prefix):
            return _key("https://" + url[len(prefix):])
    return None


def downloads(fetches: Iterable[tuple[str, bool]], repositories: Mapping[str, Fetched],
              settings: Settings) -> list[dict]:
    """One row per fetch event: URL, served by a mirror or the origin, success, and the
    repository and sha256 of the archive it was (None when Bazel's record has no such URL)."""
    by_key: dict[str, Fetched] = {}
    for fetched in repositories.values():
        for url in fetched.urls:
            by_key.setdefault(_key(url), fetched)
            if (origin := origin_key(url, settings)) is not None:
                by_key.setdefault(origin, fetched)
    rows = []
    for url, success in fetches:
        origin = origin_key(url, settings)
        entry = by_key.get(origin if origin is not None else _key(url))
        rows.append({"url": url, "served_by": "mirror" if origin is not None else "origin",
                     "success": success, "repository": entry.repository if entry else None,
                     "sha256": entry.sha256 if entry and entry.sha256 else None})
    return rows
