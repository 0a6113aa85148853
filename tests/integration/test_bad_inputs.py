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


def _decoy_home(p: Path):
    for rel in ("thesis/cas/ch1/draft.tex", "docs/ac/x/notes.txt"):
        (p / rel).parent.mkdir(parents=True, exist_ok=True)
        (p / rel).write_text("the user's own\n")
        os.utime(p / rel, (1, 1))


def _cache_ac_is_file(p: Path):
    (p / "cas" / "ab").mkdir(parents=True)
    (p / "cas" / "ab" / ("ab" * 32)).write_text("blob")
    (p / "ac").write_text("not a directory")


def _deep_extends(p: Path):
    p.mkdir()
    for i in range(40):
        (p / f"p{i}.toml").write_text(f'extends = "p{i + 1}"\n' if i < 39 else 'extends = "cpu"\n')


def _fifo_dist(p: Path):
    (p / "cpu").mkdir(parents=True)
    (p / "cpu" / "manifest.json").write_text("{}")
    os.mkfifo(p / "cpu" / "SHA256SUMS")


def _sums_to_dev_zero(p: Path):
    (p / "cpu").mkdir(parents=True)
    (p / "cpu" / "manifest.json").write_text("{}")
    (p / "cpu" / "zero.whl").symlink_to("/dev/zero")
    (p / "cpu" / "SHA256SUMS").write_text(f"{'0' * 64}  zero.whl\n")


def _duplicate_sums(p: Path):
    (p / "cpu").mkdir(parents=True)
    (p / "cpu" / "manifest.json").write_text("{}")
    (p / "cpu" / "w.whl").write_bytes(b"w")
    (p / "cpu" / "SHA256SUMS").write_text(f"{hashlib.sha256(b'w').hexdigest()}  w.whl\n"
                                          f"{'1' * 64}  w.whl\n")


def _profile_named(name: str):
    def make(p: Path):
        p.mkdir()
        (p / name).write_text('extends = "cpu"\n')
    return make


def _loop(p: Path):
    p.mkdir()
    (p / "a").symlink_to(p / "b")
    (p / "b").symlink_to(p / "a")


