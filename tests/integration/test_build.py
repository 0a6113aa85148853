"""`invoke build` end to end: a real Bazel (Debian's 4.2.3, offline) builds the tests'
TF-shaped workspace (TF's target labels, a .so with a symlink chain, a real wheel)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.bazel import bazel, shutdown
from tests.helpers.cli import INVOKE, ROOT, invoke
from tests.helpers.nginx import Nginx
from tests.helpers.pip_index import IndexServer, build_simple_index, tiny_wheel
from tests.helpers.profiles import fixture_wheel, local_bazel_profile
from tests.helpers.trees import tarball_clang
from tfbuild import execlog
from tfbuild.files import sha256_file

WHEEL = fixture_wheel()  # the tree's wheel, for this Python
QUICK = '["//tensorflow:libtensorflow.so"]'


def write_profile(ws, body: str = "", name: str = "tfs") -> str:
    return local_bazel_profile(ws["source"].parent / f"{name}.toml", output_root=ws["root"],
                               dist=ws["source"].parent / "dist", extra=body)


def build(ws, profile, *args, env=None):
    proc = invoke(["build", "--profile", profile, "--source", str(ws["source"]), *args],
                  env={**ws["env"], **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def latest_log(ws) -> str:
    logs = sorted(ws["state"].glob("*/logs/build-*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text()


def git_init(path: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "tf"],
                 ["git", "tag", "v2.18.1"]):
        subprocess.run(argv, cwd=path, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_artifacts_hashes_and_manifest(tf_workspace):
    ws = tf_workspace
    commit = git_init(ws["source"])
    proc = build(ws, write_profile(ws))
    assert proc.returncode == 0, proc.stderr
    dist = ws["source"].parent / "dist" / "tfs"
    names = sorted(p.name for p in dist.iterdir())
    assert names == ["SHA256SUMS", "include", "libtensorflow.so.2", "libtensorflow.so.2.18.1",
                     "libtensorflow_framework.so.2", "libtensorflow_framework.so.2.18.1",
                     "manifest.json", WHEEL]
    assert os.readlink(dist / "libtensorflow.so.2") == "libtensorflow.so.2.18.1"
    sums = dict(line.split("  ")[::-1] for line in (dist / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest
    manifest = json.loads((dist / "manifest.json").read_text())
    commit_time = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ws["source"],
                                     capture_output=True, text=True, check=True).stdout)
    assert manifest["tensorflow"] == {
        "version": "2.18.1", "git_commit": commit, "git_describe": "v2.18.1",
        "source": str(ws["source"]),
        # the wheel's timestamps come from the commit, not the clock (issue 29)
        "source_date_epoch": {"value": commit_time, "from": f"git HEAD {commit[:12]}"}}
    assert manifest["profile"]["name"] == "tfs"
    assert manifest["profile"]["settings"]["toolchain"]["clang_major"] == 16
    assert manifest["toolchain"]["clang"]["version"].startswith("16.")
    assert manifest["toolchain"]["bazel"] == {"path": "/usr/bin/bazel-4", "version": "4.2.3"}
    rc = ws["source"] / ".tf_configure.bazelrc"
    assert manifest["configure"]["sha256"] == hashlib.sha256(rc.read_bytes()).hexdigest()
    patched = {p["file"]: p for p in manifest["patches"]}
    repo_bzl = "third_party/xla/third_party/tsl/third_party/repo.bzl"
    assert patched[repo_bzl]["patched_sha256"] == hashlib.sha256(
        (ws["source"] / repo_bzl).read_bytes()).hexdigest()
    argv = manifest["bazel"]["argv"]
    # the JVM heap is capped only when the JVM's default (25% of RAM) is short of what TF's
    # analysis needs; the manifest says which it was and why
    heap = manifest["bazel"]["heap"]
    cap = [f"--host_jvm_args=-Xmx{heap['cap_gib']:g}g"] if heap["cap_gib"] is not None else []
    assert argv[:4 + len(cap)] == ["/usr/bin/bazel-4", f"--output_user_root={ws['root']}",
                                   "--nohome_rc", *cap, "build"]
    assert heap["reason"] and heap["needed_gib"] > 0
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    assert (heap["cap_gib"] is None) == (total * 0.25 >= heap["needed_gib"])
    assert "//tensorflow/tools/pip_package:wheel" in argv
    assert "--repo_env=WHEEL_NAME=tensorflow" in argv
    assert manifest["bazel"]["environment"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert {a["name"]: a["sha256"] for a in manifest["artifacts"] if a["sha256"]} == {
        name: digest for name, digest in sums.items() if not name.startswith("include/")}
    # the C API headers the wheel carries, as TF's libtensorflow archive lays them out: exactly
    # what the compiler says c_api.h and eager/c_api.h include (not the wheel's C++ headers)
    headers = ["include/tensorflow/c/c_api.h", "include/tensorflow/c/eager/c_api.h",
               "include/tensorflow/c/tf_tstring.h", "include/tsl/platform/ctstring.h"]
    assert manifest["c_headers"] == headers
    assert sorted(n for n in sums if n.startswith("include/")) == headers
    assert not (dist / "include" / "tensorflow" / "core").exists()
    # README's compile and link line, from dist/ alone: a user's C program runs the C API
    program = ws["source"].parent / "prog.c"
    program.write_text('#include <stdio.h>\n#include "tensorflow/c/c_api.h"\n'
                       'int main(void) { printf("%s\\n", TF_Version()); return 0; }\n')
    binary = ws["source"].parent / "prog"
    subprocess.run(["gcc", f"-I{dist / 'include'}", str(program), str(dist / "libtensorflow.so.2"),
                    f"-Wl,-rpath,{dist}", "-o", str(binary)], check=True)
    assert subprocess.run([str(binary)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}).stdout == "2.18.1\n"
    assert manifest["run"]["durations"]["bazel_s"] > 0
    # auditwheel's verdict on the wheel, printed and kept (the fixture's .so needs only libc)
    wheel = manifest["wheel"]
    assert (wheel["file"], wheel["policy"], wheel["external_libs"], wheel["error"]) == (
        WHEEL, "manylinux_2_5_x86_64", {}, None)
    assert wheel["tool"].startswith("auditwheel ")
    assert ("wheel: manylinux_2_5_x86_64, glibc >= 2.2.5; shared libraries needed from outside: "
            "none") in proc.stdout
    # as TF's, the tree's wheel is named linux_x86_64 (auditwheel repair gives the manylinux name)
    assert "its file name says linux_x86_64, not manylinux_2_5_x86_64" in proc.stdout
    # the wheel is real: pip installs it
    target = ws["source"].parent / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(target), str(dist / WHEEL)],
                   check=True, capture_output=True)
    assert (target / "tensorflow" / "libtensorflow_framework.so.2.18.1").exists()


def rc_action_env(rc_text: str) -> dict[str, str]:
    return dict(re.findall(r'^build --action_env (\w+)="([^"]*)"$', rc_text, re.M))


def test_actions_use_the_configured_compiler_options_and_environment(tf_workspace):
    """What configure writes reaches the actions: the compile action runs the profile's clang
    with the rc's --copt under the rc's --action_env values, a genrule sees the same values, and
    the library is clang's (and the manifest says so)."""
    ws = tf_workspace
    profile = write_profile(ws, 'targets = ["//tensorflow:libtensorflow.so", '
                                '"//tensorflow:action_env"]\n')
    proc = build(ws, profile, "--bazel-opt=--subcommands")
    assert proc.returncode == 0, proc.stderr
    rc = (ws["source"] / ".tf_configure.bazelrc").read_text()
    wanted = rc_action_env(rc)
    assert wanted.get("CLANG_COMPILER_PATH") == "/usr/lib/llvm-16/bin/clang"
    copts = re.findall(r"^build --copt=(\S+)$", rc, re.M)
    assert copts  # e.g. -Wno-gnu-offsetof-extensions for clang 16
    # the compile action, as Bazel ran it (--subcommands): env - NAME=value ... compiler args
    log = latest_log(ws)
    block = log[log.index("(cd ", log.index("[action 'Compiling tensorflow/c/c_api.c'")):]
    command = block[:block.index(")\n")].replace("\\\n", " ")
    ran = shlex.split(command[command.index("exec env -") + len("exec env -"):])
    env = dict(a.split("=", 1) for a in ran[:next(i for i, a in enumerate(ran) if "=" not in a)])
    argv = ran[len(env):]
    for name in ("PATH", "LD_LIBRARY_PATH"):
        if name in wanted:
            assert env[name] == wanted[name], name
    assert argv[0] == wanted["CLANG_COMPILER_PATH"]
    assert all(c in argv for c in copts), (copts, argv)
    seen = dict(line.split("=", 1) for line in
                (ws["source"] / "bazel-bin" / "tensorflow" / "action_env.txt").read_text().splitlines()
                if "=" in line)
    assert {k: seen.get(k) for k in wanted} == wanted
    dist = ws["source"].parent / "dist" / "tfs"
    assert b"clang version 16." in (dist / "libtensorflow.so.2.18.1").read_bytes()  # .comment
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["toolchain"]["clang"]["path"] == argv[0]


