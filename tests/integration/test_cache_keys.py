"""Builds a team can share: nothing of the invoking shell or user reaches Bazel's keys.

Real Bazel (Debian's 4.2.3) on the tests' TF-shaped workspace, a real nginx HTTP cache and a
real BuildGrid gRPC cache on loopback, and a real second Unix user (uid 65534, via setpriv)
with its own HOME, checkout, output root, state dir, venv and PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import users
from tests.helpers.buildgrid import BuildGrid
from tests.helpers.cli import invoke
from tests.helpers.nginx import Nginx
from tests.helpers.profiles import team_profile
from tests.helpers.remote_worker import RemoteWorker
from tests.helpers.trees import tarball_clang
from tests.integration.conftest import FIXTURE_WORKSPACE


def _build(source: Path, profile: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    proc = invoke(["build", "--profile", str(profile), "--source", str(source), *extra], env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _latest_log(state: Path) -> str:
    logs = sorted(state.glob("*/logs/build-*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text()


def _process_kinds(dist: Path) -> dict:
    return json.loads((dist / "manifest.json").read_text())["run"]["bazel_summary"]["process_kinds"]


def test_rebuild_from_another_shell_executes_nothing_and_keeps_the_analysis_cache(tmp_path):
    source = tmp_path / "tensorflow"
    shutil.copytree(FIXTURE_WORKSPACE, source, symlinks=True)
    profile = tmp_path / "team.toml"
    # plus a target that reads @local_config_cuda, as every TF build does
    profile.write_text(team_profile().replace('targets = [', 'targets = ["//tensorflow:cuda_probe", '))
    env = users.shell(tmp_path, "ann")
    try:
        _build(source, profile, env)
        rc = source / ".tf_configure.bazelrc"
        before = (rc.read_bytes(), rc.stat().st_mtime_ns)
        (marker,) = Path(env["TFBUILD_BUILD_OUTPUT_USER_ROOT"]).glob(
            "*/external/@local_config_cuda.marker")  # written when the rule (re-)runs
        marker_before = (marker.read_bytes(), marker.stat().st_mtime_ns)
        other = dict(env, PATH=f"{tmp_path / 'venv-b' / 'bin'}:{env['PATH']}",
                     LD_LIBRARY_PATH=str(tmp_path / "other-lib"), PYTHONPATH=str(tmp_path / "py"),
                     TMPDIR=str(tmp_path), VIRTUAL_ENV=str(tmp_path / "venv-b"), LC_ALL="C.UTF-8")
        _build(source, profile, other)
        log = _latest_log(Path(env["TFBUILD_STATE_DIR"]))
        assert "INFO: 1 process: 1 internal." in log  # Bazel's own summary: nothing executed
        assert "discarding analysis cache" not in log
        assert "0 packages loaded, 0 targets configured" in log
        assert (rc.read_bytes(), rc.stat().st_mtime_ns) == before  # the rc was not rewritten
        # a repository rule declaring TMP/TMPDIR (as TSL's cuda_configure does) did not re-run
        assert (marker.read_bytes(), marker.stat().st_mtime_ns) == marker_before
        seen = json.loads((marker.parent / "local_config_cuda" / "seen.json").read_text())
        assert seen["TMPDIR"] == seen["TMP"] == str(Path(
            env["TFBUILD_BUILD_OUTPUT_USER_ROOT"]) / "tmp")
    finally:
        subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={env['TFBUILD_BUILD_OUTPUT_USER_ROOT']}",
                        "shutdown"], cwd=source, capture_output=True)


@pytest.mark.skipif(not users.AVAILABLE, reason=users.WHY_NOT)
@pytest.mark.parametrize("protocol", ["http", "grpc", "executor"])
def test_second_user_gets_only_remote_cache_hits(tmp_path, protocol):
    """nginx (HTTP), BuildGrid (gRPC cache), and Bazel's remote worker as the executor: the
    first user's actions run there, the second user's build is all cache hits."""
    server = {"http": lambda: Nginx(tmp_path / "nginx"), "grpc": lambda: BuildGrid(tmp_path / "bgd"),
              "executor": lambda: RemoteWorker(tmp_path / "worker")}[protocol]()
    server.start()
    # The second user cannot enter pytest's 0700 temp dir: its files live in one of their own.
    base = Path(tempfile.mkdtemp(prefix="tfbuild-user2-", dir="/tmp"))
    profile_text = (team_profile(server.url) if protocol != "executor" else
                    team_profile() + f'[remote]\nexecutor = "{server.url}"\n'
                    # the worker runs on this machine: it has the toolchain's host paths
                    'workers_have_host_paths = true\n')
    # a tarball clang installed at one path for the whole team, whose runtime dir reaches the
    # actions' LD_LIBRARY_PATH, and a tool built and run in the exec configuration that needs
    # it (--host_action_env): those keys must match across users too
    prefix = tarball_clang(base / "llvm16")
    profile_text = profile_text.replace("[toolchain]\n", f'[toolchain]\nclang_prefix = "{prefix}"\n')
    profile_text = profile_text.replace(
        "targets = [", 'targets = ["//tensorflow/tools/op_gen:op_wrappers", ')
    try:
        first_src = tmp_path / "ann-checkout" / "tensorflow"
        shutil.copytree(FIXTURE_WORKSPACE, first_src, symlinks=True)
        (tmp_path / "team.toml").write_text(profile_text)
        ann = users.shell(tmp_path, "ann")
        _build(first_src, tmp_path / "team.toml", ann)
        first = _process_kinds(Path(ann["TFBUILD_BUILD_DIST_DIR"]) / "team")
        assert set(first) - {"internal", "remote cache hit"}, first  # real work was done
        if protocol == "executor":
            assert set(first) == {"internal", "remote"}, first  # all of it on the worker
        assert server.stored_objects() > 0

        bob = users.shell(base, "bob")
        bob_src = base / "bob" / "work" / "tf-checkout"
        shutil.copytree(FIXTURE_WORKSPACE, bob_src, symlinks=True)
        (base / "team.toml").write_text(profile_text)
        venv = users.second_user_venv(base)
        bob["PATH"] = f"{venv / 'bin'}:{bob['PATH']}"
        bob.update(LD_LIBRARY_PATH=str(base / "lib"), PYTHONPATH=str(base / "py"),
                   VIRTUAL_ENV=str(venv))
        users.hand_over(base)
        proc = users.invoke_as_second_user(["build", "--profile", str(base / "team.toml"), "--source",
                                str(bob_src)], bob, venv)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        kinds = _process_kinds(Path(bob["TFBUILD_BUILD_DIST_DIR"]) / "team")
        assert kinds.get("remote cache hit", 0) == sum(
            n for k, n in first.items() if k != "internal"), (first, kinds)
        assert set(kinds) <= {"remote cache hit", "internal"}, kinds  # 100% hits
        a = Path(ann["TFBUILD_BUILD_DIST_DIR"]) / "team"
        b = Path(bob["TFBUILD_BUILD_DIST_DIR"]) / "team"
        diff = invoke(["manifest", "--diff", str(a), str(b)])
        assert "action keys can match" in diff.stdout, diff.stdout
    finally:
        server.stop()
        for root, src in ((tmp_path / "ann" / "root", tmp_path / "ann-checkout" / "tensorflow"),
                          (base / "bob" / "root", base / "bob" / "work" / "tf-checkout")):
            if src.exists():
                subprocess.run(["/usr/bin/bazel-4", f"--output_user_root={root}", "shutdown"],
                               cwd=src, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
