"""Fast guards for behaviours that only integration tests caught (issue 24): each test here
fails when the one-line breakage named in its docstring is applied by hand."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from tests.helpers.facts import facts_for_settings
from tfbuild.configure import task as configure_mod
from tfbuild import paths, space
from tfbuild.doctor.checks import FAIL, Check
from tfbuild.errors import OutOfSpace, PreconditionError
from tfbuild.settings import resolve


# -- the smoke test's agreement (item 4) -----------------------------------------------------------
@pytest.mark.parametrize("delta, ok", [(2e-5, False), (5e-6, True)])
def test_c_api_agreement_is_within_1e_5_not_just_the_same_class(delta, ok):
    """Breakage: compare only the predicted class (drop the tolerance)."""
    from tfbuild.smoke import checks

    python = [0.25, 0.75, 0.6, 0.4]
    c_api = [0.25 + delta, 0.75 - delta, 0.6, 0.4]  # every class still agrees
    result = checks.compare(python, c_api, classes=2)
    assert result.argmax_agree == 2
    assert result.ok is ok


# -- the build lock (building/lock.py had no test) -------------------------------------------------
def test_the_build_lock_refuses_a_second_holder_and_is_taken_again_after_an_error(tmp_path):
    from tfbuild.building.lock import build_lock

    state, source = tmp_path / "state", tmp_path / "tf"
    with build_lock(state, source):
        with pytest.raises(PreconditionError, match=f"another `invoke build` is running on {source}"
                                                     rf" \(pid {os.getpid()}"):
            with build_lock(state, source):
                pass
    with pytest.raises(RuntimeError):
        with build_lock(state, source):
            raise RuntimeError("the build failed")
    with build_lock(state, source):  # the failure released it
        pass


def test_the_build_lock_is_not_inherited_by_child_processes(tmp_path, monkeypatch):
    from tfbuild.building import lock

    opened = []
    real_open = open

    def spy(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr(lock, "open", spy, raising=False)
    with lock.build_lock(tmp_path / "state", tmp_path / "tf"):
        (handle,) = opened
        assert os.get_inheritable(handle.fileno()) is False
        assert fcntl.fcntl(handle.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC


# -- the runner's masking (fast version of an integration check) ----------------------------------
def test_the_runner_echo_and_record_are_masked(capsys, monkeypatch):
    """Breakage: Runner.mask returns its text unchanged."""
    from tfbuild.runner import Runner

    monkeypatch.setenv("TFBUILD_COLOR", "0")
    runner = Runner(echo=True)
    runner.add_secret("Authorization: Bearer tok-guard-1")
    argv = ["bazel", "--remote_header=Authorization: Bearer tok-guard-1"]
    runner._echo(argv, None, False)
    runner._record(argv, None, {"API_TOKEN": "tok-guard-2", "PATH": "/bin"}, True, 0, 0.1)
    record = runner.history[-1].as_dict()
    assert "tok-guard-1" not in capsys.readouterr().out
    assert "tok-guard-1" not in str(record) and "tok-guard-2" not in str(record)
    assert record["env"]["PATH"] == "/bin"


# -- configure: the shim, and doctor's blocking checks ---------------------------------------------
def _tf_tree(root: Path) -> Path:
    for rel in ("WORKSPACE", "configure.py", "tensorflow/core/public/version.h", ".bazelrc"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    return root


def _runfile_cuda(root: Path) -> Path:
    """A runfile-installed CUDA: lib64 only, CUPTI under extras/."""
    for rel in ("lib64/libcudart.so.12", "include/cuda.h", "bin/ptxas",
                "nvvm/libdevice/libdevice.10.bc", "extras/CUPTI/lib64/libcupti.so.12",
                "extras/CUPTI/include/cupti.h"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    return root


def _configure(tmp_path, monkeypatch, rows=()):
    cuda = _runfile_cuda(tmp_path / "cuda")
    profile = resolve("rtx3050", overrides=[f"cuda.local_cuda_path={cuda}"])
    facts = facts_for_settings(profile.settings, "rtx3050")
    monkeypatch.setattr(configure_mod, "diagnose", lambda *a, **k: (facts, list(rows)))
    src = _tf_tree(tmp_path / "tf")
    return src, configure_mod.run_configure(profile, source=src)


def test_configure_builds_the_shim_the_rc_names_with_lib_from_lib64(tmp_path, monkeypatch):
    """Breakages: configure does not create the shim; the shim has no lib/."""
    src, result = _configure(tmp_path, monkeypatch)
    shim = paths.cuda_shim_dir(src, str(tmp_path / "cuda"))
    assert f'LOCAL_CUDA_PATH="{shim}"' in result.content
    assert (shim / "lib" / "libcudart.so.12").exists()  # lib64 seen as lib
    assert (shim / "lib" / "libcupti.so.12").exists()
    assert (shim / "include" / "cupti.h").exists()


def test_configure_refuses_on_a_blocking_doctor_check_and_writes_nothing(tmp_path, monkeypatch):
    """Breakage: configure ignores blocking doctor checks."""
    row = Check("clang", FAIL, "clang 14", "clang 17", "install clang 17", blocking=True)
    with pytest.raises(PreconditionError, match="configure refused, nothing written"):
        _configure(tmp_path, monkeypatch, rows=[row])
    assert not (tmp_path / "tf" / ".tf_configure.bazelrc").exists()


def test_doctor_exits_1_when_a_check_fails(monkeypatch, capsys):
    """Breakage: doctor exits 0 whatever its rows say."""
    from tfbuild.discovery.facts import ContainerEngine
    from tfbuild.doctor import task as doctor_mod

    rows = [Check("gcc", "ok", "gcc 12", "gcc 12"), Check("clang", FAIL, "none", "clang 17", "x")]
    monkeypatch.setattr(doctor_mod, "diagnose", lambda *a, **k: (None, rows))
    monkeypatch.setattr(doctor_mod, "rc_path_checks", lambda source: [])
    monkeypatch.setattr(doctor_mod.container_engine, "fact",
                        lambda choice, image, runner: ContainerEngine(choice, problem="none here"))
    assert doctor_mod.doctor("cpu", source="/nonexistent-tree", offline=True) == 1
    rows[1] = Check("clang", "ok", "clang 17", "clang 17")
    assert doctor_mod.doctor("cpu", source="/nonexistent-tree", offline=True) == 0


# -- downloads: a wrong sha256 is never accepted ---------------------------------------------------
def test_a_download_with_a_wrong_sha256_leaves_nothing(tmp_path):
    """Breakage: fetch accepts content whose sha256 differs from the pin."""
    import hashlib

    from tfbuild.downloads.fetch import FetchError, fetch

    source = tmp_path / "bazelisk-upstream"
    source.write_bytes(b"the real binary")
    dest = tmp_path / "bin" / "bazelisk"
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch([source.as_uri()], dest, "0" * 64, session=None)
    assert not dest.exists() and not dest.with_name("bazelisk.part").exists()
    good = hashlib.sha256(b"the real binary").hexdigest()
    assert fetch([source.as_uri()], dest, good, session=None).path == dest
    assert dest.read_bytes() == b"the real binary"


# -- the disk watch is attached to Bazel -----------------------------------------------------------
class FakeBazel:
    """What the runner streams: records the signals sent to it, ends when interrupted."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.stopped = threading.Event()

    def poll(self):
        return 8 if self.stopped.is_set() else None

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.stopped.set()


