"""A bounded Bazel disk cache: pruned to a size, least recently used first.

What "recently used" means (measured and read, see the README's "Disk space" section):
- Bazel before 7.0 (the Debian 4.2.3 here, and 6.5) only *reads* an entry on a cache hit: its
  mtime stays the time it was written and only its atime moves (measured here: after `bazel
  clean` a rebuild that was all disk-cache hits left every mtime alone and set the atime of the
  `ac/` entries and of the `cas/` blobs it fetched).
- Bazel 7.0 and later set the mtime of an entry on every hit (DiskCacheClient.refresh).
So an entry's recency is the later of its atime and mtime. With a `relatime` mount (Linux's
default) a read moves the atime only when it is older than the mtime or a day old, so recency
has a one-day resolution; with `noatime` it never moves and, for Bazel < 7, recency is the time
the entry was written.

Safety with a concurrent Bazel on the same cache:
- every `invoke build` registers itself in `<cache>/.tfbuild/users/` (a file it holds an flock
  on while Bazel runs; the kernel drops it when the process ends however it ends);
- while any registered build runs, entries whose recency is after that build's start minus one
  day (relatime's resolution) are kept: anything that build has read since it started is among
  them; entries used within `GRACE_S` are always kept (for a Bazel tfbuild does not know of);
- each file is stat'ed again just before it is removed and kept if it was used meanwhile, and
  files that a process on this machine has open (/proc/*/fd) are kept;
- Bazel's own temporary files (directly in `ac/`, `cas/` or `tmp/`) are never touched.

Planning (what to delete) is pure and separate from the deletion.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

STORES = ("ac", "cas")
USERS = Path(".tfbuild") / "users"
DAY_NS = 24 * 3600 * 10**9
GRACE_S = 3600  # entries used in the last hour are never removed
GIB = 1024**3


@dataclass(frozen=True)
class Entry:
    path: str
    size: int  # bytes allocated on disk
    recency_ns: int  # max(atime, mtime)
    store: str  # "ac" or "cas"
    refs: tuple[str, ...] = ()  # for an action result: the blob digests it names


@dataclass(frozen=True)
class PrunePlan:
    remove: tuple[Entry, ...]
    total_bytes: int
    limit_bytes: int
    protected_bytes: int  # too recent to remove (grace window, running builds)
    protect_after_ns: int

    @property
    def freed_bytes(self) -> int:
        return sum(e.size for e in self.remove)

    @property
    def after_bytes(self) -> int:
        return self.total_bytes - self.freed_bytes


@dataclass
class PruneResult:
    plan: PrunePlan
    removed: int = 0
    freed_bytes: int = 0
    kept_used: int = 0  # used (or opened) between planning and removal
    kept_open: int = 0
    vanished: int = 0
    errors: list[str] = field(default_factory=list)


def recency_ns(st: os.stat_result) -> int:
    return max(st.st_atime_ns, st.st_mtime_ns)


def _store_dirs(root: Path) -> Iterator[tuple[str, Path]]:
    """ac/ and cas/ at the root, and under a digest-function directory (Bazel 7: sha256/ac)."""
    for store in STORES:
        yield store, root / store
    try:
        subdirs = [d for d in os.scandir(root) if d.is_dir(follow_symlinks=False)
                   and d.name not in (*STORES, "tmp", ".tfbuild")]
    except FileNotFoundError:
        return
    for sub in subdirs:
        for store in STORES:
            path = Path(sub.path) / store
            if path.is_dir():
                yield store, path


def scan(root: Path, *, refs: bool = True) -> list[Entry]:
    """Every cache entry (`<store>/<2 hex>/<digest>`); temporary files are left out.
    `refs=False` only stats (what a size needs); `with_refs` reads the action results later."""
    entries: list[Entry] = []
    for store, top in _store_dirs(root):
        try:
            shards = [d.path for d in os.scandir(top) if d.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            continue
        for shard in shards:
            try:
                with os.scandir(shard) as it:
                    for item in it:
                        try:
                            st = item.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue
                        if item.is_file(follow_symlinks=False):
                            named = _refs(item.path, st) if refs and store == "ac" else ()
                            entries.append(Entry(item.path, st.st_blocks * 512,
                                                 recency_ns(st), store, named))
            except FileNotFoundError:
                continue
    return entries


def with_refs(entries: Iterable[Entry]) -> list[Entry]:
    out = []
    for e in entries:
        if e.store == "ac" and not e.refs:
            try:
                e = dataclasses.replace(e, refs=_refs(e.path, os.stat(e.path)))
            except OSError:
                pass
        out.append(e)
    return out


HASH = re.compile(rb"[0-9a-f]{64}")


def _refs(path: str, st: os.stat_result) -> tuple[str, ...]:
    """The sha256 digests an action result (a small protobuf) names: its output files, stdout,
    stderr and output-directory trees. A Bazel before 7 does not refresh a blob it stores again,
    so a blob counts as used as recently as the newest action result naming it.
    Read without moving the atime (O_NOATIME; else the atime is put back), or reading would
    make every action result look just used."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    restore = False
    try:
        try:
            fd = os.open(path, flags)
        except PermissionError:  # O_NOATIME needs the file's owner
            fd = os.open(path, os.O_RDONLY)
            restore = True
        try:
            data = os.read(fd, 1 << 20)
        finally:
            os.close(fd)
        if restore:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError:
        return ()
    return tuple(m.decode() for m in HASH.findall(data))


