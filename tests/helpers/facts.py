"""Facts written by hand: a healthy rtx3050 machine (the notes' setup), for pure tests."""

import dataclasses

from tfbuild.discovery.facts import (Bazel, Clang, CudaToolkit, Cudnn, Facts, Gpu, Gpus, Machine,
                                     Python, Source, Tool)

CUDA_ROOT = "/media/workspace/cuda1204/instdir"
CUDNN_ROOT = "/media/workspace/cudnn0910/instdir"


def healthy_facts(**changes) -> Facts:
    facts = Facts(
        clang=Clang(path="/media/workspace/clang17/instdir/bin/clang",
                    bazel_path="/media/workspace/clang17/instdir/bin/clang", version="17.0.6",
                    compiles_cxx=True, include_dirs=("/usr/include/c++/12",),
                    gcc_installation="/usr/lib/gcc/x86_64-linux-gnu/12",
                    libcxx_runtime_dir="/media/workspace/clang17/instdir/lib/x86_64-unknown-linux-gnu",
                    prefix="/media/workspace/clang17/instdir", prefix_exists=True),
        lld=Tool("ld.lld", "/media/workspace/clang17/instdir/bin/ld.lld", "17.0.6"),
        gcc=Tool("gcc-12", "/usr/bin/gcc-12", "12.3.0"),
        gxx=Tool("g++-12", "/usr/bin/g++-12", "12.3.0"),
        patchelf=Tool("patchelf", "/usr/bin/patchelf", "0.14.3"),
        bazel=Bazel("/usr/local/bin/bazelisk", "6.5.0", "binary"),
        python=Python("/usr/bin/python3", "3.10.12", "/usr/bin/python3.10", ("/usr/lib/python3/dist-packages",)),
        cuda=CudaToolkit(root=CUDA_ROOT, layout="redist", version="12.4.0",
                         version_source="version.json", has_lib=True, has_lib64=True,
                         cudart=f"{CUDA_ROOT}/lib/libcudart.so.12",
                         cupti_include=f"{CUDA_ROOT}/include",
                         libdevice=f"{CUDA_ROOT}/nvvm/libdevice/libdevice.10.bc",
                         ptxas=f"{CUDA_ROOT}/bin/ptxas",
                         ptxas_version="12.4.131"),
        path_ptxas=Tool("ptxas", f"{CUDA_ROOT}/bin/ptxas", "12.4.131"),
        cudnn=Cudnn(root=CUDNN_ROOT, version="9.10.2", header=f"{CUDNN_ROOT}/include/cudnn_version.h",
                    library=f"{CUDNN_ROOT}/lib/libcudnn.so.9", lib_dir=f"{CUDNN_ROOT}/lib",
                    cuda_major=12, cuda_major_source="cudnnGetCudartVersion() = 12090"),
        gpus=Gpus("/usr/bin/nvidia-smi", (Gpu("NVIDIA GeForce RTX 3050", "8.6", "550.54.14"),)),
        machine=Machine(cpu_count=16, mem_total_gib=64.0, mem_available_gib=60.0,
                        disk_path="/media", disk_free_gib=300.0),
        path=("/usr/local/bin", "/usr/bin", "/bin"),
        source=Source("/src/tf", True, True, "2.18.1", "6.5.0", "cb64295ec7308f770b22db6047a1e755b35b7bee", "v2.18.1", 1741219200),
    )
    return dataclasses.replace(facts, **changes)


# -- machines each profile fits ----------------------------------------------------------------
# Real discovery reports CUDA facts only when the profile enables CUDA, and reports the toolkit
# at the profile's local_cuda_path. Golden files render each profile with the facts of such a
# machine, never with another profile's.
GPUS = {  # the card each profile is written for (cuda-local: the base, an A100 like a100's)
    "rtx3050": Gpu("NVIDIA GeForce RTX 3050", "8.6", "550.54.14"),
    "rtx4090": Gpu("NVIDIA GeForce RTX 4090", "8.9", "550.54.14"),
    "a100": Gpu("NVIDIA A100-SXM4-80GB", "8.0", "550.54.15"),
    "cuda-local": Gpu("NVIDIA A100-SXM4-80GB", "8.0", "550.54.15"),
    "h100": Gpu("NVIDIA H100 80GB HBM3", "9.0", "550.54.15"),
}


def _clang(settings) -> dict:
    """The profile's clang: its tarball prefix (with libc++ beside it), else Debian's
    /usr/lib/llvm-N (apt.llvm.org layout: no separate libc++ runtime dir)."""
    tc = settings.toolchain
    prefix = tc.clang_prefix or f"/usr/lib/llvm-{tc.clang_major}"
    version = {16: "16.0.6", 17: "17.0.6", 18: "18.1.8"}.get(tc.clang_major, f"{tc.clang_major}.0.0")
    clang = Clang(path=f"{prefix}/bin/clang", bazel_path=f"{prefix}/bin/clang", version=version,
                  compiles_cxx=True, include_dirs=(f"/usr/include/c++/{tc.gcc_major}",),
                  gcc_installation=f"/usr/lib/gcc/x86_64-linux-gnu/{tc.gcc_major}",
                  libcxx_runtime_dir=f"{prefix}/lib/x86_64-unknown-linux-gnu" if tc.clang_prefix else None,
                  prefix=tc.clang_prefix, prefix_exists=bool(tc.clang_prefix))
    return dict(clang=clang, lld=Tool("ld.lld", f"{prefix}/bin/ld.lld", version))


def _runfile_cuda(root: str, version: str) -> CudaToolkit:
    """The runfile installer's layout (the notes' install and /usr/local/cuda-X.Y): lib64 only,
    CUPTI under extras/."""
    return CudaToolkit(root=root, layout="runfile", version=version, version_source="version.json",
                       has_lib=False, has_lib64=True, cudart=f"{root}/lib64/libcudart.so.12",
                       cupti_include=f"{root}/extras/CUPTI/include",
                       cupti_lib=f"{root}/extras/CUPTI/lib64/libcupti.so.12",
                       libdevice=f"{root}/nvvm/libdevice/libdevice.10.bc",
                       ptxas=f"{root}/bin/ptxas", ptxas_version="12.4.131")


def _tarball_cudnn(root: str, version: str) -> Cudnn:
    major = version.split(".")[0]
    return Cudnn(root=root, version=version, header=f"{root}/include/cudnn_version.h",
                 library=f"{root}/lib/libcudnn.so.{major}", lib_dir=f"{root}/lib")


def facts_for_settings(settings, profile: str) -> Facts:
    """What discovery would report on a healthy machine this profile was written for."""
    cuda = settings.cuda
    changes: dict = dict(_clang(settings), cuda=None, cudnn=None, path_ptxas=None, gpus=Gpus())
    if cuda.enabled:
        if cuda.local_cuda_path:
            toolkit = _runfile_cuda(cuda.local_cuda_path, cuda.version)
            changes.update(cuda=toolkit, path_ptxas=Tool("ptxas", toolkit.ptxas, toolkit.ptxas_version))
        if cuda.local_cudnn_path:
            changes["cudnn"] = _tarball_cudnn(cuda.local_cudnn_path, cuda.cudnn_version)
        changes["gpus"] = Gpus("/usr/bin/nvidia-smi", (GPUS[profile],))
    return healthy_facts(**changes)
