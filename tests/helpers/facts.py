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
                    library=f"{CUDNN_ROOT}/lib/libcudnn.so.9", lib_dir=f"{CUDNN_ROOT}/lib"),
        gpus=Gpus("/usr/bin/nvidia-smi", (Gpu("NVIDIA GeForce RTX 3050", "8.6", "550.54.14"),)),
        machine=Machine(cpu_count=16, mem_total_gib=64.0, mem_available_gib=60.0,
                        disk_path="/media", disk_free_gib=300.0),
        path=("/usr/local/bin", "/usr/bin", "/bin"),
        source=Source("/src/tf", True, True, "2.18.1", "6.5.0", "cb64295ec7308f770b22db6047a1e755b35b7bee", "v2.18.1"),
    )
    return dataclasses.replace(facts, **changes)


