"""Build figures, each against a baseline measured in the same run:

1. `invoke build` when nothing changed, against raw `bazel build` with the same flags, on the
   tests' TF-shaped workspace (Debian's Bazel 4.2.3): what tfbuild's doctor, configure, patch,
   collection and manifest add to a no-op build (goal: at most 0.3 s added); and raw
   `bazel build` with the build account's files (BEP and profile) against the same
   without them.
1b. Team caches, with nginx on loopback: actions executed when the same user rebuilds from a
   shell with another PATH, LD_LIBRARY_PATH, PYTHONPATH and TMPDIR (goal 0), and the remote
   cache hit rate of a second Unix user with its own HOME, checkout, output root, state dir,
   venv and PATH (goal 100%).
1c. Remote execution: a clean build of the same workspace with every action on Bazel's own
   REAPI remote worker on loopback (tests/helpers/remote_worker.py) against a clean local build,
   each from an empty output root (and, for remote, an empty worker CAS): on one machine the
   remote path only adds overhead (staging inputs through the CAS, gRPC, the worker's own
   process); the figure says how much, per action.
2. The log pipeline (tfbuild.building.progress.LogPipeline) in lines per second on a large
   synthetic Bazel log, in-process and end to end through the runner reading `cat`'s pipe,
   against a bare read-and-write loop and against `cat` alone. It must keep up with any Bazel
   output: at least 500k lines/s.

    .venv/bin/python bench/build.py [--lines 2000000] [--repeat 5] [--only-noop | --only-remote]
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

from tests.helpers.profiles import (local_bazel_profile,  # noqa: E402
                                    team_profile)
from tfbuild.building.progress import LogPipeline  # noqa: E402
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
        # Bytecode cached, as on a user's machine: the real build writes it, the timed runs
        # read it (a shell with PYTHONDONTWRITEBYTECODE would time the compiler instead).
        env = {**os.environ, "TFBUILD_STATE_DIR": str(work / "state"), "TFBUILD_COLOR": "0"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        argv = [*INVOKE, "build", "--profile", str(profile), "--source", str(ws)]
        subprocess.run(argv, env=env, check=True, capture_output=True)  # the real build
        manifest = (work / "dist" / "bench" / "manifest.json").read_text()
        import json

        bazel_argv = json.loads(manifest)["bazel"]["argv"]
        recorded = json.loads(manifest)["bazel"]
        bazel_env = {**os.environ, **recorded["environment"]}
        for name in recorded.get("unset_environment", []):
            bazel_env.pop(name, None)
        tfbuild_times = time_command(argv, repeat, env=env)
        bazel_times = time_command(bazel_argv, repeat, env=bazel_env, cwd=ws)
        report("invoke build (no-op)", tfbuild_times, "raw bazel build (no-op)", bazel_times)
        import statistics

        added = statistics.median(tfbuild_times) - statistics.median(bazel_times)
        print(f"{'  added by tfbuild':<40} {added * 1000:8.1f} ms   (goal: at most 300 ms)")
        account_times = time_command(_with_account_files(bazel_argv, work), repeat,
                                     env=bazel_env, cwd=ws)
        report("raw bazel + BEP and profile (no-op)", account_times, "raw bazel build (no-op)",
               bazel_times)
        subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={root}", "shutdown"], cwd=ws,
                       capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)




def _kinds(dist: Path) -> dict:
    import json

    return json.loads((dist / "manifest.json").read_text())["run"]["bazel_summary"]["process_kinds"]


def _executed(kinds: dict) -> int:
    return sum(n for kind, n in kinds.items() if kind not in ("internal", "remote cache hit",
                                                              "disk cache hit"))


def team_cache() -> None:
    """A second shell and a second Unix user building the same team profile: actions executed
    after the shell changed (goal 0), the second user's remote-hit rate (goal 100%)."""
    from tests.helpers import users
    from tests.helpers.nginx import Nginx

    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-team-", dir="/tmp"))
    os.chmod(work, 0o755)  # the second user enters its own folder below
    server = Nginx(work / "nginx").start()
    try:
        profile = work / "team.toml"
        profile.write_text(team_profile(server.url))
        ann_src = work / "ann-checkout" / "tensorflow"
        shutil.copytree(FIXTURE, ann_src, symlinks=True)
        ann = {**os.environ, **users.shell(work, "ann"), "TFBUILD_COLOR": "0"}
        argv = [*INVOKE, "build", "--profile", str(profile), "--source", str(ann_src)]
        subprocess.run(argv, env=ann, check=True, capture_output=True)
        first = _kinds(Path(ann["TFBUILD_BUILD_DIST_DIR"]) / "team")
        other_shell = {**ann, "PATH": f"{work / 'venv-b' / 'bin'}:{ann['PATH']}",
                       "LD_LIBRARY_PATH": str(work / "lib"), "PYTHONPATH": str(work / "py"),
                       "TMPDIR": str(work)}
        subprocess.run(argv, env=other_shell, check=True, capture_output=True)
        after_shell = _kinds(Path(ann["TFBUILD_BUILD_DIST_DIR"]) / "team")
        print(f"{'actions executed after a shell change':<40} {_executed(after_shell):8d}   "
              f"first build: {_executed(first):8d} executed   (goal 0)")
        if not users.AVAILABLE:
            print(f"second user: skipped ({users.WHY_NOT})")
            return
        user2 = work / "user2"
        bob = users.shell(user2, "bob")
        bob_src = user2 / "bob" / "work" / "tf"
        shutil.copytree(FIXTURE, bob_src, symlinks=True)
        shutil.copy(profile, user2 / "team.toml")
        venv = users.second_user_venv(user2)
        bob["PATH"] = f"{venv / 'bin'}:{bob['PATH']}"
        users.hand_over(user2)
        proc = users.invoke_as_second_user(["build", "--profile", str(user2 / "team.toml"),
                                            "--source", str(bob_src)], bob, venv)
        if proc.returncode != 0:
            print(f"second user's build failed:\n{proc.stderr[-2000:]}")
            return
        kinds = _kinds(Path(bob["TFBUILD_BUILD_DIST_DIR"]) / "team")
        hits = kinds.get("remote cache hit", 0)
        total = hits + _executed(kinds)
        print(f"{'second user: remote cache hits':<40} {hits:8d} of {total} actions   "
              f"rate {hits / max(total, 1):6.1%}   first user executed {_executed(first)}   "
              "(goal 100%)")
        subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={bob['TFBUILD_BUILD_OUTPUT_USER_ROOT']}",
                        "shutdown"], cwd=bob_src, capture_output=True)
    finally:
        server.stop()
        subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={work / 'ann' / 'root'}",
                        "shutdown"], cwd=work / "ann-checkout" / "tensorflow", capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _with_account_files(argv: list[str], work: Path) -> list[str]:
    """The recorded Bazel command plus the build account's output flags, as invoke build adds
    them (after the command name)."""
    at = argv.index("build") + 1
    return [*argv[:at], f"--build_event_json_file={work / 'bench.bep.json'}",
            f"--profile={work / 'bench.profile.json.gz'}", *argv[at:]]


