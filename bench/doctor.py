"""How long `invoke doctor` takes, against `invoke --list` (the CLI's own start-up) measured in
the same run.

    .venv/bin/python bench/doctor.py [--profile NAME] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import INVOKE, report, time_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "TFBUILD_COLOR": "0"}
    baseline = time_command([*INVOKE, "--list"], args.repeat, env=env)
    doctor = time_command([*INVOKE, "doctor", "--profile", args.profile, "--json"], args.repeat,
                          env=env)
    report(f"invoke doctor --profile {args.profile}", doctor, "invoke --list", baseline)


if __name__ == "__main__":
    main()