def _deep_json(p: Path):
    p.write_text("[" * 100_000 + "]" * 100_000)


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
    "decoy-home": _decoy_home,
    "cache-ac-is-file": _cache_ac_is_file,
    "deep-extends": _deep_extends,
    "fifo": lambda p: os.mkfifo(p),
    "fifo-dist": _fifo_dist,
    "sums-dev-zero": _sums_to_dev_zero,
    "duplicate-sums": _duplicate_sums,
    "newline-profile": _profile_named("a\nbuild --action_env=INJECTED=1.toml"),
    "dots-profile": _profile_named("...toml"),
    "bidi-profile": lambda p: p.write_text('description = "ok \u202e gnp.exe"\n'),
    "escape-profile": lambda p: p.write_text('[tensorflow]\ngit_ref = "main\\u001b[2J"\n'),
    "loop": _loop,
    "json-list": lambda p: p.write_text("[]"),
    "json-number": lambda p: p.write_text("42"),
    "json-cache-keys": lambda p: p.write_text('{"cache_keys": 5}'),
    "json-toolchain": lambda p: p.write_text('{"toolchain": "x"}'),
    "json-deep": _deep_json,
    "bazelrc-dir": lambda p: None,  # handled in the test: the tree's .bazelrc is a directory
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
    # issue 19: pruning only ever touches Bazel's own layout (nothing changed is checked too)
    C("gc-decoy-home", "cache --gc --max-gib 0.000001 --set build.disk_cache={B}/x", 2, ["build.disk_cache", X, "not a Bazel disk cache", "nothing was deleted"], "decoy-home"),
    C("gc-the-tree", "cache --gc --max-gib 0.000001 --source {TF} --set build.disk_cache={TF}", 2, ["build.disk_cache", "source tree"]),
    C("gc-dry-run-root", "cache --dry-run --max-gib 1 --set build.disk_cache=/", 2, ["build.disk_cache", "filesystem root"]),
    C("gc-ac-is-a-file", "cache --gc --max-gib 0.000001 --set build.disk_cache={B}/x", 2, ["build.disk_cache", "{B}/x/ac", "is not a directory"], "cache-ac-is-file"),
    # issue 19: credentials in URLs are refused (and never echoed: see SECRET below)
    C("creds-in-mirror", "configure --force --source {TF} --set mirrors.tf_mirror=https://bob:s3cr3t-pw@127.0.0.1/m", 2, ["mirrors.tf_mirror", "credentials"]),
    C("creds-in-pip-index", "doctor --offline --set mirrors.pip_index=https://u:s3cr3t-pw@127.0.0.1/simple", 2, ["mirrors.pip_index", "credentials"]),
    C("creds-in-remote-flag", "build --source {TF} --remote-cache grpc://tok:s3cr3t-pw@127.0.0.1:1", 2, ["--remote-cache", "credentials"]),
    C("creds-in-env", "profiles --show cpu", 2, ["remote.cache", "credentials", "TFBUILD_REMOTE_CACHE"], env=[("TFBUILD_REMOTE_CACHE", "https://u:s3cr3t-pw@127.0.0.1/c")]),
    C("creds-in-bazel-opt", "build --source {TF} --bazel-opt=--remote_cache=https://u:s3cr3t-pw@127.0.0.1/c", 2, ["--bazel-opt", "credentials"]),
    # issue 19: nothing injected into rendered files
    C("newline-in-profile-name", "configure --force --source {TF} --profile {B}/x/a{NL}build{SP}--action_env=INJECTED=1.toml", 2, ["profile name"], "newline-profile"),
    C("dots-profile-name", "docker-build --dry-run --profile {B}/x/...toml", 2, ["profile name", "'..'"], "dots-profile"),
    C("newline-in-docker-python", "docker-build --dry-run --set docker.python=3.10{NL}", 2, ["docker.python", "newline"]),
    C("bidi-in-description", "profiles --show {B}/x", 2, ["description", "bidi"], "bidi-profile"),
    C("escape-in-value", "profiles --show {B}/x", 2, ["tensorflow.git_ref", "control character"], "escape-profile"),
    C("bidi-in-set", "configure --force --source {TF} --set tensorflow.git_ref=main{RLO}", 2, ["tensorflow.git_ref", "bidi"]),
    # issue 19: no traceback, no hang, whatever the file
    C("max-gib-nan", "cache --gc --max-gib nan", 2, ["--max-gib", "nan"]),
    C("max-gib-inf", "cache --gc --max-gib inf", 2, ["--max-gib", "inf"]),
    C("max-gib-huge", "cache --gc --max-gib 1e309", 2, ["--max-gib", "1e309"]),
    C("manifest-a-list", "manifest --diff {B}/x {B}/x", 2, [X, "not a manifest", "list"], "json-list"),
    C("manifest-a-number", "manifest --diff {B}/x {B}/x", 2, [X, "not a manifest", "int"], "json-number"),
    C("manifest-cache-keys-number", "manifest --diff {B}/x {B}/x", 2, [X, "cache_keys"], "json-cache-keys"),
    C("manifest-toolchain-string", "manifest --diff {B}/x {B}/x", 2, [X, "toolchain"], "json-toolchain"),
    C("manifest-nested-deep", "manifest --diff {B}/x {B}/x", 2, [X, "nested"], "json-deep"),
    C("manifest-dev-zero", "manifest --diff /dev/zero /dev/zero", 2, ["/dev/zero", "not a regular file"]),
    C("profile-dev-zero", "profiles --show /dev/zero.toml", 2, ["/dev/zero.toml"]),
    C("profile-fifo", "profiles --show {B}/x", 2, ["--profile", X, "FIFO"], "fifo"),
    C("manifest-fifo", "manifest --diff {B}/x {B}/x", 2, ["manifest --diff", X, "FIFO"], "fifo"),
    C("extends-too-deep", "profiles --show {B}/x/p0.toml", 2, ["extends", "32"], "deep-extends"),
    C("debug-0-is-off", "profiles --show {B}/x/p.toml", 2, ["--profile", "{B}/x/p.toml"], env=[("TFBUILD_DEBUG", "0")]),
    C("sums-a-fifo", "manifest --diff {B}/x/cpu {B}/x/cpu", 3, ["{B}/x/cpu/SHA256SUMS", "FIFO"], "fifo-dist"),
    C("sums-entry-dev-zero", "manifest --diff {B}/x/cpu {B}/x/cpu", 3, ["{B}/x/cpu/zero.whl", "not a regular file"], "sums-dev-zero"),
    # issue 19: wrong but accepted, now refused
    C("sums-duplicate-entry", "manifest --diff {B}/x/cpu {B}/x/cpu", 3, ["SHA256SUMS", "w.whl", "listed twice"], "duplicate-sums"),
    C("patch-check-and-revert", "patch --check --revert --source {TF}", 2, ["--check", "--revert"]),
    C("remote-cache-with-space", "build --source {TF} --remote-cache http://a{SP}b", 2, ["--remote-cache", "not a Bazel remote URL"]),
    C("profile-empty", "profiles --show {EMPTY}", 2, ["--profile is empty"]),
    C("profile-flag-empty", "configure --source {TF} --profile {EMPTY}", 2, ["--profile is empty"]),
    C("bazel-opt-empty", "build --source {TF} --bazel-opt {EMPTY}", 2, ["--bazel-opt", "empty"]),
    C("jobs-huge", "build --source {TF} --jobs 99999999999999999999", 2, ["--jobs", "99999999999999999999"]),
    C("sha256-not-hex", "bazel-install --sha256 NOTHEX", 2, ["--sha256", "NOTHEX", "64 hex"]),
    C("color-banana", "profiles", 2, ["TFBUILD_COLOR", "banana"], env=[("TFBUILD_COLOR", "banana")]),
    C("state-dir-relative", "configure --force --source {TF}", 2, ["TFBUILD_STATE_DIR", "absolute"], env=[("TFBUILD_STATE_DIR", "state")]),
    C("state-dir-loop", "configure --force --source {TF}", 2, ["state directory", "symlink loop"], "loop", [("TFBUILD_STATE_DIR", "{B}/x/a")]),
    C("output-root-loop-dry-run", "build --dry-run --source {TF} --set build.output_user_root={B}/x/a", 2, ["build.output_user_root", "symlink loop"], "loop"),
    # issue 19: errors that say what to change
    C("wrong-flag-suggests", "build --jbos 4", 2, ["--jbos", "Did you mean --jobs?"]),
    C("profile-loop-named", "profiles --show {B}/x/a", 2, ["{B}/x/a", "symlink loop"], "loop"),
    C("profiles-dir-missing", "profiles", 2, ["TFBUILD_PROFILES_DIR", "{B}/nowhere", "does not exist"], env=[("TFBUILD_PROFILES_DIR", "{B}/nowhere")]),
    C("huge-label-shortened", "build --source {TF} --set build.targets=[\"{HUGE}\"]", 2, ["build.targets", "characters)"]),
    C("bazelrc-a-directory", "configure --force --source {TF}", 2, [".bazelrc", "not a file"], "bazelrc-dir"),
]

SECRET = "s3cr3t-pw"  # planted by the credential cases: never in any output


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
        elif not path.is_file():  # a FIFO the case planted: reading it would block
            out[str(path)] = f"special {st.st_mode:o}"
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
    if case.setup == "bazelrc-dir":
        (sandbox / "tf" / ".bazelrc").unlink(missing_ok=True)
        (sandbox / "tf" / ".bazelrc").mkdir()
    if case.setup == "ro-tree":
        for path in [sandbox / "tf", *(sandbox / "tf").rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o555 if path.is_dir() else 0o444)
    args = [fill(a).replace("{SP}", " ").replace("{NL}", "\n").replace("{RLO}", "\u202e")
            .replace("{EMPTY}", "").replace("{HUGE}", "y" * 100_000) for a in case.args]
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
    assert SECRET not in output
    assert max(len(line) for line in output.splitlines() or [""]) < 5000, "a value echoed whole"
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
