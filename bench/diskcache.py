"""Pruning a disk cache of 100,000 entries (tfbuild.diskcache: scan, plan, remove) against
`find -delete` of the same entries, measured in the same run on copies of one generated cache.

The generated cache has Bazel's layout (ac/ and cas/ with 256 shards of 64-hex names; action
results are small protobuf-like files naming blobs). Half the entries are made old and pruning
is asked for half the size, so both sides remove the same 50,000 files; `find` is given the
list of the old ones by name pattern (their shard directories), as a cron job would use -atime.

    .venv/bin/python bench/diskcache.py [N]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfbuild import diskcache  # noqa: E402

HOUR = 3600 * 10**9


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

        ours = Path(tmp) / "ours"
        shutil.copytree(template, ours)
        start = time.perf_counter()
        result = diskcache.prune(ours, keep)
        t_ours = time.perf_counter() - start

        theirs = Path(tmp) / "theirs"
        shutil.copytree(template, theirs)
        start = time.perf_counter()
        subprocess.run(["find", str(theirs / "ac"), str(theirs / "cas"), "-type", "f",
                        "-path", "*/[0-7]?/*", "-delete"], check=True)
        t_find = time.perf_counter() - start
        left = sum(1 for _ in theirs.rglob("*") if _.is_file())
        print(f"tfbuild prune: removed {result.removed} in {t_ours:.2f} s "
              f"({len(entries) - result.removed} left)")
        print(f"find -delete:  removed {len(entries) - left} in {t_find:.2f} s ({left} left)")
        print(f"ratio tfbuild/find: {t_ours / t_find:.2f}")


if __name__ == "__main__":
    main()
