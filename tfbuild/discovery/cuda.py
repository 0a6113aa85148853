"""CUDA toolkits and cuDNN: local installs (runfile, redistributable archives, distro packages)
and the NVIDIA Python packages (site-packages/nvidia/...)."""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tfbuild import versions
from tfbuild.discovery.facts import CudaToolkit, Cudnn, Tool
from tfbuild.discovery.programs import probe, which
from tfbuild.runner import Runner


def _first(patterns: Iterable[str]) -> str | None:
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return None


def _tool_version(runner: Runner, path: str | None) -> str | None:
    if not path or not os.path.exists(path):
        return None
    ok, out = probe(runner, [path, "--version"], depends_on=[path])
    return versions.cuda_tools(out) if ok else None


def inspect_cuda_root(runner: Runner, root: Path) -> CudaToolkit | None:
    """A toolkit directory: runfile install (lib64, extras/CUPTI) or redistributable (lib)."""
    r = str(root)
    markers = [f"{r}/version.json", f"{r}/version.txt", f"{r}/include/cuda.h",
               f"{r}/lib*/libcudart.so*"]
    if not os.path.isdir(root) or not _first(markers):
        return None
    has_lib, has_lib64 = os.path.isdir(root / "lib"), os.path.isdir(root / "lib64")
    cudart = _first(f"{r}/{d}/libcudart.so.*" for d in ("lib", "lib64", "targets/x86_64-linux/lib"))
    cupti_include = _first([f"{r}/include/cupti.h", f"{r}/extras/CUPTI/include/cupti.h"])
    cupti_lib = _first(f"{r}/{d}/libcupti.so*" for d in ("lib", "lib64", "extras/CUPTI/lib64"))
    ptxas = str(root / "bin" / "ptxas") if os.path.exists(root / "bin" / "ptxas") else None
    nvcc = str(root / "bin" / "nvcc") if os.path.exists(root / "bin" / "nvcc") else None
    ptxas_version = _tool_version(runner, ptxas)
    version, source = None, ""
    if os.path.isfile(root / "version.json"):
        version, source = versions.cuda_version_json((root / "version.json").read_text()), "version.json"
    if not version and os.path.isfile(root / "version.txt"):
        version, source = versions.cuda_version_txt((root / "version.txt").read_text()), "version.txt"
    if not version and nvcc:
        version, source = _tool_version(runner, nvcc), "nvcc --version"
    if not version and ptxas_version:
        version, source = ptxas_version, "ptxas --version"
    layout = "redist" if has_lib else ("runfile" if has_lib64 else "other")
    return CudaToolkit(
        root=r, layout=layout, version=version, version_source=source if version else "",
        has_lib=has_lib, has_lib64=has_lib64, cudart=cudart,
        cupti_include=os.path.dirname(cupti_include) if cupti_include else None,
        cupti_lib=cupti_lib,
        libdevice=_first([f"{r}/nvvm/libdevice/libdevice*.bc"]),
        ptxas=ptxas, ptxas_version=ptxas_version, nvcc=nvcc,
    )


def _dist_info_version(site: Path, project: str) -> str | None:
    for meta in sorted(site.glob(f"{project}-*.dist-info/METADATA")):
        return versions.dist_info(meta.read_text(errors="replace"))
    return None


def inspect_pip_cuda(runner: Runner, site: Path) -> CudaToolkit | None:
    """CUDA from NVIDIA's wheels: nvidia/cuda_nvcc (ptxas, nvvm), nvidia/cuda_runtime (headers,
    libcudart), nvidia/cuda_cupti."""
    nvidia = site / "nvidia"
    nvcc_dir, runtime_dir = nvidia / "cuda_nvcc", nvidia / "cuda_runtime"
    if not (os.path.isdir(nvcc_dir) or os.path.isdir(runtime_dir)):
        return None
    ptxas = str(nvcc_dir / "bin" / "ptxas") if os.path.exists(nvcc_dir / "bin" / "ptxas") else None
    version = (_dist_info_version(site, "nvidia_cuda_nvcc_cu12")
               or _dist_info_version(site, "nvidia_cuda_runtime_cu12"))
    cupti = nvidia / "cuda_cupti"
    return CudaToolkit(
        root=str(nvidia), layout="pip", version=version,
        version_source="pip metadata" if version else "",
        has_lib=os.path.isdir(runtime_dir / "lib"), has_lib64=False,
        cudart=_first([f"{runtime_dir}/lib/libcudart.so.*"]),
        cupti_include=str(cupti / "include") if os.path.exists(cupti / "include" / "cupti.h") else None,
        cupti_lib=_first([f"{cupti}/lib/libcupti.so*"]),
        libdevice=_first([f"{nvcc_dir}/nvvm/libdevice/libdevice*.bc"]),
        ptxas=ptxas, ptxas_version=_tool_version(runner, ptxas), nvcc=None,
    )


def cuda_root_candidates(env: Mapping[str, str]) -> list[Path]:
    roots: list[Path] = []
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if env.get(var):
            roots.append(Path(env[var]))
    for tool in ("nvcc", "ptxas"):
        if found := which(tool, env):
            roots.append(Path(os.path.realpath(found)).parent.parent)
    roots.append(Path("/usr/local/cuda"))
    roots += [Path(p) for p in sorted(glob.glob("/usr/local/cuda-*"), reverse=True)]
    return roots


