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

Only Bazel's exact layout is ever pruned (issue 19): a directory holding anything else, `/`, a
home, the source tree, the state directory or dist is refused as "not a Bazel disk cache" before
anything is deleted; an entry is a regular file named by its digest in its shard, reached through
no symlink and on the cache's filesystem, and is removed through directory descriptors opened
with O_NOFOLLOW, only while it is still the very file scanned.

Planning (what to delete) is pure and separate from the deletion.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tfbuild.errors import ConfigError

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
    dev: int = 0  # the file scanned (deletion checks it is still that file)
    ino: int = 0


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


# -- the layout Bazel writes: what may be called an entry ---------------------------------------
# <root>/{ac,cas}/<first 2 hex digits>/<digest> (checked with Debian's Bazel 4.2.3 and Bazel's
# DiskCacheClient), optionally under a digest-function directory; Bazel's temporary files
# (UUID names, directly in the root, ac/ or cas/, or in tmp/) and its gc/ directory are Bazel's
# and never touched; .tfbuild/ is tfbuild's own (builds registered as using the cache).
DIGEST_DIRS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128, "blake3": 64}
BAZEL_DIRS = ("tmp", "gc")
OURS = ".tfbuild"
_SHARD = re.compile(r"[0-9a-f]{2}\Z")
_TEMP = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                   r"[0-9a-f-]+[-.]te?mp[\w.-]*)\Z")


class NotADiskCache(ConfigError):
    """build.disk_cache names a directory that holds something Bazel's disk cache does not."""


def _foreign(root: Path, item: str, why: str) -> NotADiskCache:
    return NotADiskCache(
        f"build.disk_cache = {root} is not a Bazel disk cache: {item} {why}; nothing was deleted",
        hint="point build.disk_cache at a directory of its own that only Bazel writes (e.g. "
        "~/.cache/bazel-disk-cache), or set build.disk_cache_max_gib = 0 to never prune")


def _lstat_dir(path: str, root: Path, dev: int) -> os.stat_result:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise _foreign(root, path, f"is a symlink (to {os.readlink(path)})")
    if not stat.S_ISDIR(st.st_mode):
        raise _foreign(root, path, "is not a directory")
    if st.st_dev != dev:
        raise _foreign(root, path, "is on another filesystem (a mount point)")
    return st


def _store_dirs(root: Path, dev: int) -> Iterator[tuple[str, Path, int]]:
    """(store, directory, digest length) of every ac/ and cas/ in the root's layout; anything
    at the top that is not Bazel's or tfbuild's is refused."""
    try:
        items = sorted(os.scandir(root), key=lambda d: d.name)
    except FileNotFoundError:
        return
    found: list[tuple[str, Path, int]] = []
    for item in items:
        if item.name in STORES:
            _lstat_dir(item.path, root, dev)
            found.append((item.name, Path(item.path), 64))
        elif item.name in DIGEST_DIRS:
            _lstat_dir(item.path, root, dev)
            for sub in sorted(os.scandir(item.path), key=lambda d: d.name):
                if sub.name not in STORES:
                    raise _foreign(root, sub.path, "is not ac/ or cas/")
                _lstat_dir(sub.path, root, dev)
                found.append((sub.name, Path(sub.path), DIGEST_DIRS[item.name]))
        elif item.name in (*BAZEL_DIRS, OURS):
            _lstat_dir(item.path, root, dev)
        elif _TEMP.match(item.name) and item.is_file(follow_symlinks=False):
            continue
        else:
            raise _foreign(root, item.path, "is not part of Bazel's layout (ac/, cas/, tmp/)")
    yield from found


def check_root(root: Path, protected: Iterable[tuple[str, Path]] = ()) -> Path:
    """The cache directory, resolved, when it may be pruned at all: not `/`, not a home, not
    (inside) the source tree, not the state directory or dist, nor a parent of one of them."""
    real = Path(os.path.realpath(root))
    places = [("the filesystem root", Path("/")), ("a home directory", Path.home()),
              *protected]
    try:
        import pwd

        places += [("a home directory", Path(p.pw_dir)) for p in pwd.getpwall()
                   if p.pw_dir and p.pw_dir not in ("/", "/nonexistent")]
    except (ImportError, KeyError):
        pass
    for what, place in places:
        other = Path(os.path.realpath(place))
        if real == other or real in other.parents:
            raise NotADiskCache(f"build.disk_cache = {root} is {what} ({other}) or holds it: "
                                "tfbuild never prunes there; nothing was deleted",
                                hint="point build.disk_cache at a directory of its own (e.g. "
                                "~/.cache/bazel-disk-cache)")
        if what == "the source tree" and other in real.parents:
            raise NotADiskCache(f"build.disk_cache = {root} is inside the source tree {other}: "
                                "tfbuild never prunes there; nothing was deleted",
                                hint="put the disk cache outside the TensorFlow tree")
    return real


