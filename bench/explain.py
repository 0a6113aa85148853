"""Execution-log figures, each against a baseline measured in the same run:

1. `invoke explain` on a synthetic pair of execution logs with N actions each (default 100,000;
   20 inputs per action from a pool of shared headers, one header changed in B), against
   Bazel's documented way to compare two logs: normalise both with `jq -S -c` and `diff` them.
   Wall time and peak memory (RSS) of each; explain holds one log as an index and streams the
   other, so its memory should stay proportional to one log.
2. What keeping the execution log costs a build: clean `invoke build`s of the tests'
   TF-shaped workspace (Debian's Bazel 4.2.3) with `build.execution_log = true` against the
   same with `false`, and the kept log's size.

    .venv/bin/python bench/explain.py [--actions 100000] [--repeat 3] [--skip-bazel]
"""

from __future__ import annotations

import argparse
import json
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
from common import INVOKE, report  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tfshaped"


def synthetic_log(path: Path, actions: int, changed_header: str | None, seed: int = 7) -> None:
    rng = random.Random(seed)
    headers = [f"tensorflow/core/h{i}.h" for i in range(5000)]
    env = [{"name": "PATH", "value": "/usr/lib/llvm-17/bin:/usr/bin:/bin"},
           {"name": "LD_LIBRARY_PATH", "value": "/opt/cuda/lib64:/opt/cudnn/lib"}]
    with open(path, "w") as out:
        for n in range(actions):
            obj = f"bazel-out/k8-opt/bin/tensorflow/_objs/x/f{n}.o"
            inputs = [f"tensorflow/core/f{n}.cc", *rng.sample(headers, 19)]
            spawn = {
                "commandArgs": ["/usr/lib/llvm-17/bin/clang", "-O2", "-c", inputs[0], "-o", obj],
                "environmentVariables": env,
                "inputs": [{"path": p, "digest": {"hash": ("changed" if p == changed_header else "")
                                                  + f"{hash(p) & 0xFFFFFFFF:064x}",
                                                  "sizeBytes": 100}} for p in sorted(inputs)],
                "listedOutputs": [obj], "remotable": True, "cacheable": True,
                "mnemonic": "CppCompile", "runner": "remote cache hit",
                "remoteCacheHit": True, "status": "", "exitCode": 0}
            out.write(json.dumps(spawn, separators=(",", ":")) + "\n")


def timed(argv: list[str], **kwargs) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one command, from /usr/bin/time."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], stderr=subprocess.PIPE,
                          text=True, **kwargs)
    seconds, kib = proc.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def explain_vs_jq(actions: int, repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-explain-"))
    try:
        a, b = work / "a.json", work / "b.json"
        synthetic_log(a, actions, None)
        synthetic_log(b, actions, "tensorflow/core/h42.h")
        size = a.stat().st_size / 2**20
        print(f"synthetic logs: {actions} actions each, {size:.0f} MiB of JSON each")
        ours, base, ours_rss, base_rss = [], [], 0.0, 0.0
        env = {**os.environ, "TFBUILD_COLOR": "0"}
        for _ in range(repeat):
            seconds, rss = timed([*INVOKE, "explain", str(a), str(b), "--json"], env=env)
            ours.append(seconds)
            ours_rss = max(ours_rss, rss)
            start = time.perf_counter()
            peak = 0.0
            for src in (a, b):
                with open(work / (src.name + ".sorted"), "w") as out:
                    _, rss = timed(["jq", "-S", "-c", ".", str(src)], stdout=out)
                peak = max(peak, rss)
            _, rss = timed(["diff", str(work / "a.json.sorted"), str(work / "b.json.sorted")])
            base.append(time.perf_counter() - start)
            base_rss = max(base_rss, peak, rss)
        report("invoke explain (causes, reach)", ours, "jq -S + diff", base)
        print(f"{'  peak memory':<40} {ours_rss:8.0f} MiB   jq/diff: {base_rss:8.0f} MiB   "
              f"one log: {size:.0f} MiB   ratio to one log {ours_rss / size:5.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_cost(repeat: int) -> None:
    from tests.helpers.profiles import local_bazel_profile

    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-execlog-"))
    times: dict[bool, list[float]] = {True: [], False: []}
    kept = 0
    try:
        for run in range(repeat):
            for keep in (False, True):
                base = work / f"{keep}-{run}"
                ws = base / "tensorflow"
                shutil.copytree(FIXTURE, ws, symlinks=True)
                profile = local_bazel_profile(base / "p.toml", output_root=base / "root",
                                              dist=base / "dist")
                env = {**os.environ, "TFBUILD_STATE_DIR": str(base / "state"), "TFBUILD_COLOR": "0"}
                argv = [*INVOKE, "build", "--profile", profile, "--source", str(ws), "--set",
                        f"build.execution_log={'true' if keep else 'false'}"]
                try:
                    start = time.perf_counter()
                    subprocess.run(argv, env=env, check=True, capture_output=True)
                    times[keep].append(time.perf_counter() - start)
                    if keep:
                        kept = sum(p.stat().st_size for p in (base / "state").rglob("*.exec.json.gz"))
                finally:
                    subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={base / 'root'}",
                                    "shutdown"], cwd=ws, capture_output=True)
        report("clean build, execution log kept", times[True], "without it", times[False])
        print(f"{'  kept log':<40} {kept / 1024:8.1f} KiB (7 actions)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-bazel", action="store_true")
    args = parser.parse_args()
    explain_vs_jq(args.actions, args.repeat)
    if not args.skip_bazel:
        build_cost(args.repeat)


if __name__ == "__main__":
    main()
