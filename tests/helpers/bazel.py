"""Running Debian's real Bazel (bazel-bootstrap 4.2.3, offline) on the tests' workspaces."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

BAZEL = "/usr/bin/bazel-4"
STARTUP = ["--max_idle_secs=120"]


def bazel(workspace: Path, root: Path, *args: str, check: bool = True,
          env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    full_env.update(env or {})
    proc = subprocess.run([BAZEL, f"--output_user_root={root}", *STARTUP, *args], cwd=workspace,
                          env=full_env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"bazel {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc


def shutdown(workspace: Path, root: Path) -> None:
    if workspace.exists():
        bazel(workspace, root, "shutdown", check=False)


def probe(workspace: Path, root: Path, *args: str) -> dict:
    """Build //tensorflow:cuda_probe and return what @local_config_cuda saw."""
    bazel(workspace, root, "build", "//tensorflow:cuda_probe", *args)
    return json.loads((workspace / "bazel-bin" / "tensorflow" / "cuda_probe.json").read_text())
