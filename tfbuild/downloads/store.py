"""Where Bazel finds archives without the network: a --distdir (looked up by file name, checked
by sha256) or the repository cache (content addressed by sha256, used automatically)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from tfbuild import secrets
from tfbuild.downloads.archives import Archive
from tfbuild.errors import ConfigError
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

    def cached(self, archive: Archive) -> Path:
        """Where Bazel's repository cache keeps it (content addressed by sha256)."""
        return self.repository_cache / "content_addressable" / "sha256" / archive.sha256 / "file"

    def has(self, archive: Archive) -> bool:
        """In the store, or in the repository cache (where Bazel itself puts what it fetched)."""
        return self.path_for(archive).is_file() or self.cached(archive).is_file()

    def bazel_options(self) -> list[str]:
        return [f"--distdir={self.distdir}"] if self.distdir else []


def copy_verified(source: Path, target: Path, sha256: str) -> int | None:
    """Copy `source` to `target` through a temporary file, hashing as it goes; the copy lands
    only when the sha256 matches. Returns its size, or None (nothing written) on a mismatch."""
    digest = hashlib.sha256()
    part = target.with_name(f".{target.name}.copy")
    size = 0
    try:
        with open(source, "rb") as src, open(part, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            return None
        os.replace(part, target)
        return size
    finally:
        part.unlink(missing_ok=True)


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


# -- a distdir that says what it holds --------------------------------------------------------------
MANIFEST = "tfbuild-archives.json"


@dataclass(frozen=True)
class DistdirManifest:
    """What a --distdir must hold for the targets prefetch was run for: carried with the
    distdir to another machine, it lets `build --offline --distdir DIR` check it there."""

    targets: tuple[str, ...]
    archives: tuple[Archive, ...]  # every archive the targets need, whoever listed it
    not_needed: frozenset[str]  # sha256 of declared archives the targets do not need


def write_manifest(distdir: Path, manifest: DistdirManifest) -> None:
    atomic_write(distdir / MANIFEST, json.dumps(secrets.mask_data({
        "version": 1, "targets": list(manifest.targets),
        "archives": [{"name": a.name, "sha256": a.sha256, "urls": list(a.urls),
                      "file": a.basename, "listed_by": a.origin, "source": a.source}
                     for a in manifest.archives],
        "not_needed": sorted(manifest.not_needed)}), indent=2) + "\n")


def read_manifest(distdir: Path) -> DistdirManifest | None:
    """The distdir's manifest; None when there is none. Raises ConfigError when it is unreadable."""
    path = distdir / MANIFEST
    if not path.exists():
        return None
    fix = f"run `invoke prefetch --distdir {distdir}` again to rewrite it"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        archives = tuple(Archive(str(a["name"]), str(a["sha256"]), tuple(map(str, a["urls"])),
                                 str(a.get("listed_by", MANIFEST)),
                                 str(a.get("source", MANIFEST)))
                         for a in data["archives"])
        if any(not a.urls for a in archives):
            raise ValueError("an archive without URLs")
        return DistdirManifest(tuple(map(str, data.get("targets", ()))), archives,
                               frozenset(map(str, data.get("not_needed", ()))))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a manifest tfbuild can read ({exc.__class__.__name__}: "
                          f"{exc})", hint=fix) from None


def verified(path: Path, sha256: str) -> bool:
    """A regular file whose content has the sha256 (what Bazel checks before using it)."""
    try:
        if not path.is_file():
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256
    except OSError:
        return False
