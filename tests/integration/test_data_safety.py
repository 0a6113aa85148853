"""Issue 19's proofs through the real command line: a planted secret in every input channel is
found in no byte tfbuild prints or writes; a decoy tree (a home with ac/ and cas/ folders,
symlinks, a bind mount) loses not one byte to `cache --gc` or to a build's prune; Ctrl-C in the
middle of a probe exits 130 and writes nothing (the test waits on the probe having started, not
on time)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.bazel import bazel
from tests.helpers.cli import INVOKE, LOOPBACK_ONLY, ROOT, invoke
from tests.helpers.nginx import Nginx
from tests.helpers.profiles import local_bazel_profile


def every_byte(*roots: Path) -> bytes:
    out = []
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and not path.is_symlink():
                try:
                    out.append(path.read_bytes())
                except OSError:
                    pass
    return b"\n".join(out)


# One distinct secret per input channel.
SECRETS = {
    "header_env": "SECRET-HEADER-1a2b3c",       # the auth header remote.header_env names
    "bazel_opt_header": "SECRET-OPTHDR-4d5e6f",  # --bazel-opt=--remote_header=...
    "shell_env": "SECRET-SHELLENV-7a8b9c",       # API_TOKEN in the invoking shell
    "action_env": "SECRET-ACTENV-0d1e2f",        # --bazel-opt=--action_env=DB_PASSWORD=...
    "url_profile": "SECRET-URLPROF-3a4b5c",      # user:pw@ in a profile's mirror URL
    "url_env": "SECRET-URLENV-6d7e8f",           # user:pw@ in TFBUILD_REMOTE_CACHE
    "url_flag": "SECRET-URLFLAG-9a0b1c",         # user:pw@ in --remote-cache
    "url_set": "SECRET-URLSET-2d3e4f",           # user:pw@ in --set mirrors.pip_index=
}


def test_a_secret_in_any_input_reaches_no_output(tf_workspace, tmp_path):
    ws = tf_workspace
    server = Nginx(tmp_path / "nginx").start()
    home = tmp_path / "home"
    home.mkdir()
    dist = ws["source"].parent / "dist"
    outputs: list[bytes] = []
    try:
        profile = local_bazel_profile(
            ws["source"].parent / "tfs.toml", output_root=ws["root"], dist=dist,
            extra=f'targets = ["//tensorflow:libtensorflow.so"]\n[remote]\n'
                  f'cache = "{server.url}"\nheader_env = "CACHE_AUTH_HEADER"\n')
        env = {**ws["env"], "HOME": str(home),
               "CACHE_AUTH_HEADER": f"Authorization: Bearer {SECRETS['header_env']}",
               "API_TOKEN": SECRETS["shell_env"]}

        def run(*args, extra_env=None, code=None):
            proc = invoke([*args], env={**env, **(extra_env or {})})
            outputs.extend([proc.stdout.encode(), proc.stderr.encode()])
            assert "Traceback" not in proc.stderr, proc.stderr
            if code is not None:
                assert proc.returncode == code, proc.stdout + proc.stderr
            return proc

        src = ["--profile", profile, "--source", str(ws["source"])]
        run("build", *src, f"--bazel-opt=--remote_header=X-Team-Token={SECRETS['bazel_opt_header']}",
            f"--bazel-opt=--action_env=DB_PASSWORD={SECRETS['action_env']}", code=0)
        built = dist / "tfs"
        run("manifest", "--diff", str(built), str(built), code=0)
        run("profiles", "--show", profile, code=0)
        run("doctor", *src, "--offline")
        run("configure", *src, "--dry-run")
        run("cache", *src)
        # credentials in URLs are refused wherever they come from, and never echoed
        bad_profile = Path(profile).with_name("withurl.toml")
        bad_profile.write_text(f'extends = "tfs"\n[mirrors]\n'
                               f'tf_mirror = "https://bob:{SECRETS["url_profile"]}@127.0.0.1/m"\n')
        refused = [
            run("configure", "--profile", str(bad_profile), "--source", str(ws["source"]), code=2),
            run("profiles", "--show", profile, extra_env={
                "TFBUILD_REMOTE_CACHE": f"https://u:{SECRETS['url_env']}@127.0.0.1:1/c"}, code=2),
            run("build", *src, "--remote-cache",
                f"grpc://tok:{SECRETS['url_flag']}@127.0.0.1:1", code=2),
            run("doctor", *src, "--offline", "--set",
                f"mirrors.pip_index=https://u:{SECRETS['url_set']}@127.0.0.1/simple", code=2),
        ]
        assert all("credentials" in p.stderr for p in refused), [p.stderr for p in refused]
    finally:
        server.stop()
    written = every_byte(ws["state"], dist, ws["source"], home)
    assert written, "nothing written: the test would prove nothing"
    assert b"***" in every_byte(ws["state"])  # masked values are there, as ***
    for channel, secret in SECRETS.items():
        for blob in (*outputs, written):
            assert secret.encode() not in blob, f"{channel}: {secret} leaked"


# -- pruning never touches a decoy ---------------------------------------------------------------
def _decoy_home(base: Path) -> Path:
    home = base / "decoy-home"
    for rel in ("thesis/cas/ch1/draft.tex", "docs/ac/x/notes.txt",
                "cas/ab/" + "ab" * 32, "ac/cd/" + "cd" * 32):  # even shaped like entries
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's {rel}\n")
        os.utime(path, (1, 1))  # 1970: first in line for a least-recently-used prune
    outside = base / "outside"
    (outside / "cas" / "ef").mkdir(parents=True)
    (outside / "cas" / "ef" / ("ef" * 32)).write_text("elsewhere\n")
    os.utime(outside / "cas" / "ef" / ("ef" * 32), (1, 1))
    (home / "linked").symlink_to(outside)
    return home


def _bind_mount(source: Path, target: Path) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "--bind", str(source), str(target)],
                          capture_output=True).returncode == 0


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def decoys(tmp_path):
    home = _decoy_home(tmp_path)
    mounted_from = tmp_path / "mounted"
    (mounted_from / "ac" / "12").mkdir(parents=True)
    (mounted_from / "ac" / "12" / ("12" * 32)).write_text("on another mount\n")
    os.utime(mounted_from / "ac" / "12" / ("12" * 32), (1, 1))
    real = tmp_path / "real-cache"
    (real / "ac" / "aa").mkdir(parents=True)
    (real / "ac" / "aa" / ("aa" * 32)).write_text("a real entry\n")
    (real / "cas").symlink_to(tmp_path / "outside" / "cas")  # cas -> /elsewhere
    mount = tmp_path / "with-mount"
    (mount / "cas" / "34").mkdir(parents=True)
    (mount / "cas" / "34" / ("34" * 32)).write_text("a real blob\n")
    mounted = _bind_mount(mounted_from, mount / "ac")
    (tmp_path / "link-to-home").symlink_to(home)
    yield {"home": home, "link": tmp_path / "link-to-home", "real-with-cas-link": real,
           "with-bind-mount": mount if mounted else None}
    if mounted:
        subprocess.run(["umount", str(mount / "ac")], check=False)


@pytest.mark.parametrize("which", ["home", "link", "real-with-cas-link", "with-bind-mount",
                                   "tree"])
def test_cache_gc_deletes_no_byte_of_a_decoy(decoys, tf_workspace, tmp_path, which):
    ws = tf_workspace
    cache = ws["source"] if which == "tree" else decoys[which]
    if cache is None:
        pytest.skip("mount --bind is not allowed here")
    profile = local_bazel_profile(tmp_path / "p.toml", output_root=ws["root"],
                                  dist=tmp_path / "dist")
    before = _snapshot(tmp_path)
    for args in (["cache", "--gc", "--max-gib", "0.000001"], ["cache", "--dry-run"]):
        proc = invoke([*args, "--profile", profile, "--source", str(ws["source"]),
                       "--set", f"build.disk_cache={cache}", "--set",
                       "build.disk_cache_max_gib=1"], env=ws["env"])
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert "nothing was deleted" in proc.stderr and "build.disk_cache" in proc.stderr
    assert _snapshot(tmp_path) == before


def test_a_builds_prune_deletes_no_byte_of_a_decoy(decoys, tf_workspace, tmp_path):
    ws = tf_workspace
    profile = local_bazel_profile(tmp_path / "p.toml", output_root=ws["root"],
                                  dist=tmp_path / "dist",
                                  extra=f'disk_cache = "{decoys["link"]}"\n'
                                        "disk_cache_max_gib = 1\n")
    Path(profile).write_text(Path(profile).read_text().replace('disk_cache = ""\n', ""))
    before = _snapshot(decoys["home"])
    proc = invoke(["build", "--profile", profile, "--source", str(ws["source"])], env=ws["env"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "is not a Bazel disk cache" in proc.stderr or "home directory" in proc.stderr
    assert "bazel build" not in proc.stdout  # refused before Bazel ran
    assert _snapshot(decoys["home"]) == before


def test_dry_run_on_the_filesystem_root_is_refused_at_once(tf_workspace, tmp_path):
    ws = tf_workspace
    profile = local_bazel_profile(tmp_path / "p.toml", output_root=ws["root"],
                                  dist=tmp_path / "dist")
    proc = invoke(["cache", "--dry-run", "--profile", profile, "--source", str(ws["source"]),
                   "--set", "build.disk_cache=/", "--set", "build.disk_cache_max_gib=1"],
                  env=ws["env"], timeout=60)
    assert proc.returncode == 2 and "the filesystem root" in proc.stderr, proc.stderr


# -- interrupted means interrupted -----------------------------------------------------------------
def _blocking_clang(tmp_path: Path) -> tuple[Path, Path]:
    """A `clang` whose version probe announces itself, then blocks until it is signalled."""
    started = tmp_path / "probe-started"
    clang = tmp_path / "llvm" / "bin" / "clang"
    clang.parent.mkdir(parents=True)
    clang.write_text(f"#!/bin/sh\necho started > {started}\nexec sleep 600\n")
    clang.chmod(0o755)
    return clang, started


def _wait_for(path: Path, proc: subprocess.Popen, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the probe never started"
        time.sleep(0.02)


@pytest.mark.parametrize("task", [["configure", "--force"], ["doctor", "--offline"]])
def test_ctrl_c_during_a_probe_exits_130_and_writes_nothing(tf_workspace, tmp_path, task):
    ws = tf_workspace
    clang, started = _blocking_clang(tmp_path)
    rc = ws["source"] / ".tf_configure.bazelrc"
    before = rc.read_bytes() if rc.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env.update({k: v for k, v in LOOPBACK_ONLY.items() if v is not None})
    env.update({**ws["env"], "TFBUILD_COLOR": "0"})
    proc = subprocess.Popen([INVOKE, "--search-root", str(ROOT), *task, "--profile", "cpu",
                             "--source", str(ws["source"]), "--set",
                             f"toolchain.clang_path={clang}"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for(started, proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert (rc.read_bytes() if rc.exists() else None) == before
