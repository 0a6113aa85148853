"""The bad-input corpus through the real command line (`invoke ...`), run as an unprivileged
user (root would write anyway): every path-valued key and flag in its wrong states (missing, a
file for a directory and the reverse, unreadable, not UTF-8, not writable), and the numbered
cases of issue 12. Each case: the exit code of its kind, the key/flag and path named on the
error line, no traceback, and not one file changed. A new case is one line of CASES."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "tfshaped"
INVOKE = str(Path(sys.executable).parent / "invoke")
NOBODY = 65534
# The machine's Python: the venv's may live where the unprivileged user cannot look.
CPU = ["--profile", "cpu", "--set", "toolchain.clang_major=16", "--set",
       "toolchain.python=/usr/bin/python3"]


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]   # "{B}" is the sandbox, "{TF}" its TF-shaped tree
    code: int
    named: tuple[str, ...]  # each must be on the error line ("{B}" expanded)
    setup: str = ""         # one of SETUPS, applied to "{B}/x" (see below)
    env: tuple[tuple[str, str], ...] = ()
    anywhere: bool = False  # named anywhere in stderr (doctor's list of blocking checks)


def C(id, args, code, named, setup="", env=(), anywhere=False):  # noqa: N802 - one line a case
    return Case(id, tuple(args.split()), code, tuple(named), setup, tuple(env), anywhere)


GPU = "--set cuda.enabled=true --set cuda.compute_capabilities=sm_86"


def _non_utf8(p: Path):
    p.write_bytes(b'description = "caf\xe9"\n')


def _unreadable_file(p: Path):
    p.write_text("x = 1\n")
    p.chmod(0)


def _unreadable_dir(p: Path):
    p.mkdir()
    p.chmod(0)


def _ro_dir(p: Path):
    p.mkdir()
    p.chmod(0o555)


def _tampered_dist(p: Path):
    d = p / "cpu"
    d.mkdir(parents=True)
    wheel = d / "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"the built wheel")
    (d / "SHA256SUMS").write_text(f"{hashlib.sha256(b'the built wheel').hexdigest()}  {wheel.name}\n")
    wheel.write_bytes(b"a broken copy")


def _dist_without_sums(p: Path):
    (p / "cpu").mkdir(parents=True)
    (p / "cpu" / "tensorflow-2.18.1-cp311-cp311-linux_x86_64.whl").write_bytes(b"w")


SETUPS = {
    "": lambda p: None,
    "file": lambda p: p.write_text("a file\n"),
    "dir": lambda p: p.mkdir(),
    "non-utf8": _non_utf8,
    "unreadable-file": _unreadable_file,
    "unreadable-dir": _unreadable_dir,
    "ro-dir": _ro_dir,
    "bad-toml": lambda p: p.write_text("[build\n"),
    "bad-json": lambda p: p.write_text("{not json\n"),
    "extends-missing": lambda p: p.write_text('extends = "no-such-profile"\n'),
    "tampered-dist": _tampered_dist,
    "dist-no-sums": _dist_without_sums,
    "rc-dir": lambda p: None,  # handled in the test: .tf_configure.bazelrc is a directory
    "ro-tree": lambda p: None,  # handled in the test: the TF tree is read-only
}

X = "{B}/x"
CASES = [
    # --profile (and the profile files it reads)
    C("profile-missing", "profiles --show {B}/x/p.toml", 2, ["--profile", "{B}/x/p.toml"]),
    C("profile-is-dir", "profiles --show {B}/x", 2, ["--profile", X, "is a directory"], "dir"),
    C("profile-unreadable", "profiles --show {B}/x", 3, ["--profile", X, "not readable"], "unreadable-file"),
    C("profile-not-utf8", "profiles --show {B}/x", 2, ["--profile", X, "not UTF-8"], "non-utf8"),
    C("profile-bad-toml", "profiles --show {B}/x", 2, [X, "not valid TOML"], "bad-toml"),
    C("profile-extends-missing", "profiles --show {B}/x", 2, ["extends in", X, "no-such-profile", "{B}/no-such-profile.toml"], "extends-missing"),
    C("profiles-dir-is-file", "profiles", 2, ["TFBUILD_PROFILES_DIR", X], "file", [("TFBUILD_PROFILES_DIR", X)]),
    # --source / tensorflow.source_dir
    C("source-missing", "configure --force --source {B}/x", 3, ["--source", X, "does not exist"]),
    C("source-is-file", "configure --force --source {B}/x", 2, ["--source", X, "is a file"], "file"),
    C("source-unreadable", "configure --force --source {B}/x", 3, ["--source", X, "not readable"], "unreadable-dir"),
    C("source-not-writable", "configure --force --source {TF}", 3, ["--source", "{TF}", "not writable"], "ro-tree"),
    C("source-has-space", "configure --force --source {B}/my{SP}tf", 2, ["--source", "spaces"], "",),
    C("source-dir-key-has-space", "build --set tensorflow.source_dir={B}/a{SP}b", 2, ["tensorflow.source_dir", "spaces"]),
    C("rc-is-a-directory", "configure --force --source {TF}", 2, [".tf_configure.bazelrc", "is a directory"], "rc-dir"),
    C("patch-source-is-file", "patch --source {B}/x", 2, ["--source", X, "is a file"], "file"),
    C("patch-source-missing", "patch --source {B}/x", 3, [X, "does not exist"]),
    # the state directory
    C("state-dir-is-file", "configure --force --source {TF}", 2, ["state directory", X], "file", [("TFBUILD_STATE_DIR", X)]),
    C("state-dir-cannot-be-created", "configure --force --source {TF}", 3, ["state directory", "not writable"], "ro-dir", [("TFBUILD_STATE_DIR", "{B}/x/state")]),
    # prefetch --distdir
    C("distdir-is-file", "prefetch --source {TF} --distdir {B}/x", 2, ["--distdir", X, "is a file"], "file"),
    C("distdir-not-writable", "prefetch --source {TF} --distdir {B}/x/d", 3, ["--distdir", "not writable"], "ro-dir"),
    C("prefetch-jobs-zero", "prefetch --source {TF} --jobs 0", 2, ["--jobs"]),
    C("prefetch-jobs-not-a-number", "prefetch --source {TF} --jobs many", 2, ["--jobs", "many"]),
    # build outputs
    C("output-root-is-file", "build --source {TF} --set build.output_user_root={B}/x", 2, ["build.output_user_root", X], "file"),
    C("dist-dir-is-file", "build --source {TF} --set build.dist_dir={B}/x", 2, ["build.dist_dir", X], "file"),
    C("disk-cache-not-writable", "build --source {TF} --set build.disk_cache={B}/x/c", 3, ["build.disk_cache", "not writable"], "ro-dir"),
    C("output-root-has-space", "build --source {TF} --set build.output_user_root={B}/a{SP}b", 2, ["build.output_user_root", "spaces"]),
    # smoke-test inputs
    C("wheel-missing", "smoke-test --wheel {B}/x.whl", 2, ["--wheel", "{B}/x.whl"]),
    C("wheel-is-dir", "smoke-test --wheel {B}/x", 2, ["--wheel", X, "is a directory"], "dir"),
    C("wheel-unreadable", "smoke-test --wheel {B}/x", 3, ["--wheel", X, "not readable"], "unreadable-file"),
    C("libtensorflow-is-file", "smoke-test --libtensorflow {B}/x", 2, ["--libtensorflow", X, "is a file"], "file"),
    C("libtensorflow-missing", "smoke-test --libtensorflow {B}/x", 3, ["--libtensorflow", X, "does not exist"]),
    C("dist-wheel-tampered", "smoke-test --set build.dist_dir={B}/x", 3, ["{B}/x/cpu/tensorflow-2.18.1", "does not match", hashlib.sha256(b"the built wheel").hexdigest(), hashlib.sha256(b"a broken copy").hexdigest()], "tampered-dist"),
    C("dist-without-sums", "smoke-test --set build.dist_dir={B}/x", 3, ["{B}/x/cpu/SHA256SUMS", "does not exist"], "dist-no-sums"),
    C("smoke-dist-dir-is-file", "smoke-test --set build.dist_dir={B}/x", 2, ["build.dist_dir", X, "is a file"], "file"),
    # manifest --diff
    C("manifest-missing", "manifest --diff {B}/x {B}/x", 2, [X]),
    C("manifest-not-utf8", "manifest --diff {B}/x {B}/x", 2, ["manifest --diff", X, "not UTF-8"], "non-utf8"),
    C("manifest-unreadable", "manifest --diff {B}/x {B}/x", 3, ["manifest --diff", X, "not readable"], "unreadable-file"),
    C("manifest-not-json", "manifest --diff {B}/x {B}/x", 2, [X, "not valid JSON"], "bad-json"),
    # machine paths of the profile: doctor's blocking checks name the key and the path
    C("clang-prefix-missing", "configure --source {TF} --set toolchain.clang_prefix={B}/x", 3, ["blocking doctor checks", "toolchain.clang_prefix", X], anywhere=True),
    C("clang-prefix-is-file", "configure --source {TF} --set toolchain.clang_prefix={B}/x", 3, ["blocking doctor checks", "toolchain.clang_prefix", X], "file", anywhere=True),
    C("clang-path-missing", "configure --source {TF} --set toolchain.clang_path={B}/x/clang", 3, ["toolchain.clang_path", "{B}/x/clang"], anywhere=True),
    C("clang-path-is-dir", "configure --source {TF} --set toolchain.clang_path={B}/x/clang", 3, ["toolchain.clang_path", "{B}/x/clang"], "dir", anywhere=True),
    C("python-missing", "configure --source {TF} --set toolchain.python={B}/x", 3, ["toolchain.python", X], anywhere=True),
    C("python-is-dir", "configure --source {TF} --set toolchain.python={B}/x", 3, ["toolchain.python", X], "dir", anywhere=True),
    C("python-unreadable", "configure --source {TF} --set toolchain.python={B}/x", 3, ["toolchain.python", X], "unreadable-file", anywhere=True),
    C("bazel-missing", "build --source {TF} --set toolchain.bazel={B}/x", 3, ["bazel", X], anywhere=True),
    C("bazel-is-dir", "build --source {TF} --set toolchain.bazel={B}/x", 3, ["bazel", X], "dir", anywhere=True),
    C("cuda-path-missing", "configure --source {TF} " + GPU + " --set cuda.local_cuda_path={B}/x", 3, ["cuda.local_cuda_path", X], anywhere=True),
    C("cuda-path-is-file", "configure --source {TF} " + GPU + " --set cuda.local_cuda_path={B}/x", 3, ["cuda.local_cuda_path", X], "file", anywhere=True),
    C("cuda-path-unreadable", "configure --source {TF} " + GPU + " --set cuda.local_cuda_path={B}/x", 3, ["cuda.local_cuda_path", X], "unreadable-dir", anywhere=True),
    C("cudnn-path-missing", "configure --source {TF} " + GPU + " --set cuda.local_cudnn_path={B}/x", 3, ["cuda.local_cudnn_path", X], anywhere=True),
    C("cudnn-path-is-file", "configure --source {TF} " + GPU + " --set cuda.local_cudnn_path={B}/x", 3, ["cuda.local_cudnn_path", X], "file", anywhere=True),
    C("nccl-path-missing", "configure --source {TF} " + GPU + " --set cuda.local_nccl_path={B}/x", 3, ["cuda.local_nccl_path", X], anywhere=True),
    C("nccl-path-is-file", "configure --source {TF} " + GPU + " --set cuda.local_nccl_path={B}/x", 3, ["cuda.local_nccl_path", X], "file", anywhere=True),
    # issue 12's values (--force never accepts an invalid value)
    C("jobs-negative", "build --source {TF} --jobs=-2", 2, ["--jobs", "-2"]),
    C("targets-empty", "build --source {TF} --set build.targets=[]", 2, ["build.targets", "nothing to build"]),
    C("uid-root", "docker-build --dry-run --set docker.uid=0", 2, ["docker.uid", "root"]),
    C("cuda-no-capabilities-forced", "configure --force --source {TF} --set cuda.enabled=true --set cuda.compute_capabilities=[]", 2, ["cuda.compute_capabilities", "is empty"]),
]


@pytest.fixture
def sandbox():
    base = Path(subprocess.run(["mktemp", "-d", "/tmp/tfbuild-bad.XXXXXX"], capture_output=True,
                               text=True, check=True).stdout.strip())
    os.chmod(base, 0o755)
    shutil.copytree(FIXTURE, base / "tf", symlinks=True)
    for name in ("home", "state"):
        (base / name).mkdir()
    yield base
    subprocess.run(["chmod", "-R", "u+rwX", str(base)], check=False)
    shutil.rmtree(base, ignore_errors=True)


# Files that are not results: the build's lock (an flock) and doctor's probe cache.
CACHES = {"build.lock", "probe-cache.json"}


def snapshot(base: Path) -> dict[str, str]:
    """Every path under base -> its kind, mode and content hash (as root: reads everything)."""
    out = {}
    for path in sorted(base.rglob("*")):
        st = path.lstat()
        if path.name in CACHES or (path.is_dir() and base / "state" in path.parents):
            continue  # the build's flock file, doctor's probe cache (and their directory)
        if path.is_symlink():
            out[str(path)] = f"link {os.readlink(path)}"
        elif path.is_dir():
            out[str(path)] = f"dir {st.st_mode:o}"
        else:
            out[str(path)] = f"file {st.st_mode:o} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    return out


def run_as_user(argv: list[str], base: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(base)], check=True)
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    full = {"PATH": os.environ["PATH"], "HOME": str(base / "home"), "TFBUILD_COLOR": "0",
            "TFBUILD_STATE_DIR": str(base / "state"), "LANG": "C.UTF-8", **env}
    return subprocess.run(argv, cwd=base / "home", env=full, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, sandbox: Path):
    b, tf = str(sandbox), str(sandbox / "tf")

    def fill(text: str) -> str:
        return text.replace("{B}", b).replace("{TF}", tf)

    SETUPS[case.setup](sandbox / "x")
    if case.setup == "rc-dir":
        (sandbox / "tf" / ".tf_configure.bazelrc").mkdir()
    if case.setup == "ro-tree":
        for path in [sandbox / "tf", *(sandbox / "tf").rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o555 if path.is_dir() else 0o444)
    args = [fill(a).replace("{SP}", " ") for a in case.args]
    if "--profile" not in args and "--show" not in args and args[0] not in ("manifest", "profiles"):
        args[1:1] = CPU
    env = {k: fill(v) for k, v in case.env}
    before = snapshot(sandbox)
    proc = run_as_user([INVOKE, "--search-root", str(ROOT), *args], sandbox, env)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    assert proc.returncode == case.code, output
    error_line = next((line for line in proc.stderr.splitlines() if line.startswith("error:")), "")
    if case.anywhere:
        error_line = proc.stderr[proc.stderr.index("error:"):] if "error:" in proc.stderr else ""
    for expected in case.named:
        assert fill(expected) in error_line, f"{fill(expected)!r} not in {error_line!r}\n{output}"
    assert snapshot(sandbox) == before, "files changed"


def test_every_path_flag_and_key_has_a_case():
    """The path-valued flags and keys this corpus walks (a new one needs a line in CASES)."""
    walked = " ".join(" ".join(c.args) + " " + " ".join(k for k, _ in c.env) for c in CASES)
    for name in ("--profile", "--show", "--source", "--distdir", "--wheel", "--libtensorflow",
                 "--diff", "TFBUILD_STATE_DIR", "TFBUILD_PROFILES_DIR", "tensorflow.source_dir",
                 "build.output_user_root", "build.dist_dir", "build.disk_cache",
                 "toolchain.clang_prefix", "toolchain.clang_path", "toolchain.python",
                 "toolchain.bazel", "cuda.local_cuda_path", "cuda.local_cudnn_path",
                 "cuda.local_nccl_path"):
        assert name in walked or (name == "--profile" and "--show" in walked), name