def find_cuda(runner: Runner, *, local_path: str, site_packages: Sequence[str],
              env: Mapping[str, str]) -> tuple[CudaToolkit | None, tuple[CudaToolkit, ...]]:
    """The profile's local CUDA (None when unset or absent) and every other toolkit found."""
    chosen = inspect_cuda_root(runner, Path(local_path)) if local_path else None
    seen = {os.path.realpath(local_path)} if local_path else set()
    others: list[CudaToolkit] = []
    for root in cuda_root_candidates(env):
        real = os.path.realpath(root)
        if real in seen:
            continue
        seen.add(real)
        if found := inspect_cuda_root(runner, root):
            others.append(found)
    for site in site_packages:
        if found := inspect_pip_cuda(runner, Path(site)):
            others.append(found)
    return chosen, tuple(others)


def path_ptxas(runner: Runner, env: Mapping[str, str]) -> Tool:
    path = which("ptxas", env)
    return Tool("ptxas", path, _tool_version(runner, path)) if path else Tool("ptxas")


# -- cuDNN ---------------------------------------------------------------------------------------
_CUDA_BUILD_IN_NAME = re.compile(r"_cuda(\d+)-archive$")  # NVIDIA's tarball: ..._cuda12-archive
_CUDA_BUILD_IN_DEB = re.compile(r"^libcudnn\d+-cuda-(\d+):", re.M)  # dpkg-query -S: "pkg: path"


# cuDNN's own answer: cudnnGetCudartVersion() is the CUDART_VERSION it was compiled against
# (cudnn_graph.h). Asked in a child process, as loading the library may abort when its
# sub-libraries (libcudnn_graph.so.9, ...) are missing.
_ASK_CUDNN = ("import ctypes, sys\n"
              "lib = ctypes.CDLL(sys.argv[1])\n"
              "lib.cudnnGetCudartVersion.restype = ctypes.c_size_t\n"
              "print('cudart', lib.cudnnGetCudartVersion())\n")


def _ask_cudnn(runner: Runner, library: str) -> tuple[int | None, str]:
    lib_dir = os.path.dirname(library)
    ok, out = probe(runner, [sys.executable, "-c", _ASK_CUDNN, library], timeout=20,
                    env={"LD_LIBRARY_PATH": lib_dir}, depends_on=[library])
    match = re.search(r"^cudart (\d+)$", out, re.M) if ok else None
    if not match or int(match.group(1)) < 1000:
        return None, ""
    value = int(match.group(1))
    return value // 1000, f"cudnnGetCudartVersion() = {value}"


def cudnn_cuda_build(runner: Runner | None, root: Path, library: str | None
                     ) -> tuple[int | None, str]:
    """Which CUDA major the cuDNN at `root` was built for: cuDNN's own answer, else what
    installed it (pip's distribution name, the Debian package, NVIDIA's archive name)."""
    if runner is not None and library:
        major, source = _ask_cudnn(runner, library)
        if major is not None:
            return major, source
    if root.name == "cudnn" and root.parent.name == "nvidia":  # <site>/nvidia/cudnn: pip
        for meta in sorted(root.parent.parent.glob("nvidia_cudnn_cu*-*.dist-info")):
            major = re.match(r"nvidia_cudnn_cu(\d+)-", meta.name)
            if major:
                return int(major.group(1)), f"pip: {meta.name.removesuffix('.dist-info')}"
    for part in (Path(os.path.realpath(root)), root):
        for name in (part.name, part.parent.name):
            if match := _CUDA_BUILD_IN_NAME.search(name):
                return int(match.group(1)), f"archive: {name}"
    if runner is not None and library and library.startswith("/usr/"):
        ok, out = probe(runner, ["dpkg-query", "-S", library],
                        depends_on=[library])
        if ok and (match := _CUDA_BUILD_IN_DEB.search(out)):
            return int(match.group(1)), f"Debian package: {out.split(':', 1)[0].strip()}"
    return None, ""


def inspect_cudnn_root(root: Path, runner: Runner | None = None) -> Cudnn | None:
    if not os.path.isdir(root):
        return None
    r = str(root)
    header = _first([
        f"{r}/include/cudnn_version.h",
        f"{r}/include/cudnn_version_v*.h",
        f"{r}/include/x86_64-linux-gnu/cudnn_version_v*.h",
    ])
    library = _first(f"{r}/{d}/libcudnn.so*" for d in ("lib", "lib64", "lib/x86_64-linux-gnu"))
    if not header and not library:
        return None
    version = versions.cudnn_header(Path(header).read_text(errors="replace")) if header else None
    cuda_major, source = cudnn_cuda_build(runner, root, library)
    return Cudnn(root=r, version=version, header=header, library=library,
                 lib_dir=os.path.dirname(library) if library else None,
                 cuda_major=cuda_major, cuda_major_source=source)


def find_cudnn(*, local_path: str, cuda_roots: Sequence[str], site_packages: Sequence[str],
               runner: Runner | None = None) -> tuple[Cudnn | None, tuple[Cudnn, ...]]:
    chosen = inspect_cudnn_root(Path(local_path), runner) if local_path else None
    roots = [Path(p) for p in cuda_roots]
    roots += [Path(site) / "nvidia" / "cudnn" for site in site_packages]
    roots.append(Path("/usr"))
    seen = {os.path.realpath(local_path)} if local_path else set()
    others = []
    for root in roots:
        real = os.path.realpath(root)
        if real in seen:
            continue
        seen.add(real)
        if found := inspect_cudnn_root(root, runner):
            others.append(found)
    return chosen, tuple(others)