def test_the_users_bazelrc_is_ignored_and_the_system_rc_recorded(tf_workspace):
    """A ~/.bazelrc that would break the build (HOME is this test's own) is not read; the
    system rc Debian's Bazel needs is, and the manifest names it."""
    ws = tf_workspace
    home_rc = Path(os.environ["HOME"]) / ".bazelrc"
    home_rc.write_text("build --config=only_in_the_users_bazelrc\n")
    broken = bazel(ws["source"], ws["root"], "build", "//tensorflow:libtensorflow.so", check=False)
    assert "only_in_the_users_bazelrc" in broken.stderr  # Bazel itself would read it
    proc = build(ws, write_profile(ws, f"targets = {QUICK}\n"))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text())
    assert "--nohome_rc" in manifest["bazel"]["argv"]
    system = {"/etc/bazel/bazelrc", "/etc/bazel.bazelrc"}
    expected = [{"path": p, "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest()}
                for p in ("/etc/bazel.bazelrc", "/etc/bazel/bazelrc") if Path(p).is_file()]
    assert expected and manifest["bazel"]["system_rc"] == expected
    assert {e["path"] for e in expected} <= system


def test_second_build_is_a_noop_for_bazel(tf_workspace):
    ws = tf_workspace
    profile = write_profile(ws)
    assert build(ws, profile).returncode == 0
    rc = ws["source"] / ".tf_configure.bazelrc"
    mtime = rc.stat().st_mtime_ns
    proc = build(ws, profile)
    assert proc.returncode == 0, proc.stderr
    log = latest_log(ws)
    assert "INFO: 1 process: 1 internal." in log  # Bazel's own summary: nothing executed
    assert "0 packages loaded, 0 targets configured" in log  # analysis cache kept
    assert "discarding analysis cache" not in log
    assert "has changed" not in log  # the per-build BEP/profile paths are not build options
    assert "Starting local Bazel server" not in proc.stdout + proc.stderr + log
    assert rc.stat().st_mtime_ns == mtime
    assert "actions: 0 executed locally, 0 remote cache hits, 0 disk cache hits, 1 internal " \
        "(1 in all)" in proc.stdout


def _manifest(ws) -> dict:
    return json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text())