def effective_recency(entries: Iterable[Entry]) -> dict[str, int]:
    """path -> recency, a blob's raised to that of the newest action result naming it."""
    named: dict[str, int] = {}
    for e in entries:
        if e.store == "ac":
            for h in e.refs:
                if named.get(h, -1) < e.recency_ns:
                    named[h] = e.recency_ns
    return {e.path: max(e.recency_ns, named.get(os.path.basename(e.path), -1))
            if e.store == "cas" else e.recency_ns for e in entries}


def protect_after(now_ns: int, running_starts_ns: Iterable[int], grace_s: float = GRACE_S) -> int:
    """Entries with recency at or after this are kept."""
    horizon = now_ns - int(grace_s * 10**9)
    for start in running_starts_ns:
        horizon = min(horizon, start - DAY_NS)
    return horizon


def plan_prune(entries: Iterable[Entry], limit_bytes: int, protect_after_ns: int) -> PrunePlan:
    """Least recently used first (action results before blobs of the same age, and a blob
    never older than the newest action result naming it, so no action result is left pointing
    at a removed blob), until what is left fits in limit_bytes."""
    entries = list(entries)
    recency = effective_recency(entries)
    ordered = sorted(entries, key=lambda e: (recency[e.path], e.store != "ac", e.path))
    total = sum(e.size for e in ordered)
    excess = total - limit_bytes
    remove: list[Entry] = []
    protected = 0
    for entry in ordered:
        if recency[entry.path] >= protect_after_ns:
            protected += entry.size
            continue
        if excess <= 0:
            continue
        remove.append(entry)
        excess -= entry.size
    return PrunePlan(tuple(remove), total, limit_bytes, protected, protect_after_ns)


def open_files_under(root: Path) -> set[str]:
    """Files under root that a process on this machine has open (those we may read)."""
    prefixes = tuple({str(root) + os.sep, str(root.resolve()) + os.sep})
    found: set[str] = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith(prefixes):
                found.add(target)
    return found


def execute(plan: PrunePlan, root: Path) -> PruneResult:
    """Remove what the plan says, keeping any entry used or opened since it was planned."""
    result = PruneResult(plan)
    busy = open_files_under(root)
    for entry in plan.remove:
        if entry.path in busy:
            result.kept_open += 1
            continue
        try:
            st = os.stat(entry.path, follow_symlinks=False)
            if recency_ns(st) > entry.recency_ns:
                result.kept_used += 1
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            result.vanished += 1
            continue
        except OSError as exc:
            result.errors.append(f"{entry.path}: {exc.strerror}")
            continue
        result.removed += 1
        result.freed_bytes += st.st_blocks * 512
    return result


# -- builds using the cache ----------------------------------------------------------------------
@contextmanager
def registered(root: Path, started_ns: int | None = None) -> Iterator[Path]:
    """Mark a build as using the cache until the block ends (or the process dies)."""
    users = root / USERS
    users.mkdir(parents=True, exist_ok=True)
    path = users / f"{os.getpid()}-{time.monotonic_ns()}.json"
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps({"pid": os.getpid(),
                                 "started_ns": started_ns or time.time_ns()}))
        handle.flush()
        yield path
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        handle.close()


def running_builds(root: Path) -> list[dict]:
    """The registered builds still running ({pid, started_ns}); stale records are removed."""
    users = root / USERS
    found = []
    try:
        names = sorted(os.listdir(users))
    except FileNotFoundError:
        return found
    for name in names:
        path = users / name
        try:
            handle = open(path)
        except FileNotFoundError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    found.append(json.loads(handle.read() or "{}"))
                except ValueError:
                    found.append({"pid": None, "started_ns": time.time_ns()})
                continue
            try:  # nobody holds it: its build ended without cleaning up
                path.unlink()
            except FileNotFoundError:
                pass
    return found


def prune(root: Path, limit_bytes: int, *, dry_run: bool = False,
          grace_s: float = GRACE_S) -> PruneResult:
    root = root.resolve()
    running = running_builds(root)
    horizon = protect_after(time.time_ns(), [r.get("started_ns") or time.time_ns()
                                             for r in running], grace_s)
    entries = scan(root, refs=False)
    if sum(e.size for e in entries) > limit_bytes:  # over: read the action results to plan
        entries = with_refs(entries)
    plan = plan_prune(entries, limit_bytes, horizon)
    if dry_run:
        return PruneResult(plan)
    return execute(plan, root)


def gib(n: int) -> str:
    if n >= GIB / 100:
        return f"{n / GIB:.2f} GiB"
    return f"{n / 1024**2:.2f} MiB" if n >= 1024**2 else f"{n / 1024:.0f} KiB"
