"""Disk space: the `cache` task (what tfbuild's places hold, pruning), the disk cache pruned
before a build, free space watched while Bazel runs, per-build files rotated. Where the places
are and what the filesystems hold is discovery (discovery/disk.py).

Discovery here (sizes, free space) is kept apart from the pure pieces (plans, rows, messages),
which the unit tests check with numbers written by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tfbuild import console, diskcache, paths
from tfbuild.discovery.disk import filesystem, mount_point, output_bases, places, tree_size
from tfbuild.errors import ConfigError, OutOfSpace
from tfbuild.files import nearest_existing
from tfbuild.settings import resolve
from tfbuild.settings.model import Settings

MIB = 1024**2


# -- invoke cache --------------------------------------------------------------------------------
def usage_rows(settings: Settings, source: Path, limit_gib: float | None = None
               ) -> list[list[str]]:
    rows = []
    root = paths.output_user_root(settings)
    current = paths.output_base(settings, source)
    entries: list[tuple[str, Path, str]] = []
    for base in output_bases(root):
        mark = " (this tree)" if base == current else ""
        entries.append((f"output base{mark}", base, "build.output_user_root"))
    if not any(b == current for b in output_bases(root)):
        entries.append(("output base (this tree)", current, "build.output_user_root"))
    if (root / "install").is_dir():
        entries.append(("Bazel install bases", root / "install", "build.output_user_root"))
    for place in places(settings, source):
        if place.name != "output root":
            entries.append((place.name, place.path, place.key))
    for name, path, key in entries:
        fs = filesystem(path)
        size = tree_size(path)
        limit = ""
        cache_limit = limit_gib if limit_gib is not None else settings.build.disk_cache_max_gib
        if name == "disk cache" and cache_limit:
            limit = f" (limit {cache_limit:g} GiB)"
        rows.append([name, str(path), (diskcache.gib(size) if path.exists() else "absent") + limit,
                     f"{diskcache.gib(fs.free)} free on {fs.mount}", key])
    return rows


def cache_command(settings: Settings, source: Path, *, gc: bool, max_gib: float | None,
                  dry_run: bool) -> int:
    if gc or dry_run:
        cache = paths.expand(settings.build.disk_cache) if settings.build.disk_cache else None
        limit = max_gib if max_gib is not None else settings.build.disk_cache_max_gib
        if cache is None:
            console.info("no disk cache (build.disk_cache is empty): nothing to prune")
        else:
            prune_cache(cache, limit, dry_run=dry_run, protected=protected_places(settings, source))
    console.table("", ["what", "path", "size", "free space", "moved by"],
                  usage_rows(settings, source, max_gib))
    return 0


# -- before a build: prune the disk cache, rotate per-build files --------------------------------
def protected_places(settings: Settings, source: Path) -> list[tuple[str, Path]]:
    """What a disk cache may never be (nor hold): pruning there would delete the user's files."""
    return [("the source tree", source), ("the state directory", paths.state_dir(source)),
            ("tfbuild's state root", paths.state_root()),
            ("the dist directory", paths.expand(settings.build.dist_dir)),
            ("the output root", paths.output_user_root(settings))]


def prune_cache(cache: Path, limit_gib: float, *, dry_run: bool = False,
                protected: Iterable[tuple[str, Path]] = ()) -> diskcache.PruneResult | None:
    if not limit_gib or not (cache.is_dir() or cache.is_symlink()):
        return None
    result = diskcache.prune(cache, int(limit_gib * diskcache.GIB), dry_run=dry_run,
                             protected=protected)
    console.note(prune_message(result, cache, limit_gib, dry_run))
    if dry_run:
        for entry in result.plan.remove[:20]:
            console.plain(f"    would remove {entry.path} ({diskcache.gib(entry.size)})")
        if len(result.plan.remove) > 20:
            console.plain(f"    ... and {len(result.plan.remove) - 20} more")
    return result


def prune_message(result: diskcache.PruneResult, cache: Path, limit_gib: float,
                  dry_run: bool) -> str:
    plan = result.plan
    head = (f"    disk cache {cache}: {diskcache.gib(plan.total_bytes)} in entries, limit "
            f"{limit_gib:g} GiB")
    if not plan.remove:
        text = head + ": nothing to prune"
        if plan.total_bytes > plan.limit_bytes:
            text += (f" ({diskcache.gib(plan.protected_bytes)} used recently or by a running "
                     "build is kept)")
        return text
    kept_recent = (f"; {diskcache.gib(plan.protected_bytes)} used in the last hour or by a "
                   "running build is kept" if plan.after_bytes > plan.limit_bytes else "")
    if dry_run:
        return (head + f": would remove {len(plan.remove)} entries, "
                f"{diskcache.gib(plan.freed_bytes)} (least recently used first)" + kept_recent)
    text = head + (f": removed {result.removed} entries, freed {diskcache.gib(result.freed_bytes)}"
                   f", {diskcache.gib(plan.total_bytes - result.freed_bytes)} left") + kept_recent
    kept = result.kept_used + result.kept_open
    if kept:
        text += f"; {kept} kept (in use since planned)"
    if result.errors:
        text += f"; {len(result.errors)} could not be removed ({result.errors[0]})"
    return text


