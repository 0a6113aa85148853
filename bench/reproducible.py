"""What `verify-reproducible` costs beyond its two builds: comparing the artifacts. Two copies of
the real tensorflow-cpu 2.18.1 wheel (219.6 MiB; TF's CUDA wheel is about 600 MB), the second
with members changed (as a wheel carrying its build time), against a baseline measured in the
same run: hashing both files (what comparing SHA256SUMS needs, and the least any byte comparison
reads).

    .venv/bin/python bench/reproducible.py [--wheel PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT))
from tfbuild import archive_diff  # noqa: E402


def altered_copy(wheel: Path, out: Path) -> None:
    """The same wheel with one member's bytes and another's time changed."""
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for index, info in enumerate(src.infolist()):
            data = src.read(info)
            if info.filename.endswith("/__init__.py") and index < 50:
                data += b"# built at 07:25:10\n"
            if index == 1:
                info.date_time = (2026, 12, 6, 7, 25, 10)
            dst.writestr(info, data)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    default = sorted(glob.glob(str(ROOT / ".cache/test-assets/tf-wheel/*.whl")))
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", default=default[0] if default else None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.wheel:
        sys.exit("no wheel: pass --wheel or run scripts/test.sh first")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.whl", Path(tmp) / "b.whl"
        shutil.copyfile(args.wheel, a)
        altered_copy(Path(args.wheel), b)
        sizes = f"{a.stat().st_size / 2**20:.0f} and {b.stat().st_size / 2**20:.0f} MiB"

        def baseline() -> None:
            for path in (a, b):
                digest = hashlib.sha256()
                with open(path, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)

        def ours() -> None:  # what the check does: hash both, then compare the members
            baseline()
            diffs = archive_diff.compare(a, b)
            assert diffs, "the altered copy must differ"

        base = statistics.median(timed(baseline) for _ in range(args.repeat))
        mine = statistics.median(timed(ours) for _ in range(args.repeat))
        members = timed(lambda: archive_diff.compare(a, b))
    print(f"two wheels of {sizes}, median of {args.repeat}")
    print(f"  baseline  sha256 of both files:            {base:6.2f} s")
    print(f"  tfbuild   hash both + compare members:     {mine:6.2f} s  ({mine / base:.2f}x)")
    print(f"            of which the member comparison:  {members:6.2f} s  "
          f"({members / base:.2f}x of the baseline)")


if __name__ == "__main__":
    main()
