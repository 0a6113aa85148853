"""The tests' TF-shaped workspace as a git checkout of one commit at a fixed date (what
verify-reproducible and SOURCE_DATE_EPOCH read), for the tests and bench scripts that need one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIXTURE_WORKSPACE = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "GIT_COMMITTER_DATE": "2025-03-06T00:00:00Z",
           "GIT_AUTHOR_DATE": "2025-03-06T00:00:00Z"}
COMMIT_TIME = 1741219200  # the commit's date above


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout.strip()


def committed_fixture(dest: Path) -> Path:
    """A copy of the fixture at dest, committed once."""
    shutil.copytree(FIXTURE_WORKSPACE, dest, symlinks=True)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-qm", "tf", cwd=dest)
    return dest