def test_the_space_watch_stops_bazel_through_the_build_step(tmp_path, monkeypatch):
    """Breakage: the free-space watch is not attached to the Bazel process (on_start)."""
    import signal

    from tfbuild.building import task as building
    from tfbuild.building.command import BazelCommand

    profile = resolve("cpu", overrides=[f"build.output_user_root={tmp_path / 'root'}",
                                        "build.min_free_mib=1000000000"])  # more than any disk
    fake = FakeBazel()

    class Runner:
        def stream(self, argv, *, on_text=None, cwd=None, env=None, on_start=None, **kw):
            if on_start:
                on_start(fake)
            assert fake.stopped.wait(20), "the watch never stopped Bazel"
            return 8

        @staticmethod
        def mask(text):
            return text

    cmd = BazelCommand(bazel="bazel", startup=(), command="build", options=(), targets=("//x",))
    with pytest.raises(OutOfSpace, match="build.min_free_mib"):
        building.run_bazel_guarded(profile.settings, tmp_path, cmd, {}, tmp_path / "b.log",
                                   Runner(), None)
    assert fake.signals == [signal.SIGINT]


# -- manifest --diff on builds that really differ (item 2) -----------------------------------------
RC = """build --action_env PATH="/usr/lib/llvm-17/bin:/usr/bin:/bin"
build --repo_env PIP_INDEX_URL="https://pypi.example/simple"
build:cuda --action_env LD_LIBRARY_PATH="/opt/cudnn/lib"
build --copt=-Wno-sign-compare
"""


