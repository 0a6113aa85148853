"""What `.tf_configure.bazelrc` says, computed as data from Settings and Facts (pure).

Lines and their order follow TF 2.18.1's configure.py for the same answers; tfbuild adds what it
knows better: HERMETIC_PYTHON_VERSION; `--incompatible_strict_action_env` with a PATH made from
the profile (never the shell's: every `--action_env` value is part of every action's cache key);
and the profile's CUDA values repeated under `build:cuda_clang` so that TF's own
`build:cuda_clang` capability list (expanded after `build:cuda`) does not silently replace the
profile's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tfbuild import capabilities, environment, pins, versions
from tfbuild.discovery.facts import Facts
from tfbuild.environment import BuildEnvironment
from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.patching import literals
from tfbuild.settings.model import Settings

# configure.py system_specific_test_config() on Linux.
TEST_AND_BUILD_FILTERS = ("-benchmark-test", "-no_oss", "-oss_excluded")
TEST_ONLY_FILTERS = ("-oss_serial",)
# Configs of TF's .bazelrc that set CUDA repo_env values of their own after build:cuda.
OVERRIDE_CONFIGS = ("cuda_clang",)
_UNSAFE = re.compile(r'["\\\n\r\t\x00-\x1f\x7f]')


@dataclass(frozen=True)
class RepoEnv:
    name: str
    value: str


@dataclass(frozen=True)
class ConfigurePlan:
    profile: str
    python_bin: str
    python_lib: str
    python_version: str
    cuda: bool
    cuda_repo_env: tuple[RepoEnv, ...]
    pip_repo_env: tuple[RepoEnv, ...]
    override_configs: tuple[str, ...]
    override_repo_env: tuple[RepoEnv, ...]
    ld_library_path: str
    path: str
    clang_path: str
    offsetof_workaround: bool
    cc_opt_flags: tuple[str, ...]
    source_date_epoch: str  # "" when neither git nor the profile gives one
    test_gpu: bool
    test_filters: tuple[str, ...]
    build_filters: tuple[str, ...]


def rc_safe(value: str, key: str) -> str:
    """A value goes between double quotes in an rc line: no quote, backslash or control char."""
    if _UNSAFE.search(value):
        shown = value.encode("unicode_escape").decode()
        raise ConfigError(
            f"{key} = {shown!r} cannot be written to .tf_configure.bazelrc: it contains a quote, "
            "backslash, newline or other control character",
            hint=f"change {key} to a value without them")
    return value


def _flag(flag: str) -> str:
    if not flag or any(c.isspace() for c in flag):
        raise ConfigError(f"build.cc_opt_flags entry {flag!r} is empty or has white space",
                          hint="write one flag per list entry, e.g. [\"-march=native\", \"-O3\"]")
    return rc_safe(flag, "build.cc_opt_flags")


def cuda_path_for_bazel(settings: Settings, facts: Facts, shim: str) -> str:
    """LOCAL_CUDA_PATH: the shim when the local CUDA needs the lib->lib64 fix that way."""
    local = settings.cuda.local_cuda_path
    if local and settings.cuda.layout_fix == "shim" and facts.cuda and not facts.cuda.has_lib:
        return shim
    return local


def _python(settings: Settings, facts: Facts) -> tuple[str, str, str]:
    py = facts.python
    if not py.path or not py.version:
        raise PreconditionError("no Python interpreter found for PYTHON_BIN_PATH",
                                hint="set toolchain.python to a Python 3.9-3.12 interpreter")
    version = settings.toolchain.python_version or versions.major_minor(py.version) or ""
    lib = py.site_packages[0] if py.site_packages else ""
    return (rc_safe(py.executable or py.path, "toolchain.python"), rc_safe(lib, "toolchain.python (site-packages)"),
            rc_safe(version, "toolchain.python_version"))


def _cuda_repo_env(settings: Settings, facts: Facts, shim: str) -> tuple[RepoEnv, ...]:
    cuda = settings.cuda
    caps, problems = capabilities.normalise(cuda.compute_capabilities)
    if problems:
        raise ConfigError(f"cuda.compute_capabilities: {problems[0].text}: {problems[0].reason}",
                          hint=problems[0].fix)
    entries = [
        RepoEnv("HERMETIC_CUDA_VERSION", rc_safe(cuda.version, "cuda.version")),
        RepoEnv("HERMETIC_CUDNN_VERSION", rc_safe(cuda.cudnn_version, "cuda.cudnn_version")),
        RepoEnv("HERMETIC_CUDA_COMPUTE_CAPABILITIES", capabilities.joined(caps)),
    ]
    for name, key, value in (
        ("LOCAL_CUDA_PATH", "cuda.local_cuda_path", cuda_path_for_bazel(settings, facts, shim)),
        ("LOCAL_CUDNN_PATH", "cuda.local_cudnn_path", cuda.local_cudnn_path),
        ("LOCAL_NCCL_PATH", "cuda.local_nccl_path", cuda.local_nccl_path),
    ):
        setting = getattr(cuda, key.split(".")[1])  # the profile's path, not the shim
        if setting and not os.path.isabs(setting):
            raise ConfigError(f"{key} = {setting!r} is relative",
                              hint=f"set {key} to an absolute path")
        if value:
            entries.append(RepoEnv(name, rc_safe(value, key)))
    return tuple(entries)


def _pip_repo_env(settings: Settings) -> tuple[RepoEnv, ...]:
    """mirrors.pip_method = "repo_env": rules_python 0.34.0 runs pip with --isolated (so
    PIP_INDEX_URL is ignored) unless RULES_PYTHON_PIP_ISOLATED is 0."""
    m = settings.mirrors
    if m.pip_method != "repo_env" or not m.pip_index:
        return ()
    index = literals.validate_url("mirrors.pip_index", m.pip_index, allow_http=m.allow_http)
    return (RepoEnv("RULES_PYTHON_PIP_ISOLATED", "0"), RepoEnv("PIP_INDEX_URL", rc_safe(index, "mirrors.pip_index")))


@dataclass(frozen=True)
class SourceDate:
    """SOURCE_DATE_EPOCH and where it came from (the wheel's entries carry it: TF's wheel step
    runs `bdist_wheel`, which honours it; without it they carry the time of the build)."""

    value: int | None
    origin: str  # "tensorflow.source_date_epoch", "git HEAD <commit>" or "" (none)

    def as_dict(self) -> dict:
        return {"value": self.value, "from": self.origin or None}


def source_date(settings: Settings, facts: Facts) -> SourceDate:
    if settings.tensorflow.source_date_epoch:
        return SourceDate(settings.tensorflow.source_date_epoch, "tensorflow.source_date_epoch")
    source = facts.source
    if source and source.git_commit_time:
        return SourceDate(source.git_commit_time, f"git HEAD {(source.git_commit or '')[:12]}")
    return SourceDate(None, "")


def plan(settings: Settings, facts: Facts, env: BuildEnvironment, *, profile: str,
         shim: str) -> ConfigurePlan:
    tf = pins.tensorflow(settings.tensorflow.version)
    python_bin, python_lib, python_version = _python(settings, facts)
    cuda_on = settings.cuda.enabled
    repo_env = _cuda_repo_env(settings, facts, shim) if cuda_on else ()
    overridden = tuple(e for e in repo_env if e.name.startswith("HERMETIC_"))
    clang = facts.clang.bazel_path or facts.clang.path or ""
    gpu_filter = "-no_gpu" if cuda_on else "-gpu"
    filters = (*TEST_AND_BUILD_FILTERS, gpu_filter)
    return ConfigurePlan(
        profile=profile,
        python_bin=python_bin,
        python_lib=python_lib,
        python_version=python_version,
        cuda=cuda_on,
        cuda_repo_env=repo_env,
        pip_repo_env=_pip_repo_env(settings),
        override_configs=OVERRIDE_CONFIGS if cuda_on else (),
        override_repo_env=overridden,
        ld_library_path=rc_safe(":".join(environment.action_library_dirs(settings, facts)),
                                "LD_LIBRARY_PATH (from the profile's toolchain)"),
        path=rc_safe(environment.action_path(facts, settings.build.action_path_dirs),
                     "PATH (from the profile's toolchain and build.action_path_dirs)"),
        clang_path=rc_safe(clang, "toolchain.clang_path"),
        offsetof_workaround=(facts.clang.major or 0) in tf.clang_offsetof_workaround,
        cc_opt_flags=tuple(_flag(f) for f in settings.build.cc_opt_flags),
        source_date_epoch=str(source_date(settings, facts).value or ""),
        test_gpu=cuda_on,
        test_filters=(*filters, *TEST_ONLY_FILTERS),
        build_filters=filters,
    )