def test_the_build_account_is_printed_and_kept_with_disk_cache_hits(tf_workspace, tmp_path):
    ws = tf_workspace
    profile = write_profile(ws)
    disk = ("--set", f"build.disk_cache={tmp_path / 'disk-cache'}")
    first = build(ws, profile, *disk)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Bazel's account of this build" in out
    # two compiles, two links, two symlink genrules, the wheel; 3 internal (fixture's BUILD)
    assert "actions: 7 executed locally, 0 remote cache hits, 0 disk cache hits, 3 internal " \
        "(10 in all)" in out
    assert f"s  Building the wheel {WHEEL}" in out
    account = _manifest(ws)["run"]["account"]
    # TF's .bazelrc (and the fixture's) sets --spawn_strategy=standalone: "local", no sandbox
    assert account["actions"]["runners"] == {"internal": 3, "local": 7}
    assert account["sources"] == {"counts": "bep:buildToolLogs[process stats]",
                                  "wall": "bep:started/finished",
                                  "critical_path": "profile:critical path component",
                                  "slowest": "profile:action processing"}
    assert 0 < account["critical_path_s"] <= account["wall_s"]
    slowest = {a["action"] for a in account["slowest_actions"]}
    assert {"Compiling tensorflow/c/framework.c", "Linking tensorflow/libtensorflow.so.2.18.1",
            f"Building the wheel {WHEEL}"} <= slowest
    log = Path(_manifest(ws)["run"]["log"])
    files = account["files"]
    execution_log = log.with_name(log.stem + ".exec.json.gz")
    assert files == {"build_events": str(log.with_suffix(".bep.json")),
                     "profile": str(log.with_name(log.stem + ".profile.json.gz")),
                     "profile_sha256": sha256_file(log.with_name(log.stem + ".profile.json.gz")),
                     "execution_log": {"path": str(execution_log),
                                       "sha256": sha256_file(execution_log)}}
    # Bazel's own execution log, kept: one record per action it ran, with its key's inputs
    spawns = list(execlog.read(execution_log))
    assert {s["mnemonic"] for s in spawns} >= {"CppCompile", "CppLink"}, spawns
    assert all(s["commandArgs"] and s["inputs"] for s in spawns if s["mnemonic"] == "CppCompile")
    assert [p.name for p in log.parent.iterdir() if p.name.startswith(".")] == []  # raw BEP gone
    # the recorded command is the one Bazel's caches see: no per-build file names in it
    assert not any("build_event" in a or "--profile" in a for a in _manifest(ws)["bazel"]["argv"])

    bazel(ws["source"], ws["root"], "clean")
    again = build(ws, profile, *disk)
    assert again.returncode == 0, again.stderr
    assert "actions: 0 executed locally, 0 remote cache hits, 7 disk cache hits, 3 internal " \
        "(10 in all)" in again.stdout
    assert "disk cache hits as \"remote cache hit\"" in again.stdout  # Bazel 4.2.3's naming
    assert _manifest(ws)["run"]["account"]["actions"]["disk_cache_hits"] == 7


