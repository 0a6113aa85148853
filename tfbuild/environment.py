"""Two environments, kept apart on purpose.

- The *run* environment (smoke-test, `environment.sh`): PATH (the toolkit's own ptxas first, then
  the user's shell PATH), LD_LIBRARY_PATH (clang's libc++, CUDA, CUPTI, cuDNN), XLA_FLAGS
  (--xla_gpu_cuda_data_dir), TF_ENABLE_ONEDNN_OPTS=0 and PYTHON_BIN_PATH (the interpreter the
  build is for, as TF's configure.py names it; the smoke test runs it). Computed by configure from discovery,
  stored once per source tree (environment.json, plus environment.sh to source in a shell).
- The *build* environment (what Bazel's actions and repository rules see): made from the profile
  only — the toolkit's and clang's `bin/` then fixed system directories, never the shell's PATH,
  venv, HOME or temp dirs — because every `--action_env` value is part of every action's cache
  key: the same profile must give the same keys from any shell, checkout or user.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbuild.discovery.facts import Facts
from tfbuild.errors import PreconditionError
from tfbuild.files import write_if_changed
from tfbuild.paths import SYSTEM_PATH, action_path_dirs
from tfbuild.settings.model import Settings

ENV_JSON, ENV_SH = "environment.json", "environment.sh"


@dataclass(frozen=True)
class BuildEnvironment:
    variables: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.variables)

    def get(self, name: str, default: str = "") -> str:
        return self.as_dict().get(name, default)

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def as_shell(self) -> str:
        lines = ["# Written by tfbuild configure: the environment build and smoke-test use.",
                 "# Use it in a shell with: . environment.sh"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.variables]
        return "\n".join(lines) + "\n"


def _unique(items: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def tool_bin_dirs(facts: Facts) -> list[str]:
    dirs = []
    if facts.cuda and facts.cuda.ptxas:
        dirs.append(os.path.dirname(facts.cuda.ptxas))
    clang = facts.clang.bazel_path or facts.clang.path
    if clang:
        dirs.append(os.path.dirname(clang))
    return _unique(dirs)


# Client variables that would carry the invoking shell into repository rules; Bazel gets none.
SHELL_ONLY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV",
              "CONDA_PREFIX", "LD_PRELOAD", "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH",
              "LIBRARY_PATH", "CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS")


def action_path(facts: Facts, extra: Sequence[str] = ()) -> str:
    """PATH for Bazel's actions: the toolkit's bin (its ptxas), clang's bin, the profile's
    build.action_path_dirs, fixed system dirs (paths.action_path_dirs)."""
    return ":".join(action_path_dirs(
        ptxas=facts.cuda.ptxas if facts.cuda else None,
        clang=facts.clang.bazel_path or facts.clang.path, extra=tuple(extra)))


# Variables that TF 2.18.1's repository rules declare (`environ`) and that a shell sets to its
# own values: a change re-runs the rule and what depends on it. TSL's cuda_configure declares
# TMP and TMPDIR; the client gets tfbuild's stable temp dir for both (paths.bazel_temp_dir).
TEMP_VARIABLES = ("TMP", "TMPDIR")


def bazel_client_env(run_env: BuildEnvironment, facts: Facts,
                     extra_path: Sequence[str] = (),
                     temp_dir: str | None = None,
                     library_path: Sequence[str] | None = None) -> dict[str, str | None]:
    """Changes to the invoking environment for the Bazel client: PATH from the profile, the
    library path of the profile's toolchain (or none), and no Python/venv/compiler variables of
    the shell, so that repository rules see the same environment from any shell. HOME, USER,
    proxies and BAZELISK_* are kept: they locate caches and networks, not build inputs."""
    env: dict[str, str | None] = {name: None for name in SHELL_ONLY}
    env["PATH"] = action_path(facts, extra_path)
    for name in TEMP_VARIABLES:
        env[name] = temp_dir
    libs = library_dirs(facts) if library_path is None else list(library_path)
    env["LD_LIBRARY_PATH"] = ":".join(libs) if libs else None
    for name, value in run_env.variables:
        if name not in ("PATH", "LD_LIBRARY_PATH"):
            env[name] = value
    return env


def library_dirs(facts: Facts) -> list[str]:
    """The notes' LD_LIBRARY_PATH: clang's libc++ runtime, CUDA's lib64, cuDNN's lib (plus
    CUPTI, which a runfile install keeps apart)."""
    cuda = facts.cuda
    return _unique([
        facts.clang.libcxx_runtime_dir,
        os.path.dirname(cuda.cudart) if cuda and cuda.cudart else None,
        os.path.dirname(cuda.cupti_lib) if cuda and cuda.cupti_lib else None,
        facts.cudnn.lib_dir if facts.cudnn else None,
    ])


LIBCXX_RUNTIME = "lib/x86_64-unknown-linux-gnu"  # libc++ in LLVM's release tarballs


def action_library_dirs(settings: Settings, facts: Facts) -> list[str]:
    """LD_LIBRARY_PATH for Bazel's actions (an action key), decided by the profile, never by
    what discovery happened to find (two users of one profile would get different keys):
    - the libc++ of a tarball clang (`toolchain.clang_prefix`): tools the build compiles with it
      and runs need it at load time (the notes: `undefined symbol: __libcpp_verbose_abort`);
      a distribution's clang (no prefix) uses the system's;
    - with CUDA, the local toolkit's and cuDNN's library directories under the profile's
      `cuda.local_cuda_path` / `cuda.local_cudnn_path`, as TF's configure.py passes the
      LD_LIBRARY_PATH of the notes' machine (its layout, lib64 or lib, is that path's own).
    Every machine that shares a cache needs these paths identical (doctor's build.cache_keys)."""
    dirs: list[str | None] = []
    prefix = settings.toolchain.clang_prefix.rstrip("/")
    if prefix:
        dirs.append(f"{prefix}/{LIBCXX_RUNTIME}")
    cuda = settings.cuda
    if cuda.enabled and cuda.local_cuda_path:
        root = cuda.local_cuda_path.rstrip("/")
        runfile = facts.cuda is None or facts.cuda.layout == "runfile" or not facts.cuda.has_lib
        dirs.append(f"{root}/lib64" if runfile else f"{root}/lib")
        if runfile:
            dirs.append(f"{root}/extras/CUPTI/lib64")
    if cuda.enabled and cuda.local_cudnn_path:
        dirs.append(f"{cuda.local_cudnn_path.rstrip('/')}/lib")
    return _unique(dirs)


def cuda_data_dir(settings: Settings, facts: Facts, output_base: Path) -> str:
    """Where XLA finds nvvm/libdevice and ptxas at run time."""
    if settings.cuda.local_cuda_path and facts.cuda:
        return facts.cuda.root
    return str(output_base / "external" / "cuda_nvcc")


def compute(settings: Settings, facts: Facts, *, output_base: Path) -> BuildEnvironment:
    variables = [("PATH", ":".join(_unique([*tool_bin_dirs(facts), *facts.path])))]
    libs = library_dirs(facts)
    if libs:
        variables.append(("LD_LIBRARY_PATH", ":".join(libs)))
    if settings.cuda.enabled:
        data_dir = cuda_data_dir(settings, facts, output_base)
        variables.append(("XLA_FLAGS", f"--xla_gpu_cuda_data_dir={data_dir}"))
    variables.append(("TF_ENABLE_ONEDNN_OPTS", "0"))
    if facts.python.path:
        variables.append(("PYTHON_BIN_PATH", facts.python.path))
    return BuildEnvironment(tuple(variables))


def save(env: BuildEnvironment, state: Path) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    write_if_changed(state / ENV_JSON, env.as_json())
    write_if_changed(state / ENV_SH, env.as_shell())
    return state / ENV_JSON


def load(state: Path) -> BuildEnvironment:
    path = state / ENV_JSON
    if not path.is_file():
        raise PreconditionError(f"no recorded environment at {path}",
                                hint="run `invoke configure` (or `invoke build`) first")
    data = json.loads(path.read_text())
    return BuildEnvironment(tuple((str(k), str(v)) for k, v in data.items()))