def remote_vs_local(repeat: int) -> None:
    from tests.helpers.remote_worker import RemoteWorker

    work = Path(tempfile.mkdtemp(prefix="tfbuild-bench-remote-"))
    local_times, remote_times, actions = [], [], 0
    try:
        for run in range(repeat):
            for kind in ("local", "remote"):
                base = work / f"{kind}-{run}"
                ws = base / "tensorflow"
                shutil.copytree(FIXTURE, ws, symlinks=True)
                worker = RemoteWorker(base / "worker").start() if kind == "remote" else None
                extra = f'[remote]\nexecutor = "{worker.url}"\n' if worker else ""
                profile = local_bazel_profile(base / "p.toml", output_root=base / "root",
                                              dist=base / "dist", extra=extra)
                env = {**os.environ, "TFBUILD_STATE_DIR": str(base / "state"), "TFBUILD_COLOR": "0"}
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                argv = [*INVOKE, "build", "--profile", profile, "--source", str(ws)]
                try:
                    start = time.perf_counter()
                    subprocess.run(argv, env=env, check=True, capture_output=True)
                    (remote_times if worker else local_times).append(time.perf_counter() - start)
                    if worker:
                        import json

                        actions = json.loads((base / "dist" / "p" / "manifest.json").read_text())[
                            "run"]["account"]["actions"]["executed_remotely"]
                finally:
                    subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={base / 'root'}",
                                    "shutdown"], cwd=ws, capture_output=True)
                    if worker:
                        worker.stop()
        report("clean build, every action remote", remote_times, "clean build, local",
               local_times)
        import statistics

        added = statistics.median(remote_times) - statistics.median(local_times)
        print(f"{'  remote overhead per action':<40} {added / max(actions, 1) * 1000:8.1f} ms   "
              f"({actions} actions ran on the worker)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-bazel", action="store_true")
    parser.add_argument("--only-noop", action="store_true", help="figure 1 only")
    parser.add_argument("--only-remote", action="store_true", help="figure 1c only")
    args = parser.parse_args()
    if args.only_noop:
        noop_build(args.repeat)
        return
    if args.only_remote:
        remote_vs_local(args.repeat)
        return
    if not args.skip_bazel:
        noop_build(args.repeat)
        team_cache()
        remote_vs_local(max(1, args.repeat // 2))
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