def test_failing_target_is_diagnosed(tf_workspace):
    ws = tf_workspace
    proc = build(ws, write_profile(ws, 'targets = ["//tensorflow:fails_oom"]\n'))
    assert proc.returncode == 6
    err = proc.stderr
    assert "diagnosis: a compiler was killed for lack of memory" in err
    assert "fix: lower build.jobs" in err
    assert "--- raw error (full log:" in err
    assert "Killed signal terminated program cc1plus" in err
    assert err.index("diagnosis:") < err.index("--- raw error")


def _start_slow_build(ws, profile) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env.update(ws["env"], TFBUILD_COLOR="0")
    return subprocess.Popen([INVOKE, "--search-root", str(ROOT), "build", "--profile", profile,
                             "--source", str(ws["source"])], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(predicate, proc: subprocess.Popen, limit=600):
    """Until predicate() holds; fails at once if proc ends first. The limit only stops a hung
    run (the event, not the clock, decides)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the build ended (exit {proc.returncode}) before the event")
        if time.monotonic() > deadline:
            raise AssertionError(f"no event in {limit} s")
        time.sleep(0.2)


def _slow_running(ws) -> bool:
    """Analysis is done and the 60-second action is about to run (Bazel reports a running
    action only after 10 s)."""
    logs = list(ws["state"].glob("*/logs/build-*.log"))
    return bool(logs) and "INFO: Found 1 target" in logs[0].read_text()


def test_ctrl_c_stops_bazel_cleanly_and_a_concurrent_build_is_refused(tf_workspace):
    ws = tf_workspace
    slow = write_profile(ws, 'targets = ["//tensorflow:slow"]\n', name="slow")
    first = _start_slow_build(ws, slow)
    try:
        _wait_for(lambda: _slow_running(ws), first)
        second = build(ws, write_profile(ws, f"targets = {QUICK}\n"))
        assert second.returncode == 3, (first.poll(), second.stdout, second.stderr)
        assert "another `invoke build` is running" in second.stderr
        assert first.poll() is None  # the refused build did not disturb the running one
        os.killpg(first.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    after = build(ws, write_profile(ws, f"targets = {QUICK}\n"))
    assert after.returncode == 0, after.stderr
    # no Bazel lock left behind: Bazel says so when it has to wait for another command's
    assert "Another command" not in after.stdout + after.stderr + latest_log(ws)


def test_remote_http_cache_gives_full_hits_and_keeps_the_header_secret(tf_workspace, tmp_path):
    ws = tf_workspace
    server = Nginx(tmp_path / "nginx").start()
    secret = "Bearer s3cr3t-token-1234"
    try:
        profile = write_profile(ws, '[remote]\nheader_env = "CACHE_AUTH_HEADER"\n')
        env = {"CACHE_AUTH_HEADER": f"Authorization: {secret}"}
        # and a token in the actions' environment: it reaches Bazel's execution log
        action_token = "--bazel-opt=--action_env=API_TOKEN=act10n-s3cr3t-5678"
        first = build(ws, profile, "--remote-cache", server.url, action_token, env=env)
        assert first.returncode == 0, first.stderr
        assert server.stored_objects() > 0
        bazel(ws["source"], ws["root"], "clean")
        second = build(ws, profile, "--remote-cache", server.url, action_token, env=env)
        assert second.returncode == 0, second.stderr
        dist = ws["source"].parent / "dist" / "tfs"
        manifest = json.loads((dist / "manifest.json").read_text())
        kinds = manifest["run"]["bazel_summary"]["process_kinds"]
        assert kinds.get("remote cache hit", 0) > 0
        assert set(kinds) <= {"remote cache hit", "internal"}, kinds  # 100% of the real work
        actions = manifest["run"]["account"]["actions"]
        assert (actions["remote_cache_hits"], actions["executed_locally"],
                actions["disk_cache_hits"]) == (7, 0, 0)
        assert "actions: 0 executed locally, 7 remote cache hits, 0 disk cache hits" in second.stdout
        written = [latest_log(ws), (dist / "manifest.json").read_text(),
                   (ws["source"] / ".tf_configure.bazelrc").read_text(),
                   first.stdout, first.stderr, second.stdout, second.stderr,
                   *(p.read_text() for p in ws["state"].glob("*/environment.*")),
                   *(p.read_text() for p in ws["state"].glob("*/logs/*.bep.json")),
                   *(gzip.open(p, "rt").read() for p in ws["state"].glob("*/logs/*.exec.json.gz"))]
        exec_logs = list(ws["state"].glob("*/logs/*.exec.json.gz"))
        assert len(exec_logs) == 2
        assert all('"name":"API_TOKEN","value":"***"' in gzip.open(p, "rt").read() for p in exec_logs)
        beps = [p.read_text() for p in ws["state"].glob("*/logs/*.bep.json")]
        assert len(beps) == 2 and all("--remote_header=***" in text for text in beps)
        assert all("CACHE_AUTH_HEADER=***" in text for text in beps)  # the client env, masked
        assert not any(secret in text or "act10n-s3cr3t" in text for text in written)
        assert not any(b"act10n-s3cr3t" in p.read_bytes() for p in ws["state"].rglob("*")
                       if p.is_file())  # nor Bazel's raw files
        assert manifest["remote"]["header_env"] == "CACHE_AUTH_HEADER"
        assert f"--remote_cache={server.url}" in manifest["bazel"]["argv"]
    finally:
        server.stop()


def test_missing_header_variable_is_a_clear_error(tf_workspace):
    ws = tf_workspace
    proc = build(ws, write_profile(ws, '[remote]\ncache = "http://127.0.0.1:9"\nheader_env = "NO_SUCH_VAR"\n'))
    assert proc.returncode == 2 and "NO_SUCH_VAR" in proc.stderr and "not set" in proc.stderr


def test_dry_run_prints_the_plan_and_runs_nothing(tf_workspace):
    ws = tf_workspace
    proc = build(ws, write_profile(ws), "--dry-run", "--jobs", "3", "--bazel-opt=--copt=-O1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dry run" in out and "would be written" in out
    command = next(line for line in out.splitlines() if line.startswith("cd "))
    assert "--local_cpu_resources=3" in command and command.rstrip().endswith(
        "--copt=-O1 //tensorflow:libtensorflow_framework.so //tensorflow:libtensorflow.so "
        "//tensorflow/tools/pip_package:wheel")
    assert command.index("--copt=-O1") > command.index("--show_progress_rate_limit")
    assert not (ws["source"] / ".tf_configure.bazelrc").exists()
    assert not ws["root"].exists() and not ws["state"].exists()


def test_dry_run_prints_exactly_the_argv_the_build_runs(tf_workspace):
    """One build plan (building/plan.py): the command `build --dry-run` prints is the argv the
    build then runs and records, option for option, with the downloader config and the
    options of the user's flags."""
    ws = tf_workspace
    profile = write_profile(ws, "[mirrors]\ndownloader_config = true\n")
    flags = ["--jobs", "2", "--bazel-opt=--copt=-O1", "--keep-going"]
    dry = build(ws, profile, "--dry-run", *flags)
    assert dry.returncode == 0, dry.stderr
    line = next(line for line in dry.stdout.splitlines() if line.startswith("cd "))
    words = shlex.split(line)
    built = build(ws, profile, *flags)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    argv = json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text()
                      )["bazel"]["argv"]
    assert words[:3] == ["cd", str(ws["source"]), "&&"] and words[3] == "env"
    printed = words[words.index(argv[0], 4):]
    assert printed == argv
    assert "--keep_going" in argv and any(a.startswith("--experimental_downloader_config=")
                                          for a in argv)


