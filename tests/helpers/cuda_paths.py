"""Self-consistency of a rendered configuration: every CUDA path it names belongs to the
toolkit it configures. Derived from the profile's settings, not from the golden files, so it
holds whatever else the rendering says (PATH, python, options) after a regeneration."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A path is a CUDA path when one of its components names a CUDA/cuDNN piece.
CUDA_COMPONENT = re.compile(r"cuda|cudnn|cupti|nvvm|ptxas|nvcc", re.I)
ABSOLUTE_PATH = re.compile(r"/[^\s\"':=,;]+")


def cuda_paths(text: str) -> list[str]:
    return [p for p in ABSOLUTE_PATH.findall(text)
            if any(CUDA_COMPONENT.search(part) for part in p.split("/"))]


def configured_roots(settings, *, shim: str, output_base: str) -> list[str]:
    """The trees a profile configures: none without CUDA; else its local CUDA and cuDNN (and
    tfbuild's shim of that CUDA), or the hermetic toolkit in Bazel's output base."""
    cuda = settings.cuda
    if not cuda.enabled:
        return []
    roots = [r for r in (cuda.local_cuda_path, cuda.local_cudnn_path) if r]
    if cuda.local_cuda_path:
        roots.append(shim)
    else:
        roots.append(f"{output_base}/external")
    return roots


def foreign_cuda_paths(texts: Iterable[str], roots: list[str]) -> list[str]:
    """CUDA paths in the texts that lie under none of the roots."""
    def inside(path: str) -> bool:
        return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)
    return sorted({p for t in texts for p in cuda_paths(t) if not inside(p)})
