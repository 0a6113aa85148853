"""Pure planning of disk-cache pruning, log rotation and the free-space watch."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tfbuild import diskcache, space
from tfbuild.discovery import disk
from tfbuild.diskcache import DAY_NS, Entry, plan_prune, protect_after

pytestmark = pytest.mark.unit

S = 10**9


def entry(name: str, size: int, t: int, store: str = "cas") -> Entry:
    return Entry(f"/c/{store}/{name[:2]}/{name}", size, t * S, store)


def test_plan_removes_least_recently_used_first_until_under_the_limit():
    entries = [entry("cc", 30, 300), entry("aa", 30, 100), entry("bb", 30, 200),
               entry("dd", 30, 400)]
    plan = plan_prune(entries, limit_bytes=65, protect_after_ns=10_000 * S)
    assert [os.path.basename(e.path) for e in plan.remove] == ["aa", "bb"]
    assert plan.total_bytes == 120 and plan.freed_bytes == 60 and plan.after_bytes == 60


def test_plan_removes_an_action_result_before_blobs_of_the_same_age():
    entries = [entry("bb", 10, 100, "cas"), entry("aa", 10, 100, "ac")]
    plan = plan_prune(entries, limit_bytes=10, protect_after_ns=10_000 * S)
    assert [e.store for e in plan.remove] == ["ac"]


def test_plan_keeps_protected_entries_even_over_the_limit():
    entries = [entry("aa", 50, 100), entry("bb", 50, 900)]
    plan = plan_prune(entries, limit_bytes=10, protect_after_ns=500 * S)
    assert [os.path.basename(e.path) for e in plan.remove] == ["aa"]
    assert plan.protected_bytes == 50


def test_plan_under_the_limit_removes_nothing():
    assert plan_prune([entry("aa", 5, 1)], limit_bytes=10, protect_after_ns=10 * S).remove == ()


def test_a_running_build_protects_a_day_before_its_start():
    now = 100 * DAY_NS
    assert protect_after(now, [], grace_s=3600) == now - 3600 * S
    assert protect_after(now, [now - 2 * 3600 * S], grace_s=3600) == now - 2 * 3600 * S - DAY_NS


def test_rotation_keeps_the_files_of_the_last_builds():
    names = ["build-20261101-100000.log", "build-20261102-100000.log",
             "exec-20261102-100000.json", "build-20261103-100000.log", "notes.txt"]
    assert space.rotation_plan(names, 2) == ["build-20261101-100000.log"]
    assert space.rotation_plan(names, 1) == ["build-20261101-100000.log",
                                             "build-20261102-100000.log",
                                             "exec-20261102-100000.json"]


class FakeProc:
    def __init__(self):
        self.signals = []

    def poll(self):
        return None if not self.signals else 1

    def send_signal(self, sig):
        self.signals.append(sig)


def test_watch_sends_sigint_once_under_the_floor(tmp_path):
    free = iter([900, 500, 90, 50])
    watch = space.SpaceWatch(tmp_path, floor_bytes=100, interval_s=0.01, free=lambda p: next(free))
    proc = FakeProc()
    watch.start(proc)
    deadline = time.monotonic() + 5
    while not proc.signals and time.monotonic() < deadline:
        time.sleep(0.01)
    watch.stop()
    assert proc.signals == [signal.SIGINT] and watch.tripped_free == 90


def test_watch_above_the_floor_does_nothing(tmp_path):
    watch = space.SpaceWatch(tmp_path, floor_bytes=100, interval_s=0.01, free=lambda p: 1000)
    proc = FakeProc()
    watch.start(proc)
    time.sleep(0.1)
    watch.stop()
    assert proc.signals == [] and watch.tripped_free is None


def test_scan_finds_entries_and_skips_temporary_files(tmp_path):
    (tmp_path / "ac" / "ab").mkdir(parents=True)
    (tmp_path / "cas" / "cd").mkdir(parents=True)
    (tmp_path / "ac" / "ab" / ("ab12" * 16)).write_bytes(b"x" * 10)
    (tmp_path / "cas" / "cd" / ("cd34" * 16)).write_bytes(b"y" * 5000)
    (tmp_path / "cas" / "0f3c-temp").write_bytes(b"partial")  # Bazel 4's temporary file
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "uuid").write_bytes(b"partial")
    found = {os.path.basename(e.path)[:4]: e for e in diskcache.scan(tmp_path)}
    assert set(found) == {"ab12", "cd34"}
    assert found["ab12"].store == "ac" and found["cd34"].size >= 4096


def test_recency_is_the_later_of_atime_and_mtime(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    os.utime(path, ns=(5 * S, 3 * S))
    assert diskcache.recency_ns(os.stat(path)) == 5 * S
    os.utime(path, ns=(3 * S, 7 * S))
    assert diskcache.recency_ns(os.stat(path)) == 7 * S


def test_a_registered_build_is_running_until_its_block_ends(tmp_path):
    with diskcache.registered(tmp_path, started_ns=42):
        assert [b["started_ns"] for b in diskcache.running_builds(tmp_path)] == [42]
    assert diskcache.running_builds(tmp_path) == []


def test_a_stale_registration_is_not_a_running_build(tmp_path):
    users = tmp_path / diskcache.USERS
    users.mkdir(parents=True)
    (users / "123-1.json").write_text('{"pid": 123, "started_ns": 1}')  # nobody holds its lock
    assert diskcache.running_builds(tmp_path) == []
    assert not (users / "123-1.json").exists()


def _doctor_rows(profile, filesystems):
    from tests.helpers.facts import healthy_facts
    from tfbuild.doctor.checks import run_checks
    from tfbuild.settings import resolve

    settings = resolve(profile, env={}, overrides=()).settings
    return {r.id: r for r in run_checks(settings, healthy_facts(filesystems=filesystems))}


def test_doctor_has_one_row_per_filesystem_with_the_needs_of_its_places():
    from tfbuild.discovery.facts import FsPlace, FsSpace

    media = FsSpace("/media/workspace", 20.0, 500.0, (
        FsPlace("output root", "/media/workspace/bazel", "build.output_user_root"),
        FsPlace("repository cache", "/media/workspace/bazel/cache/repos/v1",
                "build.output_user_root"),
        FsPlace("Bazel temp dir", "/media/workspace/bazel/tmp", "build.output_user_root")))
    home = FsSpace("/", 30.0, 100.0, (
        FsPlace("disk cache", "/home/u/.cache/tfbuild/disk-cache", "build.disk_cache", 25.0),
        FsPlace("dist", "/home/u/dist", "build.dist_dir")))
    rows = _doctor_rows("rtx3050", (media, home))
    assert "machine.disk" not in rows
    cuda = rows["disk./media/workspace"]
    # 45 (output base) + 8 (repository cache) + 6 (the wheel step's staging, in Bazel's temp
    # dir: issue 30 item 2) > 20 free
    assert cuda.status == "warn"
    assert cuda.expected == (">= 59.0 GiB (output root 45.0 + repository cache 8.0 + "
                             "Bazel temp dir 6.0)")
    assert "build.output_user_root" in cuda.hint and "free 39.0 GiB" in cuda.hint
    root = rows["disk./"]
    assert root.status == "ok"  # disk cache grows 40 - 25 = 15, dist 3
    assert root.expected == ">= 18.0 GiB (disk cache 15.0 + dist 3.0)"
    assert "holds 25.0 GiB" in root.found


def test_a_blob_is_as_recent_as_the_newest_action_result_naming_it():
    blob = "ab" * 32
    entries = [Entry(f"/c/cas/ab/{blob}", 10, 100 * S, "cas"),  # stored again, not refreshed
               Entry("/c/ac/cd/" + "cd" * 32, 10, 900 * S, "ac", refs=(blob,)),
               entry("ee", 10, 500)]
    plan = plan_prune(entries, limit_bytes=20, protect_after_ns=10_000 * S)
    assert [os.path.basename(e.path) for e in plan.remove] == ["ee"]


def test_scanning_an_action_result_leaves_its_atime_alone(tmp_path):
    path = tmp_path / "ac" / "ab" / ("ab" * 32)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x0a\x44" + b"cd" * 32)
    os.utime(path, ns=(3 * S, 3 * S))  # atime <= mtime: any plain read would move it
    (found,) = diskcache.scan(tmp_path)
    assert found.refs == ("cd" * 32,)
    assert os.stat(path).st_atime_ns == 3 * S


def test_rotate_leaves_room_for_the_new_build(tmp_path):
    for day in range(1, 5):
        (tmp_path / f"build-2026110{day}-100000.log").write_text("x")
    (tmp_path / "build-20261101-100000.bep.json").write_text("{}")
    (tmp_path / ".build-20261101-100000.raw").mkdir()  # left by a crash
    (tmp_path / "keep.txt").write_text("x")
    removed = space.rotate(tmp_path, keep=3)
    assert removed == [".build-20261101-100000.raw", "build-20261101-100000.bep.json",
                       "build-20261101-100000.log", "build-20261102-100000.log"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "build-20261103-100000.log", "build-20261104-100000.log", "keep.txt"]


# The shape of NVIDIA's redistrib JSON (sizes are strings; cuDNN has one archive per CUDA major),
# written by hand with made-up figures.
CUDA_JSON = """{"release_label": "12.4.0",
 "cuda_cudart": {"linux-x86_64": {"relative_path": "a.tar.xz", "sha256": "00", "size": "1000"}},
 "cuda_nvcc": {"linux-x86_64": {"relative_path": "b.tar.xz", "sha256": "11", "size": "2000"}},
 "nsight_compute": {"linux-x86_64": {"relative_path": "c.tar.xz", "sha256": "22", "size": "9"}}}"""
CUDNN_JSON = """{"cudnn": {"linux-x86_64": {
  "cuda11": {"relative_path": "d.tar.xz", "sha256": "33", "size": "500"},
  "cuda12": {"relative_path": "e.tar.xz", "sha256": "44", "size": "700"}}}}"""


def test_redistribution_sizes_come_from_nvidias_json():
    assert disk.redist_bytes(CUDA_JSON, "cuda", ["cuda_cudart", "cuda_nvcc", "cudnn"], "12") == 3000
    assert disk.redist_bytes(CUDNN_JSON, "cudnn", ["cuda_cudart"], "12") == 700


def test_doctor_counts_the_measured_redistributions():
    from tfbuild.discovery.facts import FsPlace, FsSpace

    fs = FsSpace("/", 100.0, 500.0, (FsPlace("repository cache", "/r", "build.output_user_root",
                                             0.0, 3.5),))
    row = _doctor_rows("rtx3050", (fs,))["disk./"]
    assert row.expected == ">= 5.5 GiB (repository cache 5.5 of which NVIDIA 3.5 per its JSON)"


@pytest.mark.parametrize("max_gib", ["abc", "0", "-1", "nan", "inf", "-inf", "1e309", ""])
def test_cache_refuses_a_bad_size(max_gib, capsys):
    """Parsed on the command line (nan, inf and 1e309 once gave a traceback)."""
    from invoke import Exit

    from tfbuild import cli

    with pytest.raises(Exit) as info:
        cli._gib_flag("--max-gib", max_gib)
    assert info.value.code == 2
    assert "--max-gib" in capsys.readouterr().err


def test_cache_takes_a_positive_size():
    from tfbuild import cli

    assert cli._gib_flag("--max-gib", "0.5") == 0.5


def test_cache_gc_without_any_limit_says_which_key(monkeypatch):
    from tfbuild.errors import ConfigError

    monkeypatch.delenv("TFBUILD_PROFILE", raising=False)
    with pytest.raises(ConfigError, match="build.disk_cache_max_gib is 0"):
        space.cache("cpu", gc=True, overrides=["build.disk_cache_max_gib=0"])


def _old_cache(root, names):
    paths = []
    for name in names:
        path = root / "cas" / name[:2] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
        os.utime(path, ns=(S, S))
        paths.append(path)
    return paths


def test_a_file_open_in_some_process_is_not_removed(tmp_path):
    held, free = _old_cache(tmp_path, ["aa" * 32, "bb" * 32])
    plan = plan_prune(diskcache.scan(tmp_path), limit_bytes=0, protect_after_ns=10 * S)
    assert len(plan.remove) == 2
    with open(held, "rb"):
        result = diskcache.execute(plan, tmp_path)
    assert result.kept_open == 1 and result.removed == 1
    assert held.exists() and not free.exists()


def test_an_entry_used_after_planning_is_not_removed(tmp_path):
    (used,) = _old_cache(tmp_path, ["aa" * 32])
    plan = plan_prune(diskcache.scan(tmp_path), limit_bytes=0, protect_after_ns=10 * S)
    os.utime(used, ns=(5 * S, S))  # read by a build in between
    result = diskcache.execute(plan, tmp_path)
    assert result.kept_used == 1 and used.exists()