def test_manifest_diff(tf_workspace):
    ws = tf_workspace
    dist = ws["source"].parent / "dist" / "tfs"
    assert build(ws, write_profile(ws)).returncode == 0
    first = ws["source"].parent / "first.json"
    first.write_text((dist / "manifest.json").read_text())
    assert build(ws, write_profile(ws)).returncode == 0
    same = invoke(["manifest", "--diff", str(first), str(dist)])
    assert same.returncode == 0 and "the builds match" in same.stdout
    assert build(ws, write_profile(ws), "--jobs", "1").returncode == 0
    other = invoke(["manifest", "--diff", str(first), str(dist)])
    assert other.returncode == 1
    assert "options" in other.stdout and "--local_cpu_resources=1" in other.stdout
    assert "artifact hashes are the same" in other.stdout


def test_source_clones_shallow_and_reports_unreachable(tmp_path):
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "WORKSPACE").write_text("")
    git_init(upstream)
    dest = tmp_path / "tf"
    proc = invoke(["source", "--source", str(dest), "--set", f"tensorflow.git_url=file://{upstream}"])
    assert proc.returncode == 0, proc.stderr
    assert (dest / "WORKSPACE").exists()
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=dest,
                             capture_output=True, text=True).stdout.strip()
    assert shallow == "true"
    proc = invoke(["source", "--source", str(tmp_path / "tf2"), "--set",
                   "tensorflow.git_url=https://127.0.0.1:9/tensorflow.git"])
    assert proc.returncode == 3
    assert "cannot clone https://127.0.0.1:9/tensorflow.git at v2.18.1" in proc.stderr
    assert "--source DIR" in proc.stderr


