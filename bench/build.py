"""Build figures, each against a baseline measured in the same run:

1. `invoke build` when nothing changed, against raw `bazel build` with the same flags, on the
   tests' TF-shaped workspace (Debian's Bazel 4.2.3): what tfbuild's doctor, configure, patch,
   collection and manifest add to a no-op build.
2. The log pipeline (tfbuild.build.progress.LogPipeline) in lines per second on a large
   synthetic Bazel log, in-process and end to end through the runner reading `cat`'s pipe,
   against a bare read-and-write loop and against `cat` alone. It must keep up with any Bazel
   output: at least 500k lines/s.

    .venv/bin/python bench/build.py [--lines 2000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import INVOKE, ROOT, report, time_command  # noqa: E402

from tests.helpers.profiles import local_bazel_profile  # noqa: E402
from tfbuild.build.progress import LogPipeline  # noqa: E402
from tfbuild.runner import Runner  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "tfshaped"


def synthetic_log(path: Path, lines: int) -> None:
    rng = random.Random(0)
    kinds = [
        "[{a:,} / {b:,}] Compiling tensorflow/core/kernels/op_{n}.cc; {s}s local ... ({j} actions running)\n",
        "  /usr/lib/llvm-17/bin/clang -U_FORTIFY_SOURCE -fstack-protector -Wall -Wthread-safety "
        "-fno-omit-frame-pointer -g0 -O2 -DNDEBUG -ffunction-sections -fdata-sections -MD -MF "
        "bazel-out/k8-opt/bin/tensorflow/core/kernels/_objs/op_{n}.d -c tensorflow/core/kernels/op_{n}.cc\n",
        "tensorflow/core/kernels/op_{n}.cc:{s}:10: warning: unused variable 'x' [-Wunused-variable]\n",
        "INFO: From Compiling tensorflow/core/kernels/op_{n}.cc:\n",
        "external/eigen_archive/Eigen/src/Core/util/Meta.h:{s}: note: in instantiation of template\n",
    ]
    with open(path, "w") as out:
        for i in range(lines):
            out.write(rng.choice(kinds).format(a=i, b=lines, n=i % 997, s=i % 300, j=16))


def pipeline_rate(log_file: Path, repeat: int) -> tuple[float, float]:
    lines = log_file.read_text().splitlines(keepends=True)
    best_pipe = best_base = float("inf")
    for _ in range(repeat):
        with open(os.devnull, "w") as sink:
            start = time.perf_counter()
            pipe = LogPipeline(sink)
            for block in range(0, len(lines), 512):  # as reads from a pipe deliver them
                pipe.feed_text("".join(lines[block:block + 512]))
            best_pipe = min(best_pipe, time.perf_counter() - start)
            start = time.perf_counter()
            for line in lines:
                sink.write(line)
            best_base = min(best_base, time.perf_counter() - start)
    return len(lines) / best_pipe, len(lines) / best_base


def end_to_end_rate(log_file: Path, count: int, repeat: int) -> tuple[float, float]:
    best_stream = best_cat = float("inf")
    for _ in range(repeat):
        with open(os.devnull, "w") as sink:
            pipe = LogPipeline(sink)
            start = time.perf_counter()
            Runner(echo=False).stream(["cat", str(log_file)], on_text=pipe.feed_text)
            best_stream = min(best_stream, time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["cat", str(log_file)], stdout=subprocess.DEVNULL, check=True)
        best_cat = min(best_cat, time.perf_counter() - start)
    return count / best_stream, count / best_cat


def noop_build(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-"))
    try:
        ws = work / "tensorflow"
        shutil.copytree(FIXTURE, ws, symlinks=True)
        root = work / "bazel-root"
        profile = Path(local_bazel_profile(work / "bench.toml", output_root=root,
                                           dist=work / "dist"))
        env = {**os.environ, "TFBUILD_STATE_DIR": str(work / "state"), "TFBUILD_COLOR": "0"}
        argv = [*INVOKE, "build", "--profile", str(profile), "--source", str(ws)]
        subprocess.run(argv, env=env, check=True, capture_output=True)  # the real build
        manifest = (work / "dist" / "bench" / "manifest.json").read_text()
        import json

        bazel_argv = json.loads(manifest)["bazel"]["argv"]
        bazel_env = {**os.environ, **json.loads(manifest)["bazel"]["environment"]}
        tfbuild_times = time_command(argv, repeat, env=env)
        bazel_times = time_command(bazel_argv, repeat, env=bazel_env, cwd=ws)
        report("invoke build (no-op)", tfbuild_times, "raw bazel build (no-op)", bazel_times)
        subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={root}", "shutdown"], cwd=ws,
                       capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-bazel", action="store_true")
    args = parser.parse_args()
    if not args.skip_bazel:
        noop_build(args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        log_file = Path(tmp) / "bazel.log"
        synthetic_log(log_file, args.lines)
        rate, base = pipeline_rate(log_file, args.repeat)
        print(f"{'log pipeline, in process':<40} {rate:12,.0f} lines/s   read+write loop: "
              f"{base:12,.0f} lines/s   ratio {rate / base:5.2f}x")
        rate_e2e, cat = end_to_end_rate(log_file, args.lines, args.repeat)
        print(f"{'log pipeline, runner reading cat':<40} {rate_e2e:12,.0f} lines/s   cat alone: "
              f"{cat:12,.0f} lines/s   ratio {rate_e2e / cat:5.2f}x")
        verdict = "yes" if min(rate, rate_e2e) >= 500_000 else "NO"
        print(f"keeps up with 500k lines/s: {verdict}")


if __name__ == "__main__":
    main()
