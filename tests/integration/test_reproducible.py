"""Reproducible, proven (issue 29): the tests' TF-shaped tree builds its wheel as TF's does
(setuptools' bdist_wheel from freshly copied files, entries stamped with SOURCE_DATE_EPOCH or
else the time of the build), so equal wheels are tfbuild's doing, not the fixture's. Real Bazel
(Debian's 4.2.3), two checkouts of one git commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.helpers.bazel import bazel, shutdown
from tests.helpers.cli import invoke
from tests.helpers.profiles import fixture_wheel, local_bazel_profile
from tests.integration.conftest import FIXTURE_WORKSPACE

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "GIT_COMMITTER_DATE": "2025-03-06T00:00:00Z",
           "GIT_AUTHOR_DATE": "2025-03-06T00:00:00Z"}
COMMIT_TIME = 1741219200  # the commit's date above
WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout.strip()


def committed_tree(tmp_path: Path) -> Path:
    source = tmp_path / "a" / "tensorflow"
    shutil.copytree(FIXTURE_WORKSPACE, source, symlinks=True)
    git("init", "-q", cwd=source)
    git("add", "-A", cwd=source)
    git("commit", "-qm", "tf", cwd=source)
    return source


def user_env(base: Path, tz: str) -> dict[str, str]:
    """One person's build: their own HOME, output root, state dir, dist, time zone."""
    for name in ("home", "root", "state", "dist"):
        (base / name).mkdir(parents=True, exist_ok=True)
    return {"HOME": str(base / "home"), "TZ": tz, "LC_ALL": "C.UTF-8",
            "TFBUILD_STATE_DIR": str(base / "state"),
            "TFBUILD_BUILD_OUTPUT_USER_ROOT": str(base / "root"),
            "TFBUILD_BUILD_DIST_DIR": str(base / "dist")}


def test_two_clean_builds_of_one_commit_give_equal_artifacts(tmp_path):
    """Two checkouts of one commit (other paths), other HOMEs, output roots and time zones, two
    seconds apart: equal SHA256SUMS, wheel included. SOURCE_DATE_EPOCH is the commit's time
    (git HEAD, asked of git), in the rc and the manifest."""
    first = committed_tree(tmp_path)
    second = tmp_path / "b" / "elsewhere" / "tf-checkout"
    git("clone", "-q", str(first), str(second), cwd=tmp_path)
    profile = local_bazel_profile(tmp_path / "repro.toml", output_root=tmp_path / "unused",
                                  dist=tmp_path / "unused-dist")
    text = Path(profile).read_text()
    # each person's output root and dist come from their environment
    Path(profile).write_text("\n".join(line for line in text.splitlines()
                                       if not line.startswith(("output_user_root", "dist_dir"))))
    dists = []
    for source, base, tz in ((first, tmp_path / "ann", "UTC"),
                             (second, tmp_path / "bob", "Asia/Tokyo")):
        env = user_env(base, tz)
        proc = invoke(["build", "--profile", profile, "--source", str(source)], env=env)
        shutdown(source, base / "root")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        dists.append(base / "dist" / "repro")
        time.sleep(2)
    sums = [(d / "SHA256SUMS").read_text() for d in dists]
    assert fixture_wheel() in sums[0]
    assert sums[0] == sums[1]
    rc = (first / ".tf_configure.bazelrc").read_text()
    assert f'build --action_env SOURCE_DATE_EPOCH="{COMMIT_TIME}"' in rc
    manifest = json.loads((dists[1] / "manifest.json").read_text())
    commit = git("rev-parse", "HEAD", cwd=first)
    assert manifest["tensorflow"]["source_date_epoch"] == {"value": COMMIT_TIME,
                                                           "from": f"git HEAD {commit[:12]}"}


def test_the_tree_alone_gives_different_wheels(tmp_path):
    """Without tfbuild's rc (plain Bazel, no SOURCE_DATE_EPOCH) the tree's wheel carries the
    time of the build: two clean builds two seconds apart differ, so the equality above is
    tfbuild's doing, not the fixture's."""
    source = tmp_path / "tensorflow"
    shutil.copytree(FIXTURE_WORKSPACE, source, symlinks=True)
    wheels = []
    for name in ("one", "two"):
        root = tmp_path / name
        bazel(source, root, "build", WHEEL_TARGET, "--repo_env=HERMETIC_PYTHON_VERSION=3.11",
              "--repo_env=CC=/usr/lib/llvm-16/bin/clang",
              "--action_env=PYTHON_BIN_PATH=/usr/bin/python3")  # Debian's: setuptools, wheel
        wheel = source / "bazel-bin" / "tensorflow" / "tools" / "pip_package" / "wheel_house" / (
            "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl")
        wheels.append(wheel.read_bytes())
        shutdown(source, root)
        time.sleep(2)
    assert wheels[0] != wheels[1]
