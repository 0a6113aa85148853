"""How long `invoke smoke-test` takes and how much memory it peaks at, against a baseline
measured in the same run: a fresh virtual environment with the same wheel installed and
TensorFlow imported once (what any check of a wheel costs).

    .venv/bin/python bench/smoke.py --wheel .cache/test-assets/tf-wheel/tensorflow_cpu-2.18.1-*.whl
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import INVOKE, ROOT  # noqa: E402

MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
           "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def measure(argv: list[str], env=None) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]) / 1024


def main() -> None:
    default = sorted(glob.glob(str(ROOT / ".cache/test-assets/tf-wheel/*.whl")))
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", default=default[0] if default else None)
    args = parser.parse_args()
    if not args.wheel:
        sys.exit("no wheel: pass --wheel or run scripts/test.sh first")
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        script = (f"{sys.executable} -m venv {venv} && {venv}/bin/pip install -q "
                  f"--disable-pip-version-check {args.wheel} && "
                  f"{venv}/bin/python -c 'import tensorflow'")
        rc, base_s, base_mib = measure(["bash", "-c", script])
        assert rc == 0, "baseline failed"
    env = {**os.environ, "TFBUILD_COLOR": "0"}
    rc, smoke_s, smoke_mib = measure([*INVOKE, "smoke-test", "--profile", "cpu", "--wheel",
                                      args.wheel], env=env)
    assert rc == 0, "smoke test failed"
    print(f"{'invoke smoke-test':<40} {smoke_s:7.1f} s  peak {smoke_mib:7.0f} MiB")
    print(f"{'baseline: venv + pip install + import':<40} {base_s:7.1f} s  peak {base_mib:7.0f} MiB")
    print(f"ratio: time {smoke_s / base_s:.2f}x, peak memory {smoke_mib / base_mib:.2f}x")


if __name__ == "__main__":
    main()
