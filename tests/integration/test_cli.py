"""What the README promises about the command line as a whole: exit codes per kind, the
traceback only with TFBUILD_DEBUG=1, TFBUILD_PROFILES_DIR, bazel-install leaving a Bazel alone,
and manifest --diff naming differing artifact hashes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.pip_index import tiny_wheel

def failing_venv_python(tmp_path: Path) -> Path:
    """This test run's Python, except that `-m venv` fails the way a Python without its venv
    module does (exit 1): a real command that fails."""
    script = tmp_path / "python3"
    script.write_text(f'#!/bin/sh\nif [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
                      f'  echo "Error: Command \'-Im ensurepip\' returned non-zero exit status 1." >&2\n'
                      f'  exit 1\nfi\nexec {sys.executable} "$@"\n')
    script.chmod(0o755)
    return script


def smoke_with(python: Path, **env):
    wheel = tiny_wheel(python.parent / "wheels", "tensorflow", "2.18.1")  # fails before use
    return invoke(["smoke-test", "--profile", "cpu", "--wheel", str(wheel),
                   "--set", f"toolchain.python={python}"], env=env)


def test_a_failed_command_exits_4_without_a_traceback(tmp_path):
    proc = smoke_with(failing_venv_python(tmp_path))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "command failed with exit code 1" in proc.stderr and "-m venv" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_tfbuild_debug_shows_the_traceback(tmp_path):
    proc = smoke_with(failing_venv_python(tmp_path), TFBUILD_DEBUG="1")
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "tfbuild.errors.CommandError" in proc.stderr


def test_tfbuild_profiles_dir_is_searched_first(tmp_path):
    mine = tmp_path / "profiles"
    mine.mkdir()
    (mine / "mine.toml").write_text('extends = "cpu"\n[build]\njobs = 3\n')
    (mine / "cpu.toml").write_text('description = "my own cpu"\n[cuda]\nenabled = false\n'
                                   '[build]\njobs = 5\n')
    listed = invoke(["profiles"], env={"TFBUILD_PROFILES_DIR": str(mine)})
    assert listed.returncode == 0 and "mine" in listed.stdout
    shown = invoke(["profiles", "--show", "mine"], env={"TFBUILD_PROFILES_DIR": str(mine)})
    assert shown.returncode == 0, shown.stderr
    assert str(mine / "mine.toml") in shown.stdout and str(mine / "cpu.toml") in shown.stdout
    assert "my own cpu" in invoke(["profiles"], env={"TFBUILD_PROFILES_DIR": str(mine)}).stdout
    assert invoke(["profiles", "--show", "mine"]).returncode == 2  # not without the variable


def test_bazel_install_does_nothing_when_a_bazel_is_there():
    proc = invoke(["bazel-install", "--set", "toolchain.bazel=/usr/bin/bazel-4"])
    assert proc.returncode == 0, proc.stderr
    assert "Bazel is already here: /usr/bin/bazel-4" in proc.stdout + proc.stderr
    bindir = Path(os.environ["XDG_DATA_HOME"]) / "tfbuild" / "bin"  # this test's own
    assert not bindir.exists() or not any(bindir.iterdir())


def test_manifest_diff_says_the_artifact_hashes_differ(tmp_path):
    """Two manifests of builds whose library hashes differ (and nothing else)."""
    def manifest(digest: str) -> dict:
        return {"tfbuild": "0.1.0", "toolchain": {"clang": {"path": "/usr/bin/clang", "version": "16.0.6"}},
                "artifacts": [{"name": "libtensorflow.so.2.18.1", "sha256": digest}],
                "run": {"finished": digest}}
    (tmp_path / "a.json").write_text(json.dumps(manifest("a" * 64)))
    (tmp_path / "b.json").write_text(json.dumps(manifest("b" * 64)))
    proc = invoke(["manifest", "--diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert proc.returncode == 1
    assert "artifact hashes differ" in proc.stdout + proc.stderr
    assert "libtensorflow.so.2.18.1.sha256" in proc.stdout


@pytest.mark.parametrize("args", [["--list"], ["--help", "doctor"]])
def test_a_reader_that_goes_away_stops_it_quietly(args):
    """`invoke --list | head -1`: Invoke's own printing meets a closed pipe. No traceback; the
    exit is 128 + SIGPIPE, as `cat` gives. The read end is closed before anything is written,
    so the first write fails, whatever the timing."""
    import signal
    import subprocess

    from tests.helpers.cli import INVOKE, ROOT

    proc = subprocess.Popen([INVOKE, "--search-root", str(ROOT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
