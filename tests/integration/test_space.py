"""Disk space with the real Bazel (Debian's 4.2.3): a disk cache pruned least recently used
first while the last build's entries and those of a running build stay; a build stopped
cleanly before its filesystem fills (a small tmpfs the test mounts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.bazel import bazel, shutdown
from tests.helpers.cli import INVOKE, ROOT, doctor_json, invoke
from tests.helpers.profiles import local_bazel_profile
from tfbuild import diskcache

QUICK = '["//tensorflow:libtensorflow.so"]'
HOUR = 3600 * 10**9


def profile(ws, name, extra="", root=None) -> str:
    return local_bazel_profile(ws["source"].parent / f"{name}.toml",
                               output_root=root or ws["root"],
                               dist=ws["source"].parent / "dist", extra=extra)


def cache_set(dc: Path, max_gib="0") -> list[str]:
    return ["--set", f"build.disk_cache={dc}", "--set", f"build.disk_cache_max_gib={max_gib}"]


def build(ws, prof, *args, env=None):
    proc = invoke(["build", "--profile", prof, "--source", str(ws["source"]), *args],
                  env={**ws["env"], **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def entries(dc: Path) -> dict[str, diskcache.Entry]:
    return {e.path: e for e in diskcache.scan(dc)}


def age(paths, *, mtime_ago_ns: int, atime_ago_ns: int) -> None:
    now = time.time_ns()
    for path in paths:
        os.utime(path, ns=(now - atime_ago_ns, now - mtime_ago_ns))


def gc(ws, dc: Path, max_gib: float, *extra):
    proc = invoke(["cache", "--source", str(ws["source"]), *cache_set(dc), "--gc",
                   "--max-gib", repr(max_gib), *extra], env=ws["env"])
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_disk_cache_is_pruned_lru_first_and_the_last_build_stays_whole(tf_workspace):
    ws = tf_workspace
    dc = ws["source"].parent / "disk-cache"
    set_a = profile(ws, "a", 'bazel_options = ["--action_env=TFBUILD_TEST_SET=a"]\n')
    set_b = profile(ws, "b", 'bazel_options = ["--action_env=TFBUILD_TEST_SET=b"]\n')
    assert build(ws, set_a, *cache_set(dc)).returncode == 0
    first = entries(dc)
    age(first, mtime_ago_ns=3 * HOUR, atime_ago_ns=3 * HOUR)  # built three hours ago
    # After a clean every action of B goes through the disk cache (an action Bazel finds up to
    # date in its output base never reads its entry, so that entry is not refreshed).
    bazel(ws["source"], ws["root"], "clean")
    assert build(ws, set_b, *cache_set(dc)).returncode == 0
    both = entries(dc)
    recency = diskcache.effective_recency(both.values())
    last = {p for p in both if recency[p] > time.time_ns() - HOUR}  # written or read by B
    assert last - first.keys() and first.keys() - last
    total = sum(e.size for e in both.values())
    last_size = sum(both[p].size for p in last)
    assert last and total > last_size
    limit = (last_size + (total - last_size) / 2) / diskcache.GIB

    dry = gc(ws, dc, limit, "--dry-run")
    assert "would remove" in dry.stdout and entries(dc).keys() == both.keys()

    proc = gc(ws, dc, limit)
    assert "removed" in proc.stdout and "freed" in proc.stdout, proc.stdout
    after = entries(dc)
    assert sum(e.size for e in after.values()) <= limit * diskcache.GIB < total
    assert last <= after.keys()  # every entry of the most recent build stayed
    assert all(p in first for p in both.keys() - after.keys())

    bazel(ws["source"], ws["root"], "clean")
    assert build(ws, set_b, *cache_set(dc)).returncode == 0
    manifest = json.loads((ws["source"].parent / "dist" / "b" / "manifest.json").read_text())
    kinds = manifest["run"]["bazel_summary"]["process_kinds"]
    assert kinds.get("remote cache hit", 0) > 0 and set(kinds) <= {"remote cache hit",
                                                                   "internal"}, kinds


def test_build_prunes_the_disk_cache_to_the_profile_limit_first(tf_workspace):
    ws = tf_workspace
    dc = ws["source"].parent / "disk-cache"
    prof = profile(ws, "a", f"targets = {QUICK}\n")
    assert build(ws, prof, *cache_set(dc)).returncode == 0
    fresh = entries(dc)
    # an old 1.1 GiB blob (allocated, not written): the cache is over a 1 GiB limit
    digest = "ab" * 32
    big = dc / "cas" / "ab" / digest
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, int(1.1 * diskcache.GIB))
    age([big], mtime_ago_ns=48 * HOUR, atime_ago_ns=48 * HOUR)
    proc = build(ws, prof, *cache_set(dc, "1"))
    assert proc.returncode == 0, proc.stderr
    assert "in entries, limit 1 GiB: removed 1 entries, freed 1.10 GiB" in proc.stdout, proc.stdout
    assert not big.exists() and fresh.keys() <= entries(dc).keys()


def _start(ws, prof, *args) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFBUILD_")}
    env.update(ws["env"], TFBUILD_COLOR="0")
    return subprocess.Popen([INVOKE, "--search-root", str(ROOT), "build", "--profile", prof,
                             "--source", str(ws["source"]), *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_entries_a_running_build_uses_are_not_pruned(tf_workspace):
    ws = tf_workspace
    dc = ws["source"].parent / "disk-cache"
    quick = profile(ws, "quick", f"targets = {QUICK}\n")
    assert build(ws, quick, *cache_set(dc)).returncode == 0
    used = entries(dc)
    # Read two hours ago, written three hours ago: under relatime a new read leaves the atime
    # alone, so only the running build's registration can protect them (older than the grace).
    age(used, mtime_ago_ns=3 * HOUR, atime_ago_ns=2 * HOUR)
    bazel(ws["source"], ws["root"], "clean")
    slow = profile(ws, "slow", f'targets = ["//tensorflow:libtensorflow.so", "//tensorflow:slow"]\n')
    running = _start(ws, slow, *cache_set(dc))
    try:
        lib = ws["source"] / "bazel-bin" / "tensorflow" / "libtensorflow.so.2.18.1"
        _wait_for(lambda: lib.exists() or running.poll() is not None)
        assert running.poll() is None, running.communicate()
        proc = gc(ws, dc, 1e-9)
        assert "nothing to prune" in proc.stdout, proc.stdout
        assert used.keys() <= entries(dc).keys()
        os.killpg(running.pid, signal.SIGINT)
        running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
    assert running.returncode == 130
    now = time.time_ns()
    stale = {p for p, e in entries(dc).items() if p in used and e.recency_ns < now - HOUR}
    assert stale  # still looking two hours old: only the registration protected them
    gc(ws, dc, 1e-9)  # the build is gone: now they go
    assert not stale & entries(dc).keys()


@pytest.fixture
def small_fs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tfbuild-test", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a 64 MiB tmpfs here (needs root): {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_build_stops_before_the_disk_fills_and_the_next_one_succeeds(tf_workspace, small_fs):
    ws = tf_workspace
    root = small_fs / "bazel-root"
    fills = profile(ws, "fills", 'targets = ["//tensorflow:fills_disk"]\nmin_free_mib = 24\n',
                    root=root)
    try:
        proc = build(ws, fills)
    finally:
        shutdown(ws["source"], root)
    assert proc.returncode == 8, (proc.stdout, proc.stderr)
    err = proc.stderr
    assert "stopped the build before the disk filled" in err and str(small_fs) in err
    assert "build.min_free_mib = 24" in err and "build.output_user_root" in err
    assert "No space left" not in proc.stdout + err
    after = build(ws, profile(ws, "roomy", f"targets = {QUICK}\n"))
    assert after.returncode == 0, after.stderr  # tfbuild's lock was released


@pytest.fixture
def full_tmp(tmp_path):
    """A shell temp dir with no room: a 4 KiB tmpfs, like a small /tmp tmpfs near full."""
    mount = tmp_path / "tiny-tmp"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tfbuild-tmp", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_the_wheel_stages_in_tfbuilds_temp_dir_not_the_shells(tf_workspace, full_tmp):
    """Issue 30 item 2: TF's wheel step copies every file of the wheel into a TemporaryDirectory
    of the TMPDIR that Bazel hands local actions (the client's). The tree's wheel step stages
    the same way: plain Bazel run from a shell whose TMPDIR is full fails with `No space left`
    (so the shape is real), `invoke build` from that shell builds the wheel, staging in
    <output root>/tmp, and doctor counts the staging there."""
    ws = tf_workspace
    wheel = '["//tensorflow/tools/pip_package:wheel"]'
    plain_root = ws["source"].parent / "plain-root"
    plain = bazel(ws["source"], plain_root, "build", "//tensorflow/tools/pip_package:wheel",
                  "--repo_env=HERMETIC_PYTHON_VERSION=3.11",
                  "--repo_env=CC=/usr/lib/llvm-16/bin/clang", check=False,
                  env={"TMPDIR": str(full_tmp)})
    shutdown(ws["source"], plain_root)
    assert plain.returncode != 0 and "No space left on device" in plain.stderr, plain.stderr[-2000:]
    prof = profile(ws, "tmp", f"targets = {wheel}\n")
    proc = build(ws, prof, env={"TMPDIR": str(full_tmp)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list((ws["source"].parent / "dist" / "tmp").glob("*.whl"))
    assert (ws["root"] / "tmp").is_dir()
    code, doc = doctor_json(["--profile", prof, "--source", str(ws["source"])], env=ws["env"])
    row = next(c for c in doc["checks"] if c["id"].startswith("disk.")
               and str(ws["root"] / "tmp") in c["found"])
    assert "Bazel temp dir 2.1" in row["expected"], row
