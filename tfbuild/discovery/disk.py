"""Where tfbuild's bytes land, read off the machine: its places (output root, disk cache,
repository cache, logs, dist), the filesystems they are on with their free space, sizes of
trees, Bazel's output bases, and what the hermetic CUDA downloads weigh (doctor's facts).
Moved out of space.py, so that discovery imports nothing from a task."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tfbuild import diskcache, paths, versions
from tfbuild.discovery.facts import FsPlace, FsSpace
from tfbuild.downloads import archives
from tfbuild.downloads import store as store_mod
from tfbuild.downloads.store import repository_cache
from tfbuild.files import nearest_existing
from tfbuild.settings.model import Settings


# -- places and filesystems ----------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    name: str  # "output base", "disk cache", ...
    path: Path
    key: str  # the profile key (or flag) that moves it


def places(settings: Settings, source: Path) -> list[Place]:
    root = paths.output_user_root(settings)
    found = [Place("output root", root, "build.output_user_root")]
    if settings.build.disk_cache:
        found.append(Place("disk cache", paths.expand(settings.build.disk_cache),
                           "build.disk_cache"))
    found += [Place("repository cache", repository_cache(root), "build.output_user_root"),
              # TMPDIR of Bazel's local actions (paths.bazel_temp_dir): TF's wheel step stages
              # every file of the wheel there, twice, before it writes the wheel
              Place("Bazel temp dir", paths.bazel_temp_dir(settings), "build.output_user_root"),
              Place("logs", paths.state_dir(source) / "logs", "TFBUILD_STATE_DIR"),
              Place("dist", paths.expand(settings.build.dist_dir), "build.dist_dir")]
    return found


@dataclass(frozen=True)
class Filesystem:
    device: int
    mount: str
    free: int
    total: int


def filesystem(path: Path) -> Filesystem:
    existing = nearest_existing(path)
    usage = shutil.disk_usage(existing)
    return Filesystem(os.stat(existing).st_dev, mount_point(existing), usage.free, usage.total)


def mount_point(path: Path) -> str:
    path = Path(os.path.realpath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return str(path)


def tree_size(path: Path) -> int:
    """Bytes allocated under path (symlinks not followed); 0 when it does not exist."""
    total = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                for item in it:
                    try:
                        st = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if item.is_dir(follow_symlinks=False):
                        stack.append(item.path)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return total


def output_bases(root: Path) -> list[Path]:
    """Bazel's output bases under an output user root (one per workspace: 32 hex digits)."""
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{32}",
                                                                                 p.name))
    except FileNotFoundError:
        return []


# -- doctor --------------------------------------------------------------------------------------
def filesystems_fact(settings: Settings, source: Path | None):
    """Each filesystem tfbuild's places are on, once, with its free space (doctor's facts)."""
    found: dict[int, tuple[Filesystem, list]] = {}
    redist = cuda_redist_gib(settings, source)
    for place in places(settings, source or Path.cwd()):
        if place.name == "logs" and source is None:
            continue
        fs = filesystem(place.path)
        used = 0.0
        if place.name == "disk cache" and settings.build.disk_cache_max_gib:
            try:
                used = sum(e.size for e in diskcache.scan(place.path, refs=False)) / diskcache.GIB
            except (diskcache.NotADiskCache, OSError):
                used = 0.0  # build and `cache --gc` refuse it, naming what is foreign
        found.setdefault(fs.device, (fs, []))[1].append(
            FsPlace(place.name, str(place.path), place.key, round(used, 2),
                    redist if place.name == "repository cache" else None))
    return tuple(FsSpace(fs.mount, round(fs.free / diskcache.GIB, 1),
                         round(fs.total / diskcache.GIB, 1), tuple(items))
                 for fs, items in found.values())


def redist_bytes(document: str, kind: str, components: Iterable[str], cuda_major: str) -> int:
    """Bytes of the linux-x86_64 archives an NVIDIA redistrib JSON lists for the components TF
    uses (its `size` fields; cuDNN has one archive per CUDA major)."""
    data = json.loads(document)
    wanted = {"cudnn"} if kind == "cudnn" else set(components) - {"cudnn"}
    total = 0
    for component in wanted:
        entry = data.get(component, {}).get("linux-x86_64") or {}
        if "relative_path" not in entry:
            entry = entry.get(f"cuda{cuda_major}", {})
        try:
            total += int(entry.get("size", 0))
        except (TypeError, ValueError):
            continue
    return total


def cuda_redist_gib(settings: Settings, source: Path | None) -> float | None:
    """What the hermetic CUDA/cuDNN downloads weigh, from NVIDIA's redistrib JSON files when
    they are already in the repository cache or prefetch's distdir; None when unknown."""
    cuda = settings.cuda
    if not cuda.enabled or source is None or not source.is_dir():
        return None
    index = archives.redist_index(source, cuda_version=cuda.version,
                                  cudnn_version=cuda.cudnn_version,
                                  local_cuda=bool(cuda.local_cuda_path),
                                  local_cudnn=bool(cuda.local_cudnn_path),
                                  local_nccl=bool(cuda.local_nccl_path))
    if index is None or not index.json_archives:
        return None
    store = store_mod.load(paths.state_dir(source)) or store_mod.Store(
        None, repository_cache(paths.output_user_root(settings)))
    major = str((versions.version(cuda.version) or versions.version("12")).major)
    total = 0
    for archive, _, kind in index.json_archives:
        if not store.has(archive):
            return None
        try:
            total += redist_bytes(store.path_for(archive).read_text(), kind, index.components,
                                  major)
        except ValueError:
            return None
    return round(total / diskcache.GIB, 2)