def test_tree_reached_through_a_symlink(tf_workspace, tmp_path):
    """`~/tf -> /media/workspace/github/tensorflow`: Bazel hashes the physical path, so the
    pip-mirror fix must land in that output base, and the outputs come from Bazel's bazel-bin."""
    ws = tf_workspace
    link = ws["source"].parent / "tf-link"
    link.symlink_to(ws["source"])
    wheel = tiny_wheel(tmp_path / "wheels", "numpy", "2.0.2")  # real pip runs: a loopback index
    env = {k: None for k in os.environ if k.startswith("PIP_")}
    env.update(ws["env"], PIP_CONFIG_FILE=os.devnull)
    with IndexServer(build_simple_index([wheel], tmp_path / "index")) as index:
        profile = write_profile(ws, 'targets = ["//tensorflow:pip_probe", '
                                    '"//tensorflow/tools/pip_package:wheel"]\n'
                                    f'[mirrors]\npip_index = "{index.url}"\nallow_http = true\n'
                                    'pip_method = "patch"\n')
        proc = invoke(["build", "--profile", profile, "--source", str(link)], env=env)
    assert proc.returncode == 0, proc.stderr
    info = bazel(link, ws["root"], "info", "output_base").stdout.strip()
    physical = hashlib.md5(str(ws["source"].resolve()).encode()).hexdigest()
    assert info == str(ws["root"] / physical)  # what Bazel 4.2.3 hashes: the physical path
    record = json.loads((Path(info) / "external/pypi_numpy/pip_args.json").read_text())
    assert index.url.rstrip("/") in [a.rstrip("/") for a in record["pip_args"]]
    assert f"{info}/external/rules_python/" in proc.stdout  # the patched file, as reported
    dist = ws["source"].parent / "dist" / "tfs"
    assert (dist / WHEEL).exists()
    # outputs taken where Bazel says (its build events), not from <tree>/bazel-bin
    assert re.search(rf"collecting the \d+ files the build events name \(from "
                     rf"{re.escape(info)}/execroot/", proc.stdout), proc.stdout


def test_cc_opt_flags_reach_the_compile_actions(tf_workspace):
    """TF 2.18.1's .bazelrc has no build:opt and nothing passes --config=opt, so flags written
    as `build:opt --copt` were dropped; the probe action shows what compiles get."""
    ws = tf_workspace
    profile = write_profile(ws, 'targets = ["//tensorflow:copts_probe"]\n'
                                'cc_opt_flags = ["-march=native", "-DTFBUILD_OPT_PROBE"]\n')
    proc = build(ws, profile)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((ws["source"] / "bazel-bin" / "tensorflow" / "copts_probe.json").read_text())
    assert seen["copt"][-2:] == ["-march=native", "-DTFBUILD_OPT_PROBE"]
    assert seen["host_copt"][-2:] == ["-march=native", "-DTFBUILD_OPT_PROBE"]


def test_tf_public_cache_with_a_cache_is_a_clear_error(tf_workspace):
    ws = tf_workspace
    proc = build(ws, write_profile(ws, '[remote]\ntf_public_cache = true\n'),
                 "--remote-cache", "http://127.0.0.1:9", "--dry-run")
    assert proc.returncode == 2, proc.stderr
    assert "remote.tf_public_cache and remote.cache (or --remote-cache) are both set" in proc.stderr


def test_first_fetch_shows_phase_and_download_progress(tf_workspace):
    """Behind a slow link the first fetch is the longest silence: Bazel (with --curses=no)
    prints only its short phase line, and nothing while one download runs. A non-terminal run
    still says every few seconds which phase it is in, what is downloading and how much."""
    import io
    import tarfile

    from tests.helpers.http_server import Server

    blob = os.urandom(20 * 1024 * 1024)  # incompressible: the archive stays 20 MiB
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("dep/blob.bin")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    archive = data.getvalue()
    server = Server().start()
    server.files["/dep.tar.gz"] = archive
    server.rate["/dep.tar.gz"] = 2 * 1024 * 1024  # 2 MiB/s: about 10 s
    ws = tf_workspace
    with open(ws["source"] / "WORKSPACE", "a") as workspace:
        workspace.write(f'''
load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
http_archive(
    name = "slow_dep",
    urls = ["{server.url}/dep.tar.gz"],
    sha256 = "{hashlib.sha256(archive).hexdigest()}",
    strip_prefix = "dep",
    build_file_content = 'exports_files(["blob.bin"])',
)
''')
    (ws["source"] / "slow").mkdir()
    (ws["source"] / "slow" / "BUILD").write_text(
        'genrule(name = "probe", srcs = ["@slow_dep//:blob.bin"], outs = ["size.txt"], '
        'cmd = "wc -c < $< > $@")\n')
    try:
        proc = build(ws, write_profile(ws, 'targets = ["//slow:probe"]\n'))
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    fetching = [line for line in lines if "fetching @slow_dep (" in line]
    assert fetching, proc.stdout
    assert all(re.match(r"^(loading|analyzing)\b.*; fetching @slow_dep \(\d+\.\d (KiB|MiB)\)",
                        line) for line in fetching), fetching
    # the manifest names the host that served it (no mirror in this profile: the origin)
    manifest = json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text())
    assert {"url": f"{server.url}/dep.tar.gz", "served_by": "origin", "success": True,
            "repository": "slow_dep",
            "sha256": hashlib.sha256(archive).hexdigest()} in manifest["downloads"]