def _manifest(tmp_path: Path, name: str, rc: str = RC, clang: str = "17.0.6",
              wheel_sha: str = "a" * 64) -> str:
    import json

    from tfbuild import cachekeys

    doc = {"profile": {"name": "cpu"}, "cache_keys": {"inputs": [
        i.as_dict() for i in cachekeys.from_rc(rc)]},
        "toolchain": {"clang": {"path": "/usr/lib/llvm-17/bin/clang", "version": clang},
                      "bazel": {"path": "/usr/bin/bazel", "version": "6.5.0"}},
        "artifacts": [{"name": "tensorflow-2.18.1-cp310-cp310-linux_x86_64.whl",
                       "sha256": wheel_sha}], "run": {"host": name}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _diff(capsys, a: str, b: str) -> tuple[int, str]:
    from tfbuild.building.manifest import diff_command

    code = diff_command(a, b)
    got = capsys.readouterr()
    return code, got.out + got.err


def test_manifest_diff_of_identical_builds_says_they_match(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TFBUILD_COLOR", "0")
    code, text = _diff(capsys, _manifest(tmp_path, "a"), _manifest(tmp_path, "b"))
    assert code == 0
    assert "action keys can match" in text and "cannot match" not in text
    assert "the builds match" in text


def test_manifest_diff_names_an_action_input_that_differs(tmp_path, capsys, monkeypatch):
    """Breakage: manifest --diff always prints "action keys can match"."""
    monkeypatch.setenv("TFBUILD_COLOR", "0")
    other = RC.replace("/opt/cudnn/lib", "/media/workspace/cudnn0910/instdir/lib")
    code, text = _diff(capsys, _manifest(tmp_path, "a"), _manifest(tmp_path, "b", rc=other))
    assert code == 1
    assert "action keys cannot match" in text and "action keys can match" not in text
    assert "only in A: build:cuda --action_env=LD_LIBRARY_PATH=/opt/cudnn/lib" in text
    assert "only in B: build:cuda --action_env=LD_LIBRARY_PATH=" in text
    assert "cudnn0910" in text


def test_manifest_diff_names_a_toolchain_version_that_differs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TFBUILD_COLOR", "0")
    code, text = _diff(capsys, _manifest(tmp_path, "a"),
                       _manifest(tmp_path, "b", clang="17.0.2", wheel_sha="b" * 64))
    assert code == 1
    assert "action keys cannot match" in text
    assert "toolchain clang.version: A 17.0.6 / B 17.0.2" in text
    assert "artifact hashes differ" in text


def test_manifest_diff_tells_repository_settings_from_action_keys(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TFBUILD_COLOR", "0")
    other = RC.replace("pypi.example", "mirror.example")
    code, text = _diff(capsys, _manifest(tmp_path, "a"), _manifest(tmp_path, "b", rc=other))
    assert "action keys can match" in text
    assert "repository setting differs (re-fetch, not an action key)" in text
    assert "mirror.example" in text and code == 1


# -- the PATH Bazel's client (and so its repository rules) sees (item 3) ---------------------------
def test_the_bazel_client_path_is_the_profiles_not_the_shells():
    """Breakage: the shell's PATH is let into the client environment."""
    import dataclasses

    from tfbuild import environment
    from tests.helpers.facts import healthy_facts

    shell = ("/home/u/.venv/bin", "/home/u/.local/bin", "/usr/local/bin", "/usr/bin", "/bin")
    facts = dataclasses.replace(healthy_facts(), path=shell)
    settings = resolve("rtx3050").settings
    run_env = environment.compute(settings, facts, output_base=Path("/ob"))
    client = environment.bazel_client_env(run_env, facts)
    assert client["PATH"] == environment.action_path(facts)
    dirs = client["PATH"].split(":")
    assert "/home/u/.venv/bin" not in dirs and "/home/u/.local/bin" not in dirs
    assert dirs[-6:] == list(paths.SYSTEM_PATH)
    other = environment.bazel_client_env(run_env, dataclasses.replace(facts, path=("/opt/x/bin",)))
    assert other["PATH"] == client["PATH"]  # the same from any shell
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "CC", "CXX"):
        assert name in client and client[name] is None  # unset for the client


# -- issue 19 leftovers: small pure checks ---------------------------------------------------------
def test_a_full_filesystem_names_the_file_and_what_moves_it(tmp_path, monkeypatch):
    import errno

    from tfbuild import files

    target = tmp_path / "environment.json"
    target.write_text("old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OutOfSpace) as info:
        files.atomic_write(target, "new")
    assert str(target) in info.value.message and "TFBUILD_STATE_DIR" in info.value.hint
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_symlinked_rc_file_becomes_a_file_and_what_it_showed_is_kept(tmp_path):
    from tfbuild.configure import rcfile

    shared = tmp_path / "shared.bazelrc"
    shared.write_text("build --copt=-O3\n")
    rc = tmp_path / "tf" / rcfile.RC_NAME
    rc.parent.mkdir()
    rc.symlink_to(shared)
    outcome = rcfile.write(rc, "build --copt=-O2\n", backup_dir=tmp_path / "backups", stamp="s")
    assert outcome.replaced_link == str(shared) and outcome.changed
    assert not rc.is_symlink() and rc.read_text() == "build --copt=-O2\n"
    assert shared.read_text() == "build --copt=-O3\n"  # the link's target is not written
    assert outcome.backup.read_text() == "build --copt=-O3\n"


def test_the_hermetic_versions_suggested_are_ones_a_profile_can_hold():
    from tfbuild.doctor import checks
    from tfbuild.settings.validate import RULES

    suggested = checks._settable(["11.8", "12.4.0", "8.9.4.25", "9.3.0"])
    assert suggested == ["12.4.0", "9.3.0"]
    settings = resolve("cpu").settings
    for version in suggested:
        assert RULES["cuda.version"](version, settings) == ""


# -- issue 20 item 3: tools the actions run, looked up where the actions look ----------------------
def test_the_actions_path_is_one_list_for_discovery_and_the_rc():
    assert paths.action_path_dirs(ptxas="/cuda/bin/ptxas", clang="/llvm/bin/clang",
                                  extra=["/opt/tools/bin"]) == [
        "/cuda/bin", "/llvm/bin", "/opt/tools/bin", *paths.SYSTEM_PATH]


def test_a_tool_only_on_the_shells_path_blocks_a_wheel_build_naming_the_key():
    import dataclasses

    from tfbuild.discovery.facts import Tool
    from tfbuild.doctor.checks import run_checks
    from tests.helpers.facts import healthy_facts

    settings = resolve("cpu", overrides=["toolchain.clang_major=17"]).settings
    facts = dataclasses.replace(healthy_facts(cuda=None, cudnn=None, path_ptxas=None),
                                patchelf=Tool("patchelf"),
                                patchelf_elsewhere="/home/u/.local/bin/patchelf")
    (row,) = [r for r in run_checks(settings, facts) if r.id == "patchelf"]
    assert row.status == FAIL and row.blocks
    assert "/home/u/.local/bin/patchelf" in row.found and "build.action_path_dirs" in row.hint
    libs_only = dataclasses.replace(settings, build=dataclasses.replace(
        settings.build, targets=["//tensorflow:libtensorflow.so"]))
    (row,) = [r for r in run_checks(libs_only, facts) if r.id == "patchelf"]
    assert row.status == FAIL and not row.blocks  # no wheel, no patchelf needed


# -- issue 20 item 9: action keys a function of the profile ---------------------------------------
def _rc(settings, facts) -> str:
    from tfbuild import environment
    from tfbuild.configure import rcfile
    from tfbuild.configure.plan import plan

    env = environment.compute(settings, facts, output_base=Path("/ob"))
    return rcfile.render(plan(settings, facts, env, profile="team", shim="/state/cuda-shim-x"))


def _ld_line(rc: str) -> str:
    return next((line for line in rc.splitlines() if "LD_LIBRARY_PATH" in line
                 and line.startswith("build --action_env")), "")


def test_ld_library_path_in_the_keys_does_not_depend_on_what_discovery_found():
    import dataclasses

    from tests.helpers.facts import facts_for_settings

    settings = resolve("rtx3050").settings
    found = facts_for_settings(settings, "rtx3050")
    missed = dataclasses.replace(found, clang=dataclasses.replace(found.clang,
                                                                  libcxx_runtime_dir=None))
    assert _ld_line(_rc(settings, found)) == _ld_line(_rc(settings, missed))
    assert "/media/workspace/clang17/instdir/lib/x86_64-unknown-linux-gnu" in _ld_line(
        _rc(settings, missed))


def test_a_distribution_clang_adds_no_libcxx_dir_to_the_keys():
    import dataclasses

    from tests.helpers.facts import healthy_facts

    settings = resolve("cpu", overrides=["toolchain.clang_major=17"]).settings
    facts = dataclasses.replace(healthy_facts(cuda=None, cudnn=None, path_ptxas=None),
                                clang=dataclasses.replace(healthy_facts().clang,
                                                          libcxx_runtime_dir="/opt/found/lib"))
    assert _ld_line(_rc(settings, facts)) == ""  # nothing from discovery reaches the keys


def test_the_cache_key_row_lists_the_install_paths_machines_must_share():
    from tfbuild import cachekeys

    inputs = cachekeys.from_rc(
        'build --action_env PATH="/opt/llvm-17/bin:/usr/local/bin:/usr/bin:/bin"\n'
        'build --action_env LD_LIBRARY_PATH="/opt/llvm-17/lib/x86_64-unknown-linux-gnu"\n'
        'build --repo_env LOCAL_CUDA_PATH="/home/u/.local/state/x"\n')
    assert cachekeys.install_paths(inputs, paths.SYSTEM_PATH) == [
        "/opt/llvm-17/bin", "/opt/llvm-17/lib/x86_64-unknown-linux-gnu"]
