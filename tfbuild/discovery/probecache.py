"""Probe results kept between runs, keyed by the identity of the files they depend on.

A no-op `invoke build` used to spend most of its time re-asking clang, lld, Python and dpkg what
they are. A probe that succeeded is remembered in `<state root>/probe-cache.json` with the
identity (resolved path, size, mtime, inode) of each file or directory it depends on (the
program itself, the include directories a compile check reads, dpkg's status file); it is run
again as soon as any of them changes. Failed probes are never remembered.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from tfbuild.files import atomic_write

FORMAT = 1


def identity(path: str | Path) -> list:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino]


class ProbeCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}
        self.dirty = False
        if path:
            try:
                data = json.loads(path.read_text())
                if data.get("format") == FORMAT and isinstance(data.get("entries"), dict):
                    self.entries = data["entries"]
            except (OSError, ValueError, AttributeError):
                self.entries = {}  # unreadable or foreign: start afresh

    def get(self, key: str, depends_on: Sequence[str | Path]) -> str | None:
        entry = self.entries.get(key)
        if entry and entry.get("identity") == [identity(p) for p in depends_on]:
            return entry.get("output")
        return None

    def put(self, key: str, depends_on: Sequence[str | Path], output: str) -> None:
        self.entries[key] = {"identity": [identity(p) for p in depends_on], "output": output}
        self.dirty = True

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps({"format": FORMAT, "entries": self.entries}) + "\n")
        except OSError:
            pass  # a cache that cannot be written only costs time
        self.dirty = False


_active: ProbeCache | None = None


def active() -> ProbeCache | None:
    return _active


@contextlib.contextmanager
def using(path: Path | None) -> Iterator[ProbeCache]:
    """Probes run inside use (and update) the cache at `path`; saved on the way out."""
    global _active
    previous, _active = _active, ProbeCache(path)
    try:
        yield _active
    finally:
        _active.save()
        _active = previous
