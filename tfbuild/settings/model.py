"""The settings model: typed, immutable, one docstring per key.

Defaults live in tfbuild/data/defaults.toml (every key must be there; a test checks it), so the
model holds no default values: one place for each fact. The profile-key table (docs/profiles.md) is
generated from this model (`python -m tfbuild.settings.docs`), and a test fails when it is stale.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Literal


def doc(text: str) -> dict:
    return {"doc": text}


@dataclass(frozen=True, kw_only=True)
class TensorflowSettings:
    version: str = field(metadata=doc(
        "TensorFlow release to build (x.y.z); selects tfbuild's pins for it."))
    git_url: str = field(metadata=doc("Where `invoke source` clones TensorFlow from."))
    git_ref: str = field(metadata=doc("Tag, branch or commit to check out (shallow clone)."))
    source_dir: str = field(metadata=doc(
        "The TensorFlow source tree (`~` expanded; relative to the current directory). "
        "`--source DIR` overrides it."))
    source_date_epoch: int = field(metadata=doc(
        "SOURCE_DATE_EPOCH for the build (seconds since 1970): the time the wheel's entries "
        "carry. 0: the commit time of the tree's git HEAD; set it for a tree without git (a "
        "release tarball), or to keep one value across local commits (it is in every action's "
        "key, so each new value rebuilds everything)."))


@dataclass(frozen=True, kw_only=True)
class ToolchainSettings:
    clang_major: int = field(metadata=doc(
        "Clang major version the build expects (TF 2.18 is tested with 17)."))
    clang_prefix: str = field(metadata=doc(
        "An LLVM install searched first, e.g. `/media/workspace/clang17/instdir` "
        "(its `bin/clang` and `lib/x86_64-unknown-linux-gnu` libc++ runtime). Empty: none."))
    clang_path: str = field(metadata=doc(
        "Exact clang to use (must end in `clang`). Empty: search the prefix, PATH, "
        "`/usr/lib/llvm-*/bin`."))
    gcc_major: int = field(metadata=doc(
        "GCC major version whose headers and libstdc++ clang uses (the LLVM 17 tarball needs 12)."))
    bazel: str = field(metadata=doc(
        "Bazel binary. Empty: `bazelisk`, then `bazel`, on PATH."))
    bazel_version: str = field(metadata=doc(
        "Expected Bazel version, or `from-source` to read the tree's `.bazelversion`."))
    python: str = field(metadata=doc(
        "Python interpreter for PYTHON_BIN_PATH and `--python_path` (part of every action's cache "
        "key). Empty: `python3.X` (toolchain.python_version) or `python3` in /usr/local/bin, "
        "/usr/bin, /bin — never the shell's PATH, venv or pyenv shim."))
    python_version: str = field(metadata=doc(
        "HERMETIC_PYTHON_VERSION (x.y). Empty: the version of `toolchain.python`."))


@dataclass(frozen=True, kw_only=True)
class CudaSettings:
    enabled: bool = field(metadata=doc("Build with CUDA (false: a CPU-only build)."))
    version: str = field(metadata=doc(
        "CUDA version as x.y.z (HERMETIC_CUDA_VERSION), e.g. `12.4.0`."))
    cudnn_version: str = field(metadata=doc(
        "cuDNN version as x.y.z (HERMETIC_CUDNN_VERSION), e.g. `9.10.2`."))
    local_cuda_path: str = field(metadata=doc(
        "Absolute path of a local CUDA toolkit (LOCAL_CUDA_PATH). Empty: hermetic download."))
    local_cudnn_path: str = field(metadata=doc(
        "Absolute path of a local cuDNN (LOCAL_CUDNN_PATH). Empty: hermetic download "
        "(only for versions TF lists)."))
    local_nccl_path: str = field(metadata=doc(
        "Absolute path of a local NCCL (LOCAL_NCCL_PATH). Empty: hermetic download."))
    compute_capabilities: list[str] = field(metadata=doc(
        "GPU code to build: `sm_XY` (binary), `compute_XY` (PTX); `8.6` and `86` are accepted "
        "and normalised to `sm_86`."))
    layout_fix: Literal["shim", "patch", "none"] = field(metadata=doc(
        "How a local CUDA with `lib64` but no `lib` is made usable: `shim` (a tfbuild-owned "
        "directory used as LOCAL_CUDA_PATH, TF tree untouched), `patch` (edit TF's "
        "`cuda_redist_init_repositories.bzl`), or `none`."))


@dataclass(frozen=True, kw_only=True)
class MirrorSettings:
    tf_mirror: str = field(metadata=doc(
        "Mirror put first for https downloads (`tf_mirror_urls`), e.g. "
        "`https://storage.googleapis.com/mirror.tensorflow.org` (the default). Empty: that same "
        "default mirror, as upstream's repo.bzl."))
    direct_hosts: list[str] = field(metadata=doc(
        "Hosts fetched directly, never through the mirror (NVIDIA's download host by default)."))
    pip_index: str = field(metadata=doc(
        "Package index pip uses inside the build (rules_python). Empty: pip's default."))
    pip_method: Literal["repo_env", "patch"] = field(metadata=doc(
        "How the pip index reaches rules_python: `repo_env` (RULES_PYTHON_PIP_ISOLATED=0 + "
        "PIP_INDEX_URL, nothing edited) or `patch` (edit `wheel_installer.py` in the output base)."))
    allow_http: bool = field(metadata=doc(
        "Allow plain-http mirror and index URLs (default: https only)."))
    downloader_config: bool = field(metadata=doc(
        "Also route every Bazel download (rules_python, python-build-standalone, any "
        "`http_archive`) through `tf_mirror` first, with a Bazel downloader config "
        "(`--experimental_downloader_config`) written in the state dir; the tree is not edited."))
    host_mirrors: dict[str, str] = field(metadata=doc(
        "Per-host mirrors for what Bazel downloads itself, tried before the original URL: "
        "host = URL prefix that replaces `https://host` (e.g. `files.pythonhosted.org` = your "
        "pip mirror's file host, for the NCCL wheel and rules_python's own wheels; `github.com` "
        "= a GitHub proxy, for release archives such as python-build-standalone's; "
        "`developer.download.nvidia.com` = an NVIDIA mirror). Written as `rewrite` rules of "
        "Bazel's downloader config (on whenever this is set); doctor reaches each mirror."))


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    output_user_root: str = field(metadata=doc(
        "Bazel `--output_user_root` (`~` expanded). Empty: Bazel's default."))
    jobs: int = field(metadata=doc(
        "`--local_cpu_resources`; 0 picks the number doctor recommends for this machine's RAM."))
    targets: list[str] = field(metadata=doc("Bazel targets to build."))
    configs: list[str] = field(metadata=doc("`--config=` values on the command line."))
    repo_env: dict[str, str] = field(metadata=doc("`--repo_env=KEY=VALUE` pairs."))
    bazel_options: list[str] = field(metadata=doc(
        "Extra Bazel build options, added last so they win."))
    startup_options: list[str] = field(metadata=doc(
        "Extra Bazel startup options (keep them stable: a change restarts the server)."))
    action_path_dirs: list[str] = field(metadata=doc(
        "Directories added to the PATH Bazel's actions and its client (so repository rules) "
        "see, after the toolchain's bin directories and before the system ones "
        "(/usr/local/bin, /usr/bin, /bin, ...): for a tool the build runs from PATH, such as "
        "TF's wheel step's `patchelf`, installed elsewhere. Absolute paths, the same on every "
        "machine that shares a cache."))
    cc_opt_flags: list[str] = field(metadata=doc(
        "Optimisation flags (CC_OPT_FLAGS), written as `build --copt`/`--host_copt`: for "
        "every build (TF 2.18 defines no `build:opt`)."))
    disk_cache: str = field(metadata=doc(
        "Bazel `--disk_cache` directory (`~` expanded). Empty: no disk cache."))
    dist_dir: str = field(metadata=doc(
        "Where artifacts are collected: `<dist_dir>/<profile>/`."))
    disk_cache_max_gib: int = field(metadata=doc(
        "Size limit of the disk cache: before each build it is pruned to this, least recently "
        "used first (`invoke cache --gc` does it now). 0: no limit."))
    min_free_mib: int = field(metadata=doc(
        "While Bazel runs, stop it cleanly (as Ctrl-C does) when the output root's filesystem "
        "has less than this free. 0: do not watch."))
    fetch_timeout_s: int = field(metadata=doc(
        "Bound on the fetch that runs before the build with `mirrors.pip_method = \"patch\"` "
        "(Bazel resolves the WORKSPACE up to rules_python: on TF's tree the hermetic Python, the "
        "pip lock, NVIDIA's JSON, LLVM), in seconds; then it is stopped cleanly and named. "
        "0: no bound."))
    keep_builds: int = field(metadata=doc(
        "Build logs (and other per-build files in the state dir's `logs/`) kept: the last N "
        "builds."))
    execution_log: bool = field(metadata=doc(
        "Keep Bazel's execution log of each build beside its log (`build-STAMP.exec.json.gz`: "
        "every action's command line, environment, inputs and where it ran, secrets masked), "
        "for `invoke explain`. Bazel writes it in its binary form during the build."))


@dataclass(frozen=True, kw_only=True)
class RemoteSettings:
    cache: str = field(metadata=doc(
        "Remote cache URL (`http://`, `https://`, `grpc://`, `grpcs://`). Empty: none."))
    executor: str = field(metadata=doc("Remote executor URL (`grpc://`, `grpcs://`). Empty: none."))
    instance_name: str = field(metadata=doc("`--remote_instance_name`. Empty: none."))
    tls_ca: str = field(metadata=doc(
        "PEM file of the CA that signed a `grpcs://`/`https://` remote's certificate "
        "(Bazel's `--tls_certificate`; `~` expanded, relative to the current directory). "
        "Empty: the system's CAs."))
    tls_client_cert: str = field(metadata=doc(
        "PEM client certificate for a remote that asks for one (`--tls_client_certificate`); "
        "needs `remote.tls_client_key`. Empty: none."))
    tls_client_key: str = field(metadata=doc(
        "PEM (PKCS#8) key of `remote.tls_client_cert` (`--tls_client_key`). Empty: none."))
    header_env: str = field(metadata=doc(
        "Name of an environment variable holding `Header: value` for the remote "
        "(e.g. an auth token); its value is never written anywhere."))
    upload_local_results: bool = field(metadata=doc(
        "Upload local results to the remote cache."))
    tf_public_cache: bool = field(metadata=doc(
        "Read from TensorFlow's public read-only Bazel cache (`--config=tf_public_cache`); "
        "excludes `remote.cache` and `remote.executor`."))
    exec_properties: dict[str, str] = field(metadata=doc(
        "With `remote.executor`: the platform the workers must offer, each "
        "`--remote_default_exec_properties=KEY=VALUE` (e.g. `OSFamily = \"linux\"`, "
        "`container-image = \"docker://…@sha256:…\"`). Empty: the executor's default."))
    local_fallback: bool = field(metadata=doc(
        "With `remote.executor`: run an action locally when it fails remotely "
        "(`--remote_local_fallback`). Off: a remote failure fails the build."))
    jobs: int = field(metadata=doc(
        "With `remote.executor`: actions in flight (`--jobs`); remote workers run many more than "
        "local cores. 0: 50."))
    download_outputs: Literal["all", "toplevel"] = field(metadata=doc(
        "With `remote.executor`: `all` (Bazel's default) downloads every output; `toplevel` "
        "only the requested targets' (`--remote_download_toplevel`: what dist/ takes). Bazel "
        "4.2.3 then refuses a symlink output of an intermediate action (`Symlinks in action "
        "outputs are not yet supported`, seen here)."))
    workers_have_host_paths: bool = field(metadata=doc(
        "With `remote.executor`: every worker has the profile's host toolchain paths "
        "(`toolchain.clang_prefix`, local CUDA/cuDNN/NCCL) at the same place. If false, such "
        "a profile is refused with an executor."))


@dataclass(frozen=True, kw_only=True)
class DockerSettings:
    engine: Literal["auto", "docker", "podman"] = field(metadata=doc(
        "Container engine for `docker-build` and `build --in-docker`: `docker` (the Docker "
        "Engine, or any service speaking its API: `DOCKER_HOST`), `podman`, or `auto` (the "
        "first of the two whose service answers)."))
    base_image: str = field(metadata=doc(
        "Base image of the container build environment, from any registry (your mirror), "
        "pinned by digest: `REPO[:TAG]@sha256:...` (`ubuntu:22.04@sha256:...`, "
        "`registry.example:5000/debian:trixie@sha256:...`). Podman also takes a local image "
        "(`localhost/NAME:TAG@sha256:...`); Docker pins only what a registry serves."))
    codename: str = field(metadata=doc(
        "The base image's distro codename (`trixie`, `noble`), for `clang_from = "
        "\"apt.llvm.org\"`. Empty: read from an `ubuntu:22.04`/`ubuntu:24.04` base name."))
    apt_sources: list[str] = field(metadata=doc(
        "The distro archive the image installs from, as one-line apt sources (`deb "
        "http://mirror.example/debian trixie main`); they replace the base image's own. Empty: "
        "the base image's sources."))
    clang_from: Literal["distro", "apt.llvm.org"] = field(metadata=doc(
        "Where clang and lld come from: `distro` (the archive above: Debian trixie and Ubuntu "
        "noble carry clang-17 and lld-17) or `apt.llvm.org` (its signing key checked against "
        "the pinned fingerprint)."))
    llvm_apt_url: str = field(metadata=doc(
        "With `clang_from = \"apt.llvm.org\"`: apt.llvm.org or your mirror of it (serving "
        "`/llvm-snapshot.gpg.key` and `/<codename>/`)."))
    bazel_from: Literal["bazelisk", "distro"] = field(metadata=doc(
        "Where Bazel comes from: `bazelisk` (sha256-pinned; it fetches the Bazel the tree's "
        "`.bazelversion` names, from the mirror in the tree's `.bazeliskrc` or the shell's "
        "`BAZELISK_BASE_URL`, which reaches the container) or `distro` (the archive's "
        "`bazel-bootstrap`; the tree's `.bazelversion` is still checked by the build)."))
    bazelisk_url: str = field(metadata=doc(
        "With `bazel_from = \"bazelisk\"`: where the pinned bazelisk binary is downloaded "
        "from (your mirror; the sha256 stays pinned). Empty: its GitHub release."))
    ca_certificates: list[str] = field(metadata=doc(
        "PEM files of certificate authorities the image trusts besides the distro's: a "
        "proxy's that re-signs TLS, or your mirror's own CA (`~` expanded). They are copied "
        "into the image (update-ca-certificates), and pip, requests and Bazel use that store."))
    cache_volume: str = field(metadata=doc(
        "Named volume holding Bazel's output root, disk cache and tfbuild's state across "
        "in-container builds; `{profile}` is replaced."))
    image: str = field(metadata=doc(
        "Tag of the image `invoke docker-build` builds; `{profile}` is replaced."))
    uid: int = field(metadata=doc("User id of the non-root user in the image."))
    python: str = field(metadata=doc("Python (x.y) installed in the image."))
    cuda_from: Literal["redist", "pypi"] = field(metadata=doc(
        "Where a CUDA profile's toolkit comes from: `redist` (NVIDIA's redistributable "
        "archives, `docker.cuda_components`, pinned by the redistrib JSON's sha256) or `pypi` "
        "(NVIDIA's `nvidia-*-cu12` wheels through `mirrors.pip_index`, each hash-pinned in "
        "tfbuild/data/pins.toml `[cuda_wheels]`: CUDA 12.4.1's components for 12.4)."))
    cuda_components: list[str] = field(metadata=doc(
        "NVIDIA redistributable archives installed for a CUDA profile (`cuda_from = "
        "\"redist\"`)."))


@dataclass(frozen=True, kw_only=True)
class Settings:
    tensorflow: TensorflowSettings
    toolchain: ToolchainSettings
    cuda: CudaSettings
    mirrors: MirrorSettings
    build: BuildSettings
    remote: RemoteSettings
    docker: DockerSettings

    def get(self, dotted: str):
        section, key = dotted.split(".", 1)
        return getattr(getattr(self, section), key)


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings)
}


@dataclass(frozen=True)
class KeySpec:
    dotted: str
    section: str
    key: str
    type: object
    doc: str


def key_specs() -> dict[str, KeySpec]:
    """Every setting as `section.key` -> its type and documentation, in model order."""
    specs: dict[str, KeySpec] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            dotted = f"{section}.{f.name}"
            specs[dotted] = KeySpec(dotted, section, f.name, hints[f.name], f.metadata["doc"])
    return specs


def type_name(tp: object) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(f'"{a}"' for a in typing.get_args(tp))
    if origin is list:
        return "list of strings"
    if origin is dict:
        return "table of strings"
    return {str: "string", int: "integer", bool: "boolean"}.get(tp, str(tp))
