"""Which members of two archives (a wheel, a tarball) differ, and how: time, mode, size, bytes
(pure over the files; no extraction to disk).

A wheel is a zip: its central directory holds each member's time, mode, size and CRC-32, so two
600 MB wheels are compared without decompressing either (a member whose size and CRC-32 agree is
taken as equal; the whole files' SHA256 already said whether the archives differ). A tarball has
no index: its members are read through once and hashed.
"""

from __future__ import annotations

import hashlib
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")


@dataclass(frozen=True)
class Member:
    time: str  # "YYYY-MM-DD HH:MM:SS" as the archive stores it (zip: local time fields)
    mode: int
    size: int
    content: str  # zip: CRC-32 as hex; tar: sha256 of the bytes; "" for directories and links


@dataclass(frozen=True)
class MemberDiff:
    name: str
    how: tuple[str, ...]  # of "only in A", "only in B", "time", "mode", "size", "bytes"
    a: Member | None
    b: Member | None

    @property
    def text(self) -> str:
        if self.a is None:
            return f"{self.name}: only in B"
        if self.b is None:
            return f"{self.name}: only in A"
        parts = []
        for kind in self.how:
            if kind == "time":
                parts.append(f"time {self.a.time} vs {self.b.time}")
            elif kind == "mode":
                parts.append(f"mode {self.a.mode:o} vs {self.b.mode:o}")
            elif kind == "size":
                parts.append(f"size {self.a.size} vs {self.b.size}")
            else:
                parts.append("bytes differ")
        return f"{self.name}: " + ", ".join(parts)


class NotAnArchive(Exception):
    """The file is neither a zip nor a tarball tfbuild can read."""


def is_archive(path: Path) -> bool:
    return path.suffix in (".whl", ".zip") or path.name.endswith(TAR_SUFFIXES)


def members(path: Path) -> dict[str, Member]:
    if path.suffix in (".whl", ".zip"):
        return _zip_members(path)
    if path.name.endswith(TAR_SUFFIXES):
        return _tar_members(path)
    raise NotAnArchive(f"{path.name} is not a wheel, zip or tarball")


def _zip_members(path: Path) -> dict[str, Member]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {info.filename: Member(
                "%04d-%02d-%02d %02d:%02d:%02d" % info.date_time, info.external_attr >> 16,
                info.file_size, "" if info.is_dir() else f"{info.CRC:08x}")
                for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotAnArchive(f"{path.name} cannot be read as a zip: {exc}") from None


def _tar_members(path: Path) -> dict[str, Member]:
    found: dict[str, Member] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for info in archive:
                digest = ""
                if info.isfile():
                    handle = archive.extractfile(info)
                    sha = hashlib.sha256()
                    if handle is not None:
                        for chunk in iter(lambda: handle.read(1 << 20), b""):
                            sha.update(chunk)
                    digest = sha.hexdigest()
                elif info.issym() or info.islnk():
                    digest = "link:" + info.linkname
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(info.mtime))
                found[info.name] = Member(stamp, info.mode, info.size, digest)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise NotAnArchive(f"{path.name} cannot be read as a tarball: {exc}") from None
    return found


def compare_members(a: dict[str, Member], b: dict[str, Member]) -> list[MemberDiff]:
    out = []
    for name in sorted(set(a) | set(b)):
        ma, mb = a.get(name), b.get(name)
        if ma is None or mb is None:
            out.append(MemberDiff(name, ("only in B",) if ma is None else ("only in A",), ma, mb))
            continue
        how = tuple(kind for kind, differs in (
            ("time", ma.time != mb.time), ("mode", ma.mode != mb.mode),
            ("size", ma.size != mb.size), ("bytes", ma.content != mb.content)) if differs)
        if how:
            out.append(MemberDiff(name, how, ma, mb))
    return out


def compare(a: Path, b: Path) -> list[MemberDiff]:
    """The differing members of two archives of one kind (NotAnArchive if either is not)."""
    return compare_members(members(a), members(b))


def summary(diffs: list[MemberDiff], limit: int = 20) -> list[str]:
    """Lines for a person: bytes first (what the program does), then sizes, modes, times."""
    order = {"only in A": 0, "only in B": 0, "bytes": 1, "size": 2, "mode": 3, "time": 4}
    ranked = sorted(diffs, key=lambda d: (min(order[h] for h in d.how), d.name))
    lines = [d.text for d in ranked[:limit]]
    if len(ranked) > limit:
        kinds = sorted({h for d in ranked[limit:] for h in d.how})
        lines.append(f"... and {len(ranked) - limit} more members ({', '.join(kinds)})")
    return lines
