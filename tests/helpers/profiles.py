"""The profile the Bazel tests (and bench/build.py) use: Debian's Bazel 4.2.3 and clang 16 on
this machine, with the workspace's own output root and dist directory."""

from __future__ import annotations

import sys
from pathlib import Path


def local_bazel_profile(path: Path, *, output_root: Path, dist: Path, extra: str = "") -> str:
    path.write_text(f"""extends = "cpu"
[toolchain]
clang_major = 16
bazel = "/usr/bin/bazel-4"
bazel_version = "4.2.3"
python = "{sys.executable}"
[build]
output_user_root = "{output_root}"
disk_cache = ""
dist_dir = "{dist}"
{extra}""")
    return str(path)


def team_profile(remote_cache: str = "") -> str:
    """A profile a team would share: the toolchain at machine-wide paths (Debian's Bazel 4.2.3,
    clang 16, the system Python), and no per-user path — each user's output root, state and dist
    come from their own environment (TFBUILD_BUILD_OUTPUT_USER_ROOT, ...)."""
    text = """extends = "cpu"
[toolchain]
clang_major = 16
bazel = "/usr/bin/bazel-4"
bazel_version = "4.2.3"
[build]
disk_cache = ""
targets = ["//tensorflow:libtensorflow.so", "//tensorflow/tools/pip_package:wheel"]
"""
    return text + (f'[remote]\ncache = "{remote_cache}"\n' if remote_cache else "")


def fixture_wheel(python_version: str = f"{sys.version_info[0]}.{sys.version_info[1]}",
                  wheel_name: str = "tensorflow") -> str:
    """The name the TF-shaped tree's wheel rule gives its wheel (as TF's tf_wheel: WHEEL_NAME
    and the hermetic Python version, which configure sets from toolchain.python)."""
    tag = "cp" + python_version.replace(".", "")
    return f"{wheel_name.replace('-', '_')}-2.18.1-{tag}-{tag}-linux_x86_64.whl"
