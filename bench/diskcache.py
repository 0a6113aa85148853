"""Pruning a disk cache of 100,000 entries (tfbuild.diskcache: scan, plan, remove) against
`find -delete` of the same entries, measured in the same run on identical generated caches.

The generated cache has Bazel's layout (ac/ and cas/ with 256 shards of 64-hex names; action
results are small protobuf-like files naming blobs). Half the entries are made old and pruning
is asked for half the size, so both sides remove the same 50,000 files; `find` picks the old
ones by path pattern (their shard directories), as a cron job would by -atime. Each side gets
a freshly generated cache (a copy would read the files and refresh their atimes).

    .venv/bin/python bench/diskcache.py [N]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfbuild import diskcache  # noqa: E402

HOUR = 3600 * 10**9
REPEAT = int(os.environ.get("BENCH_REPEAT", "4"))


def make_cache(root: Path, n: int) -> None:
    old = time.time_ns() - 48 * HOUR
    for i in range(n):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        store = "ac" if i % 4 == 0 else "cas"
        # old entries: those in shards 00-7f, so `find` can pick the same files by path
        path = root / store / digest[:2] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x0a\x44" + hashlib.sha256(digest.encode()).hexdigest().encode()
                         if store == "ac" else b"x" * 100)
        if digest[0] < "8":
            os.utime(path, ns=(old, old))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        template = Path(tmp) / "template"
        make_cache(template, n)
        entries = diskcache.scan(template)
        old = [e for e in entries if os.path.basename(e.path)[0] < "8"]
        keep = sum(e.size for e in entries) - sum(e.size for e in old)
        print(f"{len(entries)} entries, {len(old)} old; limit = the size of the recent ones")

        # what every build pays when the cache is under its limit: a stat-only scan, against
        # `du -s` of the same tree
        t_scan = min(_timed(lambda: diskcache.scan(template, refs=False)) for _ in range(3))
        t_du = min(_timed(lambda: subprocess.run(["du", "-s", str(template)], check=True,
                                                 capture_output=True)) for _ in range(3))
        print(f"under-limit check (stat-only scan) {t_scan:.2f} s, du -s {t_du:.2f} s, "
              f"ratio {t_scan / t_du:.2f}")
        ratios = []
        for rep in range(REPEAT):
            # alternate which side runs first: this machine is shared and its page cache warm
            sides = [("tfbuild", _ours), ("find", _find)]
            times = {}
            for name, fn in (sides if rep % 2 == 0 else sides[::-1]):
                copy = Path(tmp) / f"{name}-{rep}"
                make_cache(copy, n)  # not a copy: reading the template would refresh atimes
                times[name], removed, left = fn(copy, keep)
                print(f"run {rep + 1} {name:8} removed {removed} in {times[name]:.2f} s "
                      f"({left} left)")
                shutil.rmtree(copy)
            ratios.append(times["tfbuild"] / times["find"])
        if not ratios:
            return
        print("ratio tfbuild/find per run: " + ", ".join(f"{r:.2f}" for r in ratios)
              + f"; median {statistics.median(ratios):.2f}")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _ours(root: Path, keep: int) -> tuple[float, int, int]:
    start = time.perf_counter()
    result = diskcache.prune(root, keep)
    elapsed = time.perf_counter() - start
    return elapsed, result.removed, len(diskcache.scan(root))


def _find(root: Path, keep: int) -> tuple[float, int, int]:
    before = len(diskcache.scan(root))
    start = time.perf_counter()
    subprocess.run(["find", str(root / "ac"), str(root / "cas"), "-type", "f",
                    "-path", "*/[0-7]?/*", "-delete"], check=True)
    elapsed = time.perf_counter() - start
    left = len(diskcache.scan(root))
    return elapsed, before - left, left


if __name__ == "__main__":
    main()
