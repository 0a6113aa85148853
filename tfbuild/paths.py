"""Where things are: setting paths expanded, Bazel's output base, tfbuild's state directory."""

from __future__ import annotations

import getpass
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from tfbuild.errors import ConfigError
from tfbuild.pathcheck import writable_dir
from tfbuild.settings.model import Settings

# Fixed directories for Bazel's actions after the toolchain's own (the order of TF's
# `build:rbe_linux` PATH); also where configure looks for a default Python.
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def action_path_dirs(*, ptxas: str | None, clang: str | None,
                     extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The PATH Bazel's actions (and its client) see, in order: the CUDA toolkit's bin (its
    ptxas), clang's bin, build.action_path_dirs, then SYSTEM_PATH. Discovery looks tools up in
    it, configure renders it: one list, so that what doctor finds is what an action runs."""
    dirs = [os.path.dirname(p) for p in (ptxas, clang) if p]
    out: list[str] = []
    for d in (*dirs, *extra, *SYSTEM_PATH):
        if d and d not in out:
            out.append(d)
    return out


def expand(value: str) -> Path:
    """`~` expanded; relative paths taken from the current directory."""
    return Path(os.path.abspath(Path(value).expanduser()))


# The rc configure writes in the source tree (TF's own configure.py writes the same name).
RC_NAME = ".tf_configure.bazelrc"

# What makes a directory a TensorFlow tree (configure and doctor check the same three).
TF_TREE_MARKERS = ("WORKSPACE", "configure.py", "tensorflow/core/public/version.h")


def is_tf_tree(path: Path) -> bool:
    return all((path / marker).exists() for marker in TF_TREE_MARKERS)


@dataclass(frozen=True)
class SourceChoice:
    """The TensorFlow tree a task works on, and why that one."""

    path: Path
    reason: str


def choose_source(settings: Settings, override: str | Path | None = None,
                  cwd: Path | None = None) -> SourceChoice:
    """--source, else the current directory when it is a TensorFlow tree, else the profile's
    tensorflow.source_dir: standing in a TF checkout, `tfbuild build` builds that checkout."""
    if override:
        _refuse_spaces(f"--source {str(override)!r}", override)
        return SourceChoice(expand(str(override)), "--source")
    here = Path(os.getcwd()) if cwd is None else cwd
    if is_tf_tree(here):
        _refuse_spaces(f"the current directory {str(here)!r}", here)
        return SourceChoice(here, "the current directory, a TensorFlow tree")
    # tensorflow.source_dir is validated on resolve.
    return SourceChoice(expand(settings.tensorflow.source_dir),
                        "tensorflow.source_dir: no --source, and the current directory is no "
                        "TensorFlow tree")


def _refuse_spaces(what: str, path: str | Path) -> None:
    if any(c.isspace() for c in str(path)):
        raise ConfigError(f"{what} contains white space: Bazel does not work from paths "
                          "containing spaces",
                          hint="move the tree to a path without spaces (or link one there)")


def source_dir(settings: Settings, override: str | Path | None = None) -> Path:
    """The TF tree: see choose_source."""
    return choose_source(settings, override).path


def output_user_root(settings: Settings) -> Path:
    if settings.build.output_user_root:
        return expand(settings.build.output_user_root)
    return Path.home() / ".cache" / "bazel" / f"_bazel_{getpass.getuser()}"


def bazel_temp_dir(settings: Settings) -> Path:
    """TMP/TMPDIR for the Bazel client (and so for repository rules that declare them, such as
    TSL's cuda_configure, and for local actions' temporary files): stable, on the output
    root's filesystem, the same for every build of that output root, never the shell's."""
    return output_user_root(settings) / "tmp"


def output_base(settings: Settings, source: Path) -> Path:
    """Bazel's output base, computed the way Bazel's client does (checked with `bazel info
    output_base` of Debian's Bazel 4.2.3 from a tree and an output root both reached through
    symlinks): <output_user_root, resolved>/<md5 of the *physical* workspace path>. The client
    takes the workspace from getcwd(), which never contains a symlink, so `~/tf -> /media/...`
    hashes /media/...; a `--output_base=` startup option replaces the whole rule."""
    for option in settings.build.startup_options:
        if option.startswith("--output_base="):
            return Path(os.path.realpath(expand(option.split("=", 1)[1])))
    digest = hashlib.md5(os.path.realpath(source).encode()).hexdigest()
    return Path(os.path.realpath(output_user_root(settings))) / digest


def state_dir(source: Path) -> Path:
    """tfbuild's records for one TF tree (environment, backups, patch state, lock, logs), kept
    outside the tree so that the checkout stays clean and Bazel never globs them."""
    physical = Path(os.path.realpath(source))  # one state (and lock) per tree, as Bazel has
    digest = hashlib.sha256(str(physical).encode()).hexdigest()[:12]
    return state_root() / f"{physical.name or 'root'}-{digest}"


def state_root() -> Path:
    """$TFBUILD_STATE_DIR, else $XDG_STATE_HOME/tfbuild, else ~/.local/state/tfbuild."""
    base = os.environ.get("TFBUILD_STATE_DIR")
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "tfbuild"


def scratch_root(*, create: bool = False) -> str | None:
    """Where tfbuild's own scratch files go (doctor's compile probes, header checks, the
    smoke-test's work dir): <state root>/tmp, not the shell's TMPDIR. Debian 13's /tmp is a small
    tmpfs, and a full one turned doctor's `#include <memory>` probe into a wrong "clang cannot
    compile" verdict. None (the system's temp dir) when the state root does not exist yet (a
    dry run or a first doctor writes nothing there; every build makes it) or tmp/ cannot be
    made. `create`: make the state root first (a task that writes there anyway)."""
    if create:
        try:
            state_root().mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
    if not state_root().is_dir():
        return None
    root = state_root() / "tmp"
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return str(root)


# How the state directory is named in error messages (it comes from TFBUILD_STATE_DIR,
# XDG_STATE_HOME or HOME).
STATE_WHAT = "state directory (TFBUILD_STATE_DIR, else $XDG_STATE_HOME/tfbuild or ~/.local/state/tfbuild)"


def checked_state_dir(source: Path) -> Path:
    """The tree's state dir, refused (naming where it comes from) unless it is a directory tfbuild
    can write or create. Nothing is created here."""
    return writable_dir(state_dir(source), STATE_WHAT)


def cuda_shim_dir(source: Path, cuda_root: str | None = None) -> Path:
    """The CUDA shim for a toolkit: its name follows the toolkit (its physical path and its
    version file), so that `--repo_env LOCAL_CUDA_PATH` changes when the toolkit does and Bazel
    re-runs the @cuda_* repository rules; the same toolkit keeps the same path (no re-fetch).
    A repository input only: LOCAL_CUDA_PATH does not reach compile command lines."""
    if not cuda_root:
        return state_dir(source) / "cuda-shim"
    real = os.path.realpath(cuda_root)
    identity = hashlib.sha256(real.encode())
    for name in ("version.json", "version.txt"):
        try:
            identity.update(Path(real, name).read_bytes())
            break
        except OSError:
            continue
    return state_dir(source) / f"cuda-shim-{identity.hexdigest()[:12]}"


def tool_bin_dir() -> Path:
    """Where tfbuild installs tools it downloads (bazelisk)."""
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "tfbuild" / "bin"