def test_build_clones_a_missing_tree(tf_workspace):
    ws = tf_workspace
    upstream = ws["source"]  # the fixture, as a git repository tagged v2.18.1
    git_init(upstream)
    dest = ws["source"].parent / "cloned" / "tensorflow"
    proc = invoke(["build", "--profile", write_profile(ws, f"targets = {QUICK}\n"),
                   "--source", str(dest), "--set", f"tensorflow.git_url=file://{upstream}"],
                  env=ws["env"])
    try:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "git clone --depth 1 --branch v2.18.1" in proc.stdout + proc.stderr
        assert (dest / ".git").is_dir() and (dest / "configure.py").is_file()
        assert (ws["source"].parent / "dist" / "tfs" / "libtensorflow.so.2.18.1").is_file()
    finally:
        shutdown(dest, ws["root"])


def test_no_lock_is_left_after_sigkill(tf_workspace):
    """SIGKILL of everything mid-build (invoke, the Bazel client and the Bazel server, as the
    OOM killer or a power cut would): no chance to clean up, and no lock is left, tfbuild's
    (an flock the kernel drops) nor Bazel's."""
    ws = tf_workspace
    first = _start_slow_build(ws, write_profile(ws, 'targets = ["//tensorflow:slow"]\n', name="slow"))
    try:
        _wait_for(lambda: _slow_running(ws), first)
        server_pid = int(next(ws["root"].glob("*/server/server.pid.txt")).read_text())
        os.killpg(first.pid, signal.SIGKILL)
        os.kill(server_pid, signal.SIGKILL)
        first.wait(timeout=600)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL
    after = build(ws, write_profile(ws, f"targets = {QUICK}\n"))
    assert after.returncode == 0, after.stderr
    assert "another `invoke build` is running" not in after.stderr
    assert "Another command" not in after.stdout + after.stderr + latest_log(ws)


def test_artifacts_are_the_builds_own_outputs_not_what_lies_in_bazel_bin(tf_workspace):
    """Issue 20 item 4: an older wheel and a libtensorflow of an earlier target list in
    bazel-bin are not collected; only what the build events name for the targets."""
    ws = tf_workspace
    profile = write_profile(ws, f"targets = {QUICK}\n")
    assert build(ws, profile).returncode == 0
    bin_dir = Path(os.path.realpath(ws["source"] / "bazel-bin"))
    stale_wheel = bin_dir / "tensorflow/tools/pip_package/wheel_house/tensorflow-2.17.0-cp311-cp311-linux_x86_64.whl"
    stale_wheel.parent.mkdir(parents=True, exist_ok=True)
    stale_wheel.write_bytes(b"another version's wheel")
    (bin_dir / "tensorflow" / "libtensorflow_cc.so.2").write_bytes(b"an earlier build's library")
    proc = build(ws, profile)
    assert proc.returncode == 0, proc.stderr
    dist = ws["source"].parent / "dist" / "tfs"
    assert sorted(p.name for p in dist.iterdir()) == [
        "SHA256SUMS", "libtensorflow.so.2", "libtensorflow.so.2.18.1", "manifest.json"]
    assert "the 2 files the build events name" in proc.stdout


def test_a_tool_only_the_shell_has_is_refused_before_bazel_and_the_key_fixes_it(tf_workspace,
                                                                                tmp_path):
    """Issue 20 item 3: a patchelf installed only on the shell's PATH (~/.local/bin, a venv)
    passed doctor and failed the wheel step hours in. It is looked up where the actions look,
    and build.action_path_dirs adds its directory. The system's patchelf is hidden in a mount
    namespace of this test's own (a bind mount of /dev/null over it)."""
    import shutil as sh

    if os.geteuid() != 0 or not sh.which("unshare"):
        pytest.skip("needs root and unshare for a private mount namespace")
    ws = tf_workspace
    local_bin = tmp_path / "home-local-bin"
    local_bin.mkdir()
    real = sh.which("patchelf") or "/usr/bin/patchelf"
    sh.copy2(real, local_bin / "patchelf")  # the user's own copy, outside the system dirs

    def run(*extra):
        profile = write_profile(ws, 'targets = ["//tensorflow/tools/pip_package:wheel"]\n'
                                + "".join(extra))
        script = (f"mount --bind /dev/null {real} && exec {shlex.quote(INVOKE)} --search-root "
                  f"{shlex.quote(str(ROOT))} build --profile {shlex.quote(profile)} --source "
                  f"{shlex.quote(str(ws['source']))}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
        env.update({**ws["env"], "TFBUILD_COLOR": "0", "PATH": f"{local_bin}:{os.environ['PATH']}"})
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script], env=env, capture_output=True, text=True, timeout=600)

    refused = run()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "patchelf" in refused.stderr and str(local_bin / "patchelf") in refused.stderr
    assert "build.action_path_dirs" in refused.stderr
    assert "bazel build" not in refused.stdout  # refused before Bazel started
    built = run(f'action_path_dirs = ["{local_bin}"]\n')
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert (ws["source"].parent / "dist" / "tfs" / WHEEL).exists()
    shutdown(ws["source"], ws["root"])


