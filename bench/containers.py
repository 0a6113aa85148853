"""What the container build environment costs, each figure against a baseline measured in the
same run (real podman, on loopback engines started as the image tests start them):

1. A clean build of the tests' TF-shaped tree inside the image (`invoke build --in-docker`,
   a fresh cache volume each time: Bazel's server starts inside) against the same clean build
   on the host (a fresh output root each time, the host's clang 16 and Bazel 4.2.3: the image's
   toolchain is Debian bookworm's same versions). Goal: within 1.2x.
2. Rebuilding the image with nothing changed (`invoke docker-build`: every layer reused)
   against starting a container in it (`podman run --rm IMAGE true`).

    .venv/bin/python bench/containers.py [--repeat 3]

Needs what scripts/test.sh installs (podman, runc, dockerd, docker-registry, debootstrap); the
first run builds the bookworm base and the image (minutes), later runs reuse .cache/containers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import INVOKE, ROOT  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.helpers import containers  # noqa: E402
from tests.helpers.profiles import local_bazel_profile  # noqa: E402
from tests.helpers.checkout import committed_fixture  # noqa: E402

SUITE = "bookworm"
IMAGE = "tfbuild-bench/cpu"


def run(argv: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True,
                          **kwargs)
    if proc.returncode:
        sys.exit(f"{' '.join(argv[:6])} ... failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                 f"\n{proc.stderr[-2000:]}")
    return proc


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache") as tmp:
        work = Path(tmp)
        engines = containers.start(work / "engines")
        try:
            base = containers.base_image(engines, containers.debian_mirror(), SUITE)
            sets = [f"docker.base_image={base}",
                    f'docker.apt_sources=["deb {containers.debian_mirror()} {SUITE} main"]',
                    "docker.ca_certificates=" + json.dumps([str(p) for p in containers.CAS]),
                    f"docker.image={IMAGE}", "docker.python=3.11", "docker.engine=podman",
                    "toolchain.clang_major=16", "toolchain.python_version=",
                    "toolchain.bazel_version=4.2.3"]
            sets = [a for v in sets for a in ("--set", v)]
            env = {**engines.podman_env, "XDG_CACHE_HOME": str(work / "xdg"),
                   "TFBUILD_STATE_DIR": str(work / "state")}
            build_image = [*INVOKE, "docker-build", "--profile", "cpu-trixie", *sets]
            run(build_image, env)  # the first build (or the cache of an earlier run)
            source = committed_fixture(work / "tensorflow")

            rebuild = [timed(lambda: run(build_image, env)) for _ in range(args.repeat)]
            start = [timed(lambda: run(["podman", "run", "--rm", IMAGE, "true"], env))
                     for _ in range(args.repeat)]
            last = run(build_image, env).stdout
            steps = sum(1 for line in last.splitlines() if line.startswith("STEP "))
            cached = last.count("--> Using cache")

            def in_container(n: int) -> None:
                volume = f"tfbuild-bench-{os.getpid()}-{n}"
                try:
                    run([*INVOKE, "build", "--in-docker", "--profile", "cpu-trixie", *sets,
                         "--source", str(source), "--set", f"docker.cache_volume={volume}",
                         "--set", f"build.dist_dir={work / 'dist-c'}"], env)
                finally:
                    subprocess.run(["podman", "volume", "rm", "--force", volume],
                                   env={**os.environ, **engines.podman_env},
                                   capture_output=True)

            def on_host(n: int) -> None:
                root = work / f"root-{n}"
                profile = local_bazel_profile(work / "host.toml", output_root=root,
                                              dist=work / "dist-h")
                try:
                    run([*INVOKE, "build", "--profile", profile, "--source", str(source)],
                        {"TFBUILD_STATE_DIR": str(work / "state")})
                finally:
                    subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={root}",
                                    "shutdown"], cwd=source, capture_output=True)
                    subprocess.run(["chmod", "-R", "u+w", str(root)], capture_output=True)
                    shutil.rmtree(root, ignore_errors=True)

            host, container = [], []
            for n in range(args.repeat):  # interleaved, so drift hits both alike
                host.append(timed(lambda: on_host(n)))
                container.append(timed(lambda: in_container(n)))
        finally:
            engines.stop()
    h, c = statistics.median(host), statistics.median(container)
    r, s = statistics.median(rebuild), statistics.median(start)
    print(f"median of {args.repeat}, podman {engines.podman('--version').stdout.split()[-1]}")
    print(f"  clean build of the TF-shaped tree   host {h:6.1f} s   in the image {c:6.1f} s"
          f"   ratio {c / h:.2f}x (goal <= 1.2x)")
    print(f"  image rebuild, nothing changed      {r:6.1f} s ({cached}/{steps - 1} layers from "
          f"the cache)   container start {s:5.2f} s   ratio {r / s:.1f}x")


if __name__ == "__main__":
    main()
