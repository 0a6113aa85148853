"""The container build environment as data, computed from a profile and the pins (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfbuild import pins, versions
from tfbuild.errors import ConfigError
from tfbuild.settings.model import Settings

CUDA_PREFIX = "/usr/local/cuda-{version}"
CUDNN_PREFIX = "/opt/cudnn-{version}"
CONTAINER_TFBUILD = "/opt/tfbuild"
CONTAINER_CACHE = "/cache"
_DIGEST = re.compile(r"^[\w./:-]+@sha256:[0-9a-f]{64}$")
UBUNTU_CODENAMES = {"22.04": "jammy", "24.04": "noble"}
_PYTHON = re.compile(r"^3\.\d+$")


@dataclass(frozen=True)
class ImagePlan:
    profile: str
    image: str
    base_image: str
    apt_sources: tuple[str, ...]
    pip_index: str
    ca_certificates: int  # how many (copied into the context as ca/tfbuild-N.crt)
    uid: int
    python: str
    gcc_major: int
    clang_major: int
    clang_from: str
    llvm_key_url: str
    llvm_fingerprint: str
    llvm_repository: str
    bazel_from: str
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
    cuda_from: str
    cuda_wheels: tuple[tuple[str, str], ...]  # (requirement, sha256), cuda_from = "pypi"
    cudnn_version: str
    cudnn_prefix: str
    cudnn_requirement: str
    cudnn_sha256: str


def plan(settings: Settings, profile: str) -> ImagePlan:
    d, tc, cuda = settings.docker, settings.toolchain, settings.cuda
    if not _DIGEST.match(d.base_image):
        name = d.base_image.split("@")[0]
        raise ConfigError(f"docker.base_image = {d.base_image!r} is not pinned by digest",
                          hint=f"pin the image your registry serves: `podman pull {name} && "
                          f"podman image inspect --format '{{{{.Digest}}}}' {name}` (or `docker "
                          f"buildx imagetools inspect {name}`), then set docker.base_image = "
                          f"\"{name}@sha256:<that digest>\"")
    if not _PYTHON.match(d.python):
        raise ConfigError(f"docker.python = {d.python!r} is not x.y", hint="e.g. \"3.10\"")
    llvm = pins.table("llvm_apt")
    llvm_repository = llvm_key_url = ""
    if d.clang_from == "apt.llvm.org":
        codename = d.codename or _ubuntu_codename(d.base_image)
        if not codename:
            raise ConfigError(
                f"docker.clang_from = \"apt.llvm.org\" needs the base image's distro codename, "
                f"and {d.base_image.split('@')[0]} does not say it",
                hint="set docker.codename (e.g. \"trixie\"), or docker.clang_from = \"distro\" "
                "when the distro carries clang-{0} (Debian trixie, Ubuntu noble)".format(
                    tc.clang_major))
        url = d.llvm_apt_url.rstrip("/")
        llvm_key_url = url + llvm["key_path"]
        llvm_repository = llvm["repository"].format(url=url, codename=codename,
                                                    major=tc.clang_major)
    bazelisk = pins.bazelisk("linux-amd64")
    redist = cudnn = wheels = {}
    if cuda.enabled and d.cuda_from == "pypi":
        short = versions.major_minor(cuda.version) or cuda.version
        wheels = pins.table("cuda_wheels").get(short)
        if not wheels:
            raise ConfigError(f"no pinned NVIDIA PyPI wheels for CUDA {short}",
                              hint="set docker.cuda_from = \"redist\", or add [cuda_wheels."
                              f"\"{short}\"] to tfbuild/data/pins.toml (known: "
                              + ", ".join(pins.table("cuda_wheels")) + ")")
    elif cuda.enabled:
        redist = pins.table("cuda_redist").get(cuda.version)
        if not redist:
            raise ConfigError(f"no pinned NVIDIA redistrib JSON for CUDA {cuda.version}",
                              hint="add [cuda_redist.\"x.y.z\"] to tfbuild/data/pins.toml, or "
                              "set cuda.version to one of: "
                              + ", ".join(pins.table("cuda_redist")))
    if cuda.enabled:
        cudnn = pins.table("cudnn_wheel").get(cuda.cudnn_version)
        if not cudnn:
            raise ConfigError(f"no pinned cuDNN wheel for cuDNN {cuda.cudnn_version}",
                              hint="add [cudnn_wheel.\"x.y.z\"] to tfbuild/data/pins.toml")
    return ImagePlan(
        profile=profile, image=d.image.replace("{profile}", profile), base_image=d.base_image,
        apt_sources=tuple(d.apt_sources), pip_index=settings.mirrors.pip_index,
        ca_certificates=len(d.ca_certificates),
        uid=d.uid, python=d.python, gcc_major=tc.gcc_major,
        clang_major=tc.clang_major, clang_from=d.clang_from, llvm_key_url=llvm_key_url,
        llvm_fingerprint=llvm["fingerprint"], llvm_repository=llvm_repository,
        bazel_from=d.bazel_from, bazelisk_version=bazelisk.version,
        bazelisk_url=d.bazelisk_url or bazelisk.url,
        bazelisk_sha256=bazelisk.sha256,
        python_packages=tuple(sorted(pins.table("image_python_packages").items())),
        cuda=cuda.enabled, cuda_version=cuda.version,
        cuda_short=versions.major_minor(cuda.version) or cuda.version,
        cuda_prefix=CUDA_PREFIX.format(version=versions.major_minor(cuda.version)),
        cuda_json_url=redist.get("url", ""), cuda_json_sha256=redist.get("sha256", ""),
        cuda_url_prefix=redist.get("prefix", ""), cuda_components=tuple(d.cuda_components),
        cuda_from=d.cuda_from, cuda_wheels=tuple(sorted(wheels.items())),
        cudnn_version=cuda.cudnn_version,
        cudnn_prefix=CUDNN_PREFIX.format(version=cuda.cudnn_version),
        cudnn_requirement=cudnn.get("requirement", ""), cudnn_sha256=cudnn.get("sha256", ""),
    )


def _ubuntu_codename(base_image: str) -> str:
    name = base_image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if repository.rsplit("/", 1)[-1] != "ubuntu":
        return ""
    return UBUNTU_CODENAMES.get(tag, "")


def bazel_in_image(p: ImagePlan) -> str:
    return "/usr/local/bin/bazel" if p.bazel_from == "distro" else "/usr/local/bin/bazelisk"


def container_overrides(p: ImagePlan) -> list[str]:
    """`--set` values that point the profile at the image's paths when build runs inside it."""
    out = [f"toolchain.clang_path=/usr/lib/llvm-{p.clang_major}/bin/clang",
           "toolchain.clang_prefix=", f"toolchain.bazel={bazel_in_image(p)}",
           f"toolchain.python=/usr/bin/python{p.python}",
           f"build.output_user_root={CONTAINER_CACHE}/bazel",
           f"build.disk_cache={CONTAINER_CACHE}/disk-cache"]
    if p.cuda:
        out += [f"cuda.local_cuda_path={p.cuda_prefix}", f"cuda.local_cudnn_path={p.cudnn_prefix}",
                "cuda.layout_fix=none"]
    return out