def test_tools_built_for_the_build_see_the_profiles_library_path(tf_workspace, tmp_path):
    """Issue 30 item 1: a generator built and run in Bazel's exec configuration (as TF's
    op-wrapper generators, protoc, tblgen) loads a library found only through the profile's
    LD_LIBRARY_PATH (toolchain.clang_prefix's runtime dir). --action_env does not reach the
    exec configuration: before the rc's --host_action_env twins, op_gen ran with no
    LD_LIBRARY_PATH and the build failed with `error while loading shared libraries`. The dry
    run and the manifest show what both configurations get."""
    ws = tf_workspace
    prefix = tarball_clang(tmp_path / "clang17" / "instdir")
    runtime = str(prefix / "lib" / "x86_64-unknown-linux-gnu")
    profile = write_profile(ws, 'targets = ["//tensorflow/tools/op_gen:op_wrappers"]\n')
    flags = ["--set", f"toolchain.clang_prefix={prefix}"]
    dry = build(ws, profile, "--dry-run", *flags)
    assert dry.returncode == 0, dry.stderr
    tools = next(line for line in dry.stdout.splitlines() if "(exec configuration):" in line)
    actions = next(line for line in dry.stdout.splitlines() if line.startswith("   actions: "))
    assert f"LD_LIBRARY_PATH={runtime}," in tools and f"LD_LIBRARY_PATH={runtime}," in actions
    assert tools.split(": ", 1)[1] == actions.split(": ", 1)[1]
    proc = build(ws, profile, *flags)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    generated = ws["source"] / "bazel-bin" / "tensorflow" / "tools" / "op_gen" / "op_wrappers.h"
    assert generated.read_text() == "/* generated by op_gen with runtime 17.0.6 */\n"
    rc = (ws["source"] / ".tf_configure.bazelrc").read_text()
    assert f'build --host_action_env LD_LIBRARY_PATH="{runtime}"' in rc
    manifest = json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text())
    inputs = {(i["option"], i["value"]) for i in manifest["cache_keys"]["inputs"]}
    for option in ("--action_env", "--host_action_env"):
        assert (option, f"LD_LIBRARY_PATH={runtime}") in inputs, inputs
    path = rc_action_env(rc)["PATH"]
    assert ("--host_action_env", f"PATH={path}") in inputs


def test_a_cuda_profile_without_cuda_wheel_fails_at_analysis_with_the_fix(
        tf_workspace, runfile_cuda, local_cudnn):
    """Issue 30 item 4: the tree's wheel rule refuses CUDA libraries inside, as TF's tf_wheel
    does (`--config=cuda` sets include_cuda_libs, `--config=cuda_wheel` clears it). Before, the
    tree's wheel ignored the flag, and a CUDA profile that lost cuda_wheel built. Now Bazel
    fails at analysis and tfbuild's diagnosis names build.configs; with it, analysis passes."""
    ws = tf_workspace
    profile = local_bazel_profile(
        ws["source"].parent / "cuda.toml", output_root=ws["root"],
        dist=ws["source"].parent / "dist",
        extra='targets = ["//tensorflow/tools/pip_package:wheel"]\n')
    path = Path(profile)
    path.write_text(path.read_text().replace('extends = "cpu"', 'extends = "cuda-local"') + f"""
[cuda]
local_cuda_path = "{runfile_cuda}"
local_cudnn_path = "{local_cudnn}"
compute_capabilities = ["sm_86"]
""")
    failed = invoke(["build", "--profile", profile, "--source", str(ws["source"]), "--set",
                     "build.configs=[]"], env=ws["env"])  # Bazel's Starlark traceback is shown
    assert failed.returncode != 0 and "site-packages" not in failed.stderr, failed.stdout[-2000:]
    assert "TF wheel shouldn't be built with CUDA dependencies" in failed.stdout + failed.stderr
    assert "build.configs" in failed.stderr and "cuda_wheel" in failed.stderr, failed.stderr
    # with cuda_wheel (the profile's default) the analysis passes: Bazel with tfbuild's rc
    # (the tree's cc rules are not CUDA-aware, so the compile itself is not the point here)
    analysed = bazel(ws["source"], ws["root"], "build", "--nobuild", "--config=cuda_wheel",
                     "//tensorflow/tools/pip_package:wheel", check=False)
    assert analysed.returncode == 0, analysed.stderr[-3000:]
