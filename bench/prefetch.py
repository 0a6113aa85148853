"""Prefetch figures against baselines measured in the same run, from nginx on loopback:

1. `invoke prefetch` throughput (MB/s, including sha256 checks) against plain `curl` fetching
   the same files from the same server, one after the other.
2. The time a second prefetch takes when everything is already there (hashing only), against
   `sha256sum` of the same files.

    .venv/bin/python bench/prefetch.py [--files 8] [--mib 32]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import INVOKE  # noqa: E402

from tests.helpers.nginx import Nginx  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mib", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-prefetch-"))
    server = Nginx(work / "nginx").start()
    try:
        tree = work / "tensorflow"
        (tree / "third_party").mkdir(parents=True)
        (tree / "WORKSPACE").write_text("")
        lines, total = ["def archives():"], 0
        for i in range(args.files):
            data = os.urandom(args.mib << 20)
            total += len(data)
            (work / "nginx" / "cache" / f"f{i}.tar.gz").write_bytes(data)
            lines.append(f'    http_archive(name = "f{i}", sha256 = "{hashlib.sha256(data).hexdigest()}", '
                         f'urls = ["{server.url}/f{i}.tar.gz"])')
        (tree / "third_party" / "archives.bzl").write_text("\n".join(lines) + "\n")
        env = {**os.environ, "TFBUILD_STATE_DIR": str(work / "state"), "TFBUILD_COLOR": "0"}
        argv = [*INVOKE, "prefetch", "--profile", "cpu", "--source", str(tree),
                "--distdir", str(work / "distdir"), "--no-bazel"]  # downloads only

        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        prefetch_s = time.perf_counter() - start
        curl_dir = work / "curl"
        curl_dir.mkdir()
        start = time.perf_counter()
        for i in range(args.files):
            subprocess.run(["curl", "-sSf", "-o", str(curl_dir / f"f{i}"),
                            f"{server.url}/f{i}.tar.gz"], check=True)
        curl_s = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        again_s = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(["sha256sum", *map(str, sorted((work / "distdir").glob("*")))],
                       check=True, capture_output=True)
        sums_s = time.perf_counter() - start

        mb = total / 1e6
        print(f"{'invoke prefetch (fetch + verify)':<40} {mb / prefetch_s:8.0f} MB/s   "
              f"curl, same files: {mb / curl_s:8.0f} MB/s   ratio {curl_s / prefetch_s:5.2f}x")
        print(f"{'second prefetch (all there)':<40} {again_s:8.2f} s      "
              f"sha256sum, same files: {sums_s:6.2f} s   ratio {again_s / sums_s:5.2f}x")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
