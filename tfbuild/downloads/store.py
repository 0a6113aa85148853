"""Where Bazel finds archives without the network: a --distdir (looked up by file name, checked
by sha256) or the repository cache (content addressed by sha256, used automatically)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tfbuild.downloads.archives import Archive
from tfbuild.files import atomic_write

RECORD = "prefetch.json"


@dataclass(frozen=True)
class Store:
    distdir: Path | None
    repository_cache: Path

    def path_for(self, archive: Archive) -> Path:
        if self.distdir:
            return self.distdir / archive.basename
        return self.repository_cache / "content_addressable" / "sha256" / archive.sha256 / "file"

    def has(self, archive: Archive) -> bool:
        """In the store, or in the repository cache (where Bazel itself puts what it fetched)."""
        cached = self.repository_cache / "content_addressable" / "sha256" / archive.sha256 / "file"
        return self.path_for(archive).is_file() or cached.is_file()

    def bazel_options(self) -> list[str]:
        return [f"--distdir={self.distdir}"] if self.distdir else []


def collisions(archives: list[Archive]) -> dict[str, list[Archive]]:
    """Archives whose file names clash (a --distdir is looked up by file name): name -> the
    archives after the first that want it."""
    seen: dict[str, Archive] = {}
    clashes: dict[str, list[Archive]] = {}
    for archive in archives:
        first = seen.setdefault(archive.basename, archive)
        if first is not archive and first.sha256 != archive.sha256:
            clashes.setdefault(archive.basename, []).append(archive)
    return clashes


def repository_cache(output_user_root: Path) -> Path:
    """Bazel's default repository cache for an output user root."""
    return output_user_root / "cache" / "repos" / "v1"


def save(state: Path, store: Store, targets: dict | None = None) -> None:
    """The store, and what Bazel's fetch of the build's targets found (`targets`: the targets,
    whether it succeeded, the sha256 of declared archives they do not need)."""
    state.mkdir(parents=True, exist_ok=True)
    atomic_write(state / RECORD, json.dumps({
        "distdir": str(store.distdir) if store.distdir else None,
        "repository_cache": str(store.repository_cache),
        "targets": targets,
    }, indent=2) + "\n")


def load(state: Path) -> Store | None:
    path = state / RECORD
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Store(Path(data["distdir"]) if data["distdir"] else None,
                 Path(data["repository_cache"]))


def load_targets(state: Path) -> dict | None:
    """What the last prefetch's Bazel fetch of the targets recorded (None: it did not run)."""
    path = state / RECORD
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("targets")
