"""Reproducible, proven (issue 29): the tests' TF-shaped tree builds its wheel as TF's does
(setuptools' bdist_wheel from freshly copied files, entries stamped with SOURCE_DATE_EPOCH or
else the time of the build), so equal wheels are tfbuild's doing, not the fixture's. Real Bazel
(Debian's 4.2.3), two checkouts of one git commit."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tests.helpers.bazel import bazel, shutdown
from tests.helpers.cli import invoke
from tests.helpers.profiles import fixture_wheel, local_bazel_profile
from tests.helpers.checkout import COMMIT_TIME, committed_fixture, git
from tests.integration.conftest import FIXTURE_WORKSPACE

WHEEL_TARGET = "//tensorflow/tools/pip_package:wheel"


def committed_tree(tmp_path: Path) -> Path:
    return committed_fixture(tmp_path / "a" / "tensorflow")


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


def check(source: Path, profile: str, env: dict, *args: str):
    proc = invoke(["verify-reproducible", "--profile", profile, "--source", str(source), *args],
                  env=env, timeout=1200)
    assert "site-packages" not in proc.stderr, proc.stderr  # no Python traceback
    return proc


def plain_profile(tmp_path: Path) -> str:
    return local_bazel_profile(tmp_path / "repro.toml", output_root=tmp_path / "root",
                               dist=tmp_path / "dist")


def test_the_check_passes_and_against_names_an_altered_artifact(tmp_path):
    """verify-reproducible on a committed tree: the first build is made, a second checkout of
    the commit is built sharing nothing, all files equal: exit 0, one line, the verdict in the
    manifest; the worktree and the check's own files are gone afterwards. Then --against: the
    published sums equal pass, one altered sum fails naming the artifact, malformed sums are a
    clear error."""
    source = committed_tree(tmp_path)
    profile = plain_profile(tmp_path)
    env = {"TFBUILD_STATE_DIR": str(tmp_path / "state")}
    proc = check(source, profile, env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    verdict = [line for line in proc.stdout.splitlines() if "reproducible: " in line]
    assert len(verdict) == 1 and "byte-identical in a second build of" in verdict[0], proc.stdout
    dist = tmp_path / "dist" / "repro"
    manifest = json.loads((dist / "manifest.json").read_text())
    assert manifest["reproducible"]["equal"] is True
    assert "TZ=" in manifest["reproducible"]["varied"]
    assert (dist / "reproducible.txt").exists()
    assert git("worktree", "list", "--porcelain", cwd=source).count("worktree ") == 1
    assert not any((tmp_path / "state").glob("*/reproducible"))

    published = tmp_path / "theirs.SHA256SUMS"
    published.write_text((dist / "SHA256SUMS").read_text())
    same = check(source, profile, env, "--against", str(published))
    assert same.returncode == 0 and "match" in same.stdout, same.stdout + same.stderr
    lines = published.read_text().splitlines()
    wheel_line = next(i for i, line in enumerate(lines) if line.endswith(fixture_wheel()))
    lines[wheel_line] = "0" * 64 + lines[wheel_line][64:]
    published.write_text("\n".join(lines) + "\n")
    altered = check(source, profile, env, "--against", str(published))
    assert altered.returncode == 1, altered.stdout + altered.stderr
    assert f"{fixture_wheel()}: sha256" in altered.stdout
    published.write_text("this is not a sums file\n")
    malformed = check(source, profile, env, "--against", str(published))
    assert malformed.returncode == 3 and f"{published}:1: not a `<sha256>  <file name>` line" \
        in malformed.stderr, malformed.stderr
    missing = check(source, profile, env, "--against", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_wheel_that_carries_the_build_time_is_named_member_by_member(tmp_path):
    """A tree whose wheel step writes the time of the build into a file in the wheel: the check
    exits 1 and names that member (bytes), in its output and its report."""
    source = committed_tree(tmp_path)
    script = source / "tensorflow" / "tools" / "pip_package" / "build_wheel.py"
    script.write_text(script.read_text().replace(
        "    shutil.copy(os.path.join(HERE, \"setup.py\"), staging)\n",
        "    shutil.copy(os.path.join(HERE, \"setup.py\"), staging)\n"
        "    import time\n"
        "    with open(os.path.join(staging, PACKAGE, 'build_time.txt'), 'w') as handle:\n"
        # fixed width: the two stamps differ in bytes, not in size (repr's width varies)
        "        handle.write('%.6f' % time.time())\n"))
    (source / "tensorflow" / "tools" / "pip_package" / "setup.py").write_text(
        (source / "tensorflow" / "tools" / "pip_package" / "setup.py").read_text().replace(
            '"include/**/*.h"]', '"include/**/*.h", "build_time.txt"]'))
    git("commit", "-qam", "stamp the build time", cwd=source)
    env = {"TFBUILD_STATE_DIR": str(tmp_path / "state")}
    proc = check(source, plain_profile(tmp_path), env)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert f"{fixture_wheel()}: sha256" in proc.stdout
    assert "tensorflow/build_time.txt: bytes differ" in proc.stdout
    report = (tmp_path / "dist" / "repro" / "reproducible.txt").read_text()
    assert "tensorflow/build_time.txt: bytes differ" in report
    # the libraries are the same: only the wheel differs
    assert "libtensorflow.so.2.18.1" not in report


def test_what_the_check_cannot_compare_is_refused_before_building(tmp_path):
    """A tree without git (and no tensorflow.source_date_epoch), and a checkout with an edit of
    the user's own: clear errors, nothing built. --dry-run prints both build commands."""
    bare = tmp_path / "bare" / "tensorflow"
    shutil.copytree(FIXTURE_WORKSPACE, bare, symlinks=True)
    profile = plain_profile(tmp_path)
    env = {"TFBUILD_STATE_DIR": str(tmp_path / "state")}
    proc = check(bare, profile, env)
    assert proc.returncode == 3 and "is not a git checkout" in proc.stderr, proc.stderr
    assert "tensorflow.source_date_epoch" in proc.stderr
    source = committed_tree(tmp_path)
    dry = check(source, profile, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    commands = [line for line in dry.stdout.splitlines() if " build --source " in line]
    assert len(commands) == 2 and "TZ=" in commands[1] and "build.disk_cache=" in commands[1]
    (source / "configure.py").write_text("# my own edit\n")
    edited = check(source, profile, env)
    assert edited.returncode == 3 and "uncommitted edit(s)" in edited.stderr, edited.stderr
    assert "configure.py" in edited.stderr and "git stash" in edited.stderr
    assert not (tmp_path / "root").exists()  # nothing was built