STAMP = re.compile(r"(\d{8}-\d{6})")


def rotation_plan(names: Iterable[str], keep: int) -> list[str]:
    """The names to remove so that only the files of the last `keep` builds are left (a build
    is the YYYYMMDD-HHMMSS stamp in its file names)."""
    by_stamp: dict[str, list[str]] = {}
    for name in names:
        match = STAMP.search(name)
        if match:
            by_stamp.setdefault(match.group(1), []).append(name)
    stamps = sorted(by_stamp)
    old = stamps[:-keep] if keep > 0 else stamps
    return sorted(n for s in old for n in by_stamp[s])


def rotate(logs: Path, keep: int) -> list[str]:
    """Remove the per-build files of all but the last `keep` builds (before a new one starts,
    so `keep - 1` old ones stay beside it)."""
    if keep <= 0 or not logs.is_dir():
        return []
    doomed = rotation_plan(os.listdir(logs), keep - 1)
    for name in doomed:
        path = logs / name
        try:
            if path.is_dir() and not path.is_symlink():  # a raw BEP dir a crash left
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
        except FileNotFoundError:
            pass
    return doomed


def before_build(settings: Settings, source: Path, state: Path) -> None:
    build = settings.build
    rotate(state / "logs", build.keep_builds)
    if build.disk_cache and build.disk_cache_max_gib:
        prune_cache(paths.expand(build.disk_cache), build.disk_cache_max_gib,
                    protected=protected_places(settings, source))


# -- while Bazel runs ----------------------------------------------------------------------------
def low_space_message(path: Path, free: int, floor_mib: int) -> str:
    fs = mount_point(nearest_existing(path))
    return (f"stopped the build before the disk filled: {free / MIB:.0f} MiB left on {fs} "
            f"(the output root {path}), under build.min_free_mib = {floor_mib}")


def low_space_hint(cache: Path | None, cache_on_same_fs: bool) -> str:
    hints = ["free space there (`invoke cache` shows what tfbuild's places hold)",
             "or set build.output_user_root to a larger filesystem"]
    if cache_on_same_fs and cache is not None:
        hints.insert(1, f"prune the disk cache ({cache}) with `invoke cache --gc --max-gib N`")
    return ", ".join(hints) + "; then run `invoke build` again: it continues where it stopped"


class SpaceWatch:
    """Polls free space on one filesystem while a process runs; below the floor it sends the
    process SIGINT, which a Bazel client turns into a clean stop (as Ctrl-C does)."""

    def __init__(self, path: Path, floor_bytes: int, interval_s: float = 1.0,
                 free: Callable[[Path], int] | None = None) -> None:
        self.path = nearest_existing(path)
        self.floor = floor_bytes
        self.interval = interval_s
        self._free = free or (lambda p: shutil.disk_usage(p).free)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.tripped_free: int | None = None

    def start(self, proc: subprocess.Popen) -> None:
        if self.floor <= 0:
            return
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: subprocess.Popen) -> None:
        while not self._stop.wait(self.interval):
            if proc.poll() is not None:
                return
            try:
                free = self._free(self.path)
            except OSError:
                continue
            if free < self.floor:
                self.tripped_free = free
                proc.send_signal(signal.SIGINT)
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


class _Guard:
    def __init__(self, watch: SpaceWatch | None) -> None:
        self.watch = watch

    def start(self, proc: subprocess.Popen) -> None:
        if self.watch:
            self.watch.start(proc)


@contextmanager
def guarded(settings: Settings, source: Path) -> Iterator[_Guard]:
    """Around the Bazel run: the disk cache marked in use (so a concurrent prune keeps what this
    build reads) and free space on the output root watched. Raises OutOfSpace when the watch
    stopped Bazel."""
    build = settings.build
    root = paths.output_user_root(settings)
    cache = paths.expand(build.disk_cache) if build.disk_cache else None
    watch = SpaceWatch(root, build.min_free_mib * MIB) if build.min_free_mib > 0 else None
    with ExitStack() as stack:
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            stack.enter_context(diskcache.registered(cache.resolve()))
        guard = _Guard(watch)
        try:
            yield guard
        finally:
            if watch:
                watch.stop()
        if watch and watch.tripped_free is not None:
            same_fs = cache is not None and filesystem(cache).device == filesystem(root).device
            raise OutOfSpace(low_space_message(root, watch.tripped_free, build.min_free_mib),
                             hint=low_space_hint(cache, same_fs))


def cache(profile_ref: str | None = None, *, source: str | None = None,
          overrides: Iterable[str] = (), gc: bool = False, max_gib: float | None = None,
          dry_run: bool = False) -> int:
    """`invoke cache`: what tfbuild's places hold; --gc prunes the disk cache now (max_gib: the
    --max-gib flag, checked on the command line to be a positive finite number)."""

    profile = resolve(profile_ref, overrides=list(overrides))
    settings = profile.settings
    if (gc or dry_run) and max_gib is None and not settings.build.disk_cache_max_gib:
        raise ConfigError("no size to prune the disk cache to: build.disk_cache_max_gib is 0",
                          hint="pass --max-gib N, or set build.disk_cache_max_gib")
    return cache_command(settings, paths.source_dir(settings, source), gc=gc, max_gib=max_gib,
                         dry_run=dry_run)
