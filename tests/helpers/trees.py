"""Trees the tests build: CUDA and cuDNN installs in the layouts users have (empty files where
the content does not matter)."""

from __future__ import annotations

import subprocess
from pathlib import Path

CUDNN_VERSION_H = """#ifndef CUDNN_VERSION_H_
#define CUDNN_VERSION_H_
#define CUDNN_MAJOR {major}
#define CUDNN_MINOR {minor}
#define CUDNN_PATCHLEVEL {patch}
#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)
#endif
"""


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def runfile_cuda(root: Path, version: str = "12.4.0") -> Path:
    """The CUDA runfile installer's layout: lib64 (no lib), CUPTI under extras/."""
    touch(root / "version.json", '{"cuda": {"name": "CUDA SDK", "version": "%s"}}' % version)
    touch(root / "include" / "cuda.h")
    touch(root / "include" / "cuda_runtime.h")
    major, minor = version.split(".")[:2]
    touch(root / "lib64" / f"libcudart.so.{major}.{minor}.127")
    (root / "lib64" / f"libcudart.so.{major}").symlink_to(f"libcudart.so.{major}.{minor}.127")
    (root / "lib64" / "libcudart.so").symlink_to(f"libcudart.so.{major}")
    touch(root / "extras" / "CUPTI" / "include" / "cupti.h")
    touch(root / "extras" / "CUPTI" / "lib64" / "libcupti.so.12")
    touch(root / "nvvm" / "libdevice" / "libdevice.10.bc")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    return root


def cudnn_tree(root: Path, version: str = "9.10.2") -> Path:
    major, minor, patch = version.split(".")
    touch(root / "include" / "cudnn_version.h", CUDNN_VERSION_H.format(major=major, minor=minor, patch=patch))
    touch(root / "lib" / f"libcudnn.so.{major}")
    return root


def tarball_clang(prefix: Path) -> Path:
    """An LLVM install laid out as LLVM's release tarball (the notes' clang17/instdir): bin/clang
    (Debian's clang 16 here) and lib/x86_64-unknown-linux-gnu/, the directory of its runtime
    libraries, which only LD_LIBRARY_PATH makes the loader find. It holds a library of the
    test's own, built here with the real C compiler."""
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "clang").symlink_to("/usr/lib/llvm-16/bin/clang")
    runtime = prefix / "lib" / "x86_64-unknown-linux-gnu"
    runtime.mkdir(parents=True)
    source = prefix / "runtime.c"
    source.write_text('const char *tfshaped_runtime_version(void) { return "17.0.6"; }\n')
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(runtime / "libtfshaped_runtime.so"),
                    str(source)], check=True)
    return prefix
