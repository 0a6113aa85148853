"""Issue 24's guards that need the real tools: `patch --revert` restores the whole tree, and the
PATH a repository rule sees is the profile's, whatever decoys the shell's PATH holds."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from tests.helpers.cli import invoke
from tests.helpers.profiles import local_bazel_profile

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"


def tree(root: Path) -> dict[str, str]:
    """Every file under root (symlinks as their target, Bazel's convenience links left out)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0].startswith("bazel-"):
            continue
        if path.is_symlink():
            out[str(rel)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_revert_restores_every_patched_file_and_check_then_reports_none_applied(tf_workspace):
    """Breakage: the revert loop skips a record (repo.bzl stays patched, exit 0, "restored")."""
    ws = tf_workspace
    untouched = tree(FIXTURE)
    profile = ws["source"].parent / "p.toml"
    profile.write_text(f'extends = "cpu"\n[build]\noutput_user_root = "{ws["root"]}"\n'
                       '[mirrors]\ntf_mirror = "https://mirrors.example.cn/tensorflow/"\n')
    args = ["--profile", str(profile), "--source", str(ws["source"])]
    applied = invoke(["patch", *args], env=ws["env"])
    assert applied.returncode == 0, applied.stderr
    changed = [k for k, v in tree(ws["source"]).items() if untouched.get(k) != v]
    assert len(changed) >= 2, changed  # both repo.bzl copies (TF's and TSL's) were patched
    reverted = invoke(["patch", *args, "--revert"], env=ws["env"])
    assert reverted.returncode == 0, reverted.stderr
    assert tree(ws["source"]) == untouched
    check = invoke(["patch", *args, "--check"], env=ws["env"])
    assert check.returncode == 1, check.stdout  # something to apply again: nothing is applied
    rows = [line for line in check.stdout.splitlines() if "download-mirror" in line]
    assert rows and not any(" applied" in line and "not-applied" not in line for line in rows), \
        check.stdout


RECORD_RULE = '''# A repository rule that records what its environment holds (tests only).
def _impl(ctx):
    ctx.file("BUILD", 'exports_files(["env.txt"])\\n')
    ctx.file("env.txt", "PATH=%s\\npython3=%s\\ncc=%s\\n" % (
        ctx.os.environ.get("PATH", ""), ctx.which("python3"), ctx.which("cc")))

record_env = repository_rule(implementation = _impl, environ = ["PATH"])
'''


def test_a_repository_rule_sees_the_profiles_path_not_the_shells_decoys(tf_workspace, tmp_path):
    """Breakage: the shell's PATH is let into the Bazel client's environment."""
    ws = tf_workspace
    decoys = tmp_path / "decoy-bin"
    decoys.mkdir()
    for name in ("python3", "cc"):
        (decoys / name).write_text("#!/bin/sh\necho decoy\nexit 1\n")
        (decoys / name).chmod(0o755)
    (ws["source"] / "record_env.bzl").write_text(RECORD_RULE)
    with open(ws["source"] / "WORKSPACE", "a") as handle:
        handle.write('\nload("//:record_env.bzl", "record_env")\n\nrecord_env(name = "recorded_env")\n')
    profile = local_bazel_profile(ws["source"].parent / "p.toml", output_root=ws["root"],
                                  dist=tmp_path / "dist",
                                  extra='targets = ["//tensorflow:libtensorflow.so", '
                                        '"@recorded_env//:env.txt"]\n')
    env = {**ws["env"], "PATH": f"{decoys}:{os.environ['PATH']}"}
    proc = invoke(["build", "--profile", profile, "--source", str(ws["source"])], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (recorded,) = list(ws["root"].glob("*/external/recorded_env/env.txt"))
    seen = dict(line.split("=", 1) for line in recorded.read_text().splitlines())
    assert str(decoys) not in seen["PATH"]
    assert seen["PATH"].endswith("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    assert not seen["python3"].startswith(str(decoys)) and not seen["cc"].startswith(str(decoys))
    assert seen["python3"] not in ("", "None")
    # The rc's `--action_env PATH` also reaches repository rules (Bazel merges it into their
    # environment), so the client's own PATH is read from Bazel's record of it: the build events.
    (events,) = list(ws["state"].glob("*/logs/build-*.bep.json"))
    client_paths = set(re.findall(r"--client_env=PATH=([^\"]*)", events.read_text()))
    assert client_paths, "the build events record no client PATH"
    assert not any(str(decoys) in p for p in client_paths), client_paths