def scan(root: Path, *, refs: bool = True) -> list[Entry]:
    """Every cache entry (`<store>/<2 hex>/<digest>`, a regular file named by its digest in the
    shard of its first two digits, on the root's filesystem, reached through no symlink).
    Anything else in the layout raises NotADiskCache before a single entry is returned, so a
    directory that is not a cache is never pruned. `refs=False` only stats (what a size needs);
    `with_refs` reads the action results later."""
    entries: list[Entry] = []
    try:
        dev = os.stat(root).st_dev
    except FileNotFoundError:
        return entries
    if not os.path.isdir(root):
        raise _foreign(root, str(root), "is not a directory")
    for store, top, length in _store_dirs(root, dev):
        digest = re.compile(r"[0-9a-f]{%d}\Z" % length)
        for shard in sorted(os.scandir(top), key=lambda d: d.name):
            if _TEMP.match(shard.name) and shard.is_file(follow_symlinks=False):
                continue  # Bazel's temporary file
            if not _SHARD.match(shard.name):
                raise _foreign(root, shard.path, "is not a shard directory (two hex digits)")
            _lstat_dir(shard.path, root, dev)
            with os.scandir(shard.path) as it:
                for item in it:
                    try:
                        st = item.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if not (stat.S_ISREG(st.st_mode) and digest.match(item.name)
                            and item.name.startswith(shard.name)):
                        if _TEMP.match(item.name) and stat.S_ISREG(st.st_mode):
                            continue
                        raise _foreign(root, item.path, "is not a cache entry (a regular file "
                                       f"named by its {length}-digit digest)")
                    named = _refs(item.path, st) if refs and store == "ac" else ()
                    entries.append(Entry(item.path, st.st_blocks * 512, recency_ns(st), store,
                                         named, st.st_dev, st.st_ino))
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


def _unlink_entry(entry: Entry, root: Path) -> os.stat_result | None:
    """Remove one scanned entry through directory descriptors opened without following a
    symlink, only if it is still the regular file scanned (same device and inode). Returns its
    stat, or None when it was swapped or moved meanwhile (then nothing is removed)."""
    relative = Path(entry.path).relative_to(root)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for part in relative.parts[:-1]:
            fds.append(os.open(part, flags, dir_fd=fds[-1]))
        st = os.stat(relative.name, dir_fd=fds[-1], follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or (entry.ino and (st.st_dev, st.st_ino) !=
                                            (entry.dev, entry.ino)):
            return None
        if recency_ns(st) > entry.recency_ns:
            return st
        os.unlink(relative.name, dir_fd=fds[-1])
        return st
    finally:
        for fd in fds:
            os.close(fd)


def execute(plan: PrunePlan, root: Path) -> PruneResult:
    """Remove what the plan says, keeping any entry used or opened since it was planned."""
    result = PruneResult(plan)
    busy = open_files_under(root)
    for entry in plan.remove:
        if entry.path in busy:
            result.kept_open += 1
            continue
        try:
            st = _unlink_entry(entry, root)
        except FileNotFoundError:
            result.vanished += 1
            continue
        except OSError as exc:
            result.errors.append(f"{entry.path}: {exc.strerror}")
            continue
        if st is None:
            result.vanished += 1
            continue
        if recency_ns(st) > entry.recency_ns:
            result.kept_used += 1
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
          grace_s: float = GRACE_S, protected: Iterable[tuple[str, Path]] = ()) -> PruneResult:
    """Prune to limit_bytes; raises NotADiskCache (nothing deleted) unless root is a place
    tfbuild may prune (check_root) holding only Bazel's layout (scan)."""
    root = check_root(root, protected)
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
