"""Typed access to tfbuild/data/pins.toml (versions, compatibility, sizing)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tfbuild import resources
from tfbuild import toml as tomllib
from tfbuild.errors import ConfigError

PINS_FILE = resources.data_file("pins.toml")


@dataclass(frozen=True)
class TensorflowPins:
    version: str
    commit: str
    git_ref: str
    bazel: str
    clang_major: int
    gcc_major: int
    python: tuple[str, ...]
    rules_python: str
    hermetic_cuda_versions: tuple[str, ...]
    hermetic_cudnn_versions: tuple[str, ...]
    bazelrc_cuda_version: str
    bazelrc_cudnn_version: str
    bazelrc_cuda_clang_capabilities: str
    cuda_majors: tuple[int, ...]  # the CUDA majors TF builds with
    cudnn_majors: tuple[int, ...]
    clang_offsetof_workaround: tuple[int, ...]
    default_cc_opt_flags: tuple[str, ...]


@dataclass(frozen=True)
class MachinePins:
    disk_gib_cpu: float
    disk_gib_cuda: float
    ram_gib_per_job_cpu: float
    ram_gib_per_job_cuda: float
    bazel_heap_gib_cpu: float
    bazel_heap_gib_cuda: float
    link_gib_cpu: float
    link_gib_cuda: float
    links_together: int


@cache
def _raw() -> dict:
    with open(PINS_FILE, "rb") as handle:
        return tomllib.load(handle)


def known_tensorflow_versions() -> list[str]:
    return sorted(_raw()["tensorflow"])


def tensorflow(version: str) -> TensorflowPins:
    table = _raw()["tensorflow"].get(version)
    if table is None:
        raise ConfigError(
            f"tfbuild has no pins for TensorFlow {version}",
            hint="set tensorflow.version to one of: " + ", ".join(known_tensorflow_versions()),
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    return TensorflowPins(version=version, **values)


@dataclass(frozen=True)
class DriverPins:
    """What driver a CUDA version needs (pins.toml [cuda_drivers])."""

    cuda: str  # major.minor
    compatible: str | None  # minor version compatibility: runs SASS built with this CUDA
    release: str | None  # the toolkit's own driver: also JIT-compiles its PTX


def cuda_driver(cuda_version: str) -> DriverPins:
    table = _raw()["cuda_drivers"]
    parts = cuda_version.split(".")
    major_minor = ".".join(parts[:2])
    return DriverPins(major_minor, table["minor_version_compatibility"].get(parts[0]),
                      table["release"].get(major_minor))


def machine() -> MachinePins:
    return MachinePins(**_raw()["machine"])


def disk() -> dict[str, float]:
    """What a build needs on each filesystem, GiB ([disk] in pins.toml, with its sources)."""
    return dict(_raw()["disk"])


def cuda_target_range(cuda_version: str) -> tuple[int, int] | None:
    """(min, max) sm number a CUDA release can target, or None if tfbuild does not know it."""
    parts = cuda_version.split(".")
    table = _raw()["cuda_targets"]
    for key in (".".join(parts[:2]), parts[0]):
        if key in table:
            return table[key]["min"], table[key]["max"]
    return None


@dataclass(frozen=True)
class BazeliskPin:
    version: str
    platform: str
    url: str
    sha256: str


def bazelisk(platform: str) -> BazeliskPin:
    table = _raw()["bazelisk"]
    sha = table["sha256"].get(platform)
    if sha is None:
        raise ConfigError(f"tfbuild has no pinned bazelisk for platform {platform}",
                          hint="install bazelisk yourself, or pass --url and --sha256")
    return BazeliskPin(table["version"], platform,
                       table["url"].format(version=table["version"], platform=platform), sha)


@dataclass(frozen=True)
class BazelReleasePin:
    version: str
    platform: str
    url: str
    sha256: str | None  # None: not pinned here


def bazel_release(version: str, platform: str) -> BazelReleasePin:
    """The release binary of Bazel `version` for `platform` (`linux-x86_64`), and its published
    sha256 when tfbuild pins it."""
    table = _raw()["bazel_release"]
    sha = table["sha256"].get(version, {}).get(platform)
    return BazelReleasePin(version, platform,
                           table["url"].format(version=version, platform=platform), sha)


def table(name: str) -> dict:
    """A raw pins table (the container environment reads several)."""
    return _raw().get(name, {})
