"""The container build environment as data, computed from a profile and the pins (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfbuild import pins, versions
from tfbuild.errors import ConfigError
from tfbuild.settings.model import Settings

CUDA_PREFIX = "/usr/local/cuda-{version}"
CUDNN_PREFIX = "/opt/cudnn-{version}"
CONTAINER_SOURCE = "/workspace/tensorflow"
CONTAINER_DIST = "/workspace/dist"
CONTAINER_TFBUILD = "/opt/tfbuild"
CONTAINER_CACHE = "/cache"
_DIGEST = re.compile(r"^[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$")
_PYTHON = re.compile(r"^3\.\d+$")


@dataclass(frozen=True)
class ImagePlan:
    profile: str
    image: str
    base_image: str
    codename: str
    uid: int
    python: str
    gcc_major: int
    clang_major: int
    llvm_key_url: str
    llvm_fingerprint: str
    llvm_repository: str
    bazelisk_version: str
    bazelisk_url: str
    bazelisk_sha256: str
    python_packages: tuple[tuple[str, str], ...]
    cuda: bool
    cuda_version: str
    cuda_short: str
    cuda_prefix: str
    cuda_json_url: str
    cuda_json_sha256: str
    cuda_url_prefix: str
    cuda_components: tuple[str, ...]
    cudnn_version: str
    cudnn_prefix: str
    cudnn_requirement: str
    cudnn_sha256: str


def plan(settings: Settings, profile: str) -> ImagePlan:
    d, tc, cuda = settings.docker, settings.toolchain, settings.cuda
    if not _DIGEST.match(d.base_image):
        raise ConfigError(f"docker.base_image = {d.base_image!r} is not pinned by digest",
                          hint="write it as ubuntu:22.04@sha256:<64 hex digits> "
                          "(docker buildx imagetools inspect ubuntu:22.04)")
    if not _PYTHON.match(d.python):
        raise ConfigError(f"docker.python = {d.python!r} is not x.y", hint="e.g. \"3.10\"")
    codename = "jammy" if ":22.04" in d.base_image else "noble" if ":24.04" in d.base_image else ""
    if not codename:
        raise ConfigError(f"docker.base_image {d.base_image} is not Ubuntu 22.04 or 24.04",
                          hint="the image recipe is written for Ubuntu 22.04 (jammy)")
    llvm = pins.table("llvm_apt")
    bazelisk = pins.bazelisk("linux-amd64")
    redist = cudnn = {}
    if cuda.enabled:
        redist = pins.table("cuda_redist").get(cuda.version)
        if not redist:
            raise ConfigError(f"no pinned NVIDIA redistrib JSON for CUDA {cuda.version}",
                              hint="add [cuda_redist.\"x.y.z\"] to tfbuild/data/pins.toml, or "
                              "set cuda.version to one of: "
                              + ", ".join(pins.table("cuda_redist")))
        cudnn = pins.table("cudnn_wheel").get(cuda.cudnn_version)
        if not cudnn:
            raise ConfigError(f"no pinned cuDNN wheel for cuDNN {cuda.cudnn_version}",
                              hint="add [cudnn_wheel.\"x.y.z\"] to tfbuild/data/pins.toml")
    return ImagePlan(
        profile=profile, image=d.image.replace("{profile}", profile), base_image=d.base_image,
        codename=codename, uid=d.uid, python=d.python, gcc_major=tc.gcc_major,
        clang_major=tc.clang_major, llvm_key_url=llvm["key_url"],
        llvm_fingerprint=llvm["fingerprint"],
        llvm_repository=llvm["repository"].format(codename=codename, major=tc.clang_major),
        bazelisk_version=bazelisk.version, bazelisk_url=bazelisk.url,
        bazelisk_sha256=bazelisk.sha256,
        python_packages=tuple(sorted(pins.table("image_python_packages").items())),
        cuda=cuda.enabled, cuda_version=cuda.version,
        cuda_short=versions.major_minor(cuda.version) or cuda.version,
        cuda_prefix=CUDA_PREFIX.format(version=versions.major_minor(cuda.version)),
        cuda_json_url=redist.get("url", ""), cuda_json_sha256=redist.get("sha256", ""),
        cuda_url_prefix=redist.get("prefix", ""), cuda_components=tuple(d.cuda_components),
        cudnn_version=cuda.cudnn_version,
        cudnn_prefix=CUDNN_PREFIX.format(version=cuda.cudnn_version),
        cudnn_requirement=cudnn.get("requirement", ""), cudnn_sha256=cudnn.get("sha256", ""),
    )


def container_overrides(p: ImagePlan) -> list[str]:
    """`--set` values that point the profile at the image's paths when build runs inside it."""
    out = [f"tensorflow.source_dir={CONTAINER_SOURCE}",
           f"toolchain.clang_path=/usr/lib/llvm-{p.clang_major}/bin/clang",
           "toolchain.clang_prefix=", "toolchain.bazel=/usr/local/bin/bazelisk",
           f"toolchain.python=/usr/bin/python{p.python}",
           f"build.output_user_root={CONTAINER_CACHE}/bazel",
           f"build.disk_cache={CONTAINER_CACHE}/disk-cache",
           f"build.dist_dir={CONTAINER_DIST}"]
    if p.cuda:
        out += [f"cuda.local_cuda_path={p.cuda_prefix}", f"cuda.local_cudnn_path={p.cudnn_prefix}",
                "cuda.layout_fix=none"]
    return out
