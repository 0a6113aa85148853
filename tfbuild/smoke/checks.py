"""The smoke test's pure parts: comparing outputs, reading TensorFlow's log for GPU libraries
that failed to load, and which wheel fits which interpreter."""

from __future__ import annotations

import array
import ast
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

ATOL = 1e-5  # largest absolute difference allowed between C API and Python outputs

_DLOPEN = re.compile(r"Could not load dynamic library '([^']+)'(?:; dlerror: (.*))?")
_DLOPEN_OTHER = re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file")


@dataclass(frozen=True)
class Comparison:
    count: int
    classes: int
    max_abs_diff: float
    argmax_agree: int

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= ATOL and self.argmax_agree == self.count

    def as_dict(self) -> dict:
        return {"examples": self.count, "max_abs_diff": self.max_abs_diff, "atol": ATOL,
                "argmax_agree": self.argmax_agree, "ok": self.ok}


def read_floats(path: Path) -> array.array:
    values = array.array("f")
    values.frombytes(path.read_bytes())
    return values


def compare(python: Sequence[float], c_api: Sequence[float], classes: int) -> Comparison:
    if len(python) != len(c_api) or len(python) % classes:
        raise ValueError(f"output sizes differ: {len(python)} (Python) vs {len(c_api)} (C API)")
    count = len(python) // classes
    max_diff = max((abs(a - b) for a, b in zip(python, c_api)), default=0.0)
    agree = 0
    for i in range(count):
        row_p = python[i * classes:(i + 1) * classes]
        row_c = c_api[i * classes:(i + 1) * classes]
        agree += max(range(classes), key=row_p.__getitem__) == max(range(classes), key=row_c.__getitem__)
    return Comparison(count, classes, float(max_diff), agree)


def failed_gpu_libraries(log: Iterable[str]) -> list[str]:
    """Libraries TensorFlow could not dlopen, with the reason, from its own log."""
    found: list[str] = []
    for line in log:
        match = _DLOPEN.search(line)
        if match:
            text = match.group(1) + (f" ({match.group(2).strip()})" if match.group(2) else "")
        else:
            other = _DLOPEN_OTHER.search(line)
            if not other:
                continue
            text = other.group(1)
        if text not in found:
            found.append(text)
    return found


def wheel_fits(wheel: Path, supported: Sequence[str]) -> tuple[bool, str]:
    """Does the wheel install on an interpreter whose tags are `supported` (best first)?"""
    try:
        name, version, _, tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        return False, f"{wheel.name} is not a wheel file name ({exc})"
    wanted = {str(t) for t in tags}
    if wanted & set(supported):
        return True, f"{name} {version}"
    sample = ", ".join(sorted(str(t) for t in tags)[:3])
    return False, (f"{wheel.name} is built for {sample}, which this Python does not support "
                   f"(it takes e.g. {supported[0] if supported else '?'})")


def distribution(wheel: Path) -> tuple[str, str]:
    name, version, _, _ = parse_wheel_filename(wheel.name)
    return str(name), str(version)


# -- which libraries ran ---------------------------------------------------------------------------
# Shared objects worth naming in the report: TensorFlow's own and the CUDA/cuDNN/NCCL libraries it
# loads (TF's GPU platform dlopens libcudart, libcublas(Lt), libcufft, libcusparse, libcusolver,
# libcudnn and libnccl; tsl/platform/default/dso_loader.cc).
_TRACKED = re.compile(r"(?:^|/)(?:libtensorflow[\w.+-]*\.so[\w.]*|_pywrap_tensorflow_internal\.so"
                      r"|lib(?:cudart|cudnn[\w]*|cublas|cublasLt|cufft|curand|cusolver|cusparse"
                      r"|nccl|nvrtc[\w-]*|nvJitLink|cupti)\.so[\w.]*)$")
_SO_VERSION = re.compile(r"\.so\.(\d+(?:\.\d+)*)$")
# TF's own message when the cuDNN it loaded is not the one it was built with
# (xla/stream_executor/cuda/cuda_dnn.cc).
_CUDNN_RUNTIME = re.compile(r"Loaded runtime CuDNN library: ([\d.]+) but source was compiled "
                            r"with: (\d+(?:\.(?:\d+|x))*)")
# NVIDIA's pip distributions (TF's `and-cuda` extra pins them): in the smoke environment they
# would be loaded instead of the profile's CUDA/cuDNN (TF adds site-packages/nvidia/*/lib to its
# search path).
_NVIDIA_DIST = re.compile(r"^nvidia-")


@dataclass(frozen=True)
class Loaded:
    path: str       # as mapped
    real: str       # symlinks resolved (carries the full version for most NVIDIA libraries)

    @property
    def name(self) -> str:
        return self.real.rsplit("/", 1)[-1]

    @property
    def version(self) -> str | None:
        """The version in the real file name: libcudnn.so.9.10.2 -> 9.10.2 (None without one)."""
        match = _SO_VERSION.search(self.name)
        return match.group(1) if match else None


def mapped_paths(maps: Iterable[str]) -> list[str]:
    """Unique paths of the files in /proc/<pid>/maps lines, in order."""
    seen: list[str] = []
    for line in maps:
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].strip().startswith("/"):
            path = fields[5].strip()
            if path not in seen:
                seen.append(path)
    return seen


def tracked(loaded: Iterable[Loaded]) -> list[Loaded]:
    """The TensorFlow and CUDA libraries among the loaded ones."""
    return [lib for lib in loaded if _TRACKED.search(lib.path) or _TRACKED.search(lib.real)]


def tensorflow_libraries(loaded: Iterable[Loaded]) -> list[Loaded]:
    return [lib for lib in loaded
            if lib.path.rsplit("/", 1)[-1].startswith(("libtensorflow", "_pywrap_tensorflow"))]


def c_api_library(loaded: Iterable[Loaded]) -> Loaded | None:
    """The library that exported the C API to the C program: libtensorflow.so* (a build's), else
    libtensorflow_cc.so* (the PyPI wheel's)."""
    libs = tensorflow_libraries(loaded)
    for prefix in ("libtensorflow.so", "libtensorflow_cc.so"):
        for lib in libs:
            if lib.path.rsplit("/", 1)[-1].startswith(prefix):
                return lib
    return None


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def cuda_mismatches(loaded: Iterable[Loaded], *, cuda: str, cudnn: str,
                    log: Iterable[str] = ()) -> list[str]:
    """One line per CUDA runtime or cuDNN library loaded at another version than the profile's
    (compared as major.minor; a file name with the major only is not judged), and TF's own
    "Loaded runtime CuDNN library" complaint."""
    problems: list[str] = []
    for lib in loaded:
        version = lib.version
        if not version or "." not in version:
            continue
        for stem, label, wanted in (("libcudart.so", "CUDA runtime", cuda),
                                    ("libcudnn.so", "cuDNN", cudnn)):
            if lib.name.startswith(stem) and _major_minor(version) != _major_minor(wanted):
                problems.append(f"{label} {version} loaded from {lib.real}, the profile's is {wanted}")
    for line in log:
        match = _CUDNN_RUNTIME.search(line)
        if match:
            problems.append(f"TensorFlow loaded cuDNN {match.group(1)} but was compiled with "
                            f"{match.group(2)}")
    return problems


def nvidia_distributions(installed: dict[str, str]) -> dict[str, str]:
    """NVIDIA's pip packages (name -> version) among a venv's distributions."""
    return {name: version for name, version in sorted(installed.items())
            if _NVIDIA_DIST.match(name)}


_C_VERSION = re.compile(r"^TF_Version: (\S+)$", re.M)  # model_run.c's first line


def c_tf_version(stdout: str) -> str | None:
    """TF_Version() as the C program printed it."""
    match = _C_VERSION.search(stdout)
    return match.group(1) if match else None


def version_disagreement(*, c: str | None, python: str | None, profile: str) -> str | None:
    """What is wrong when the C library's TensorFlow, Python's and the profile's differ."""
    if c is None:
        return "the C program did not print TF_Version()"
    if python is not None and c != python:
        return (f"the C library is TensorFlow {c} but Python imported TensorFlow {python} "
                f"(the profile builds {profile})")
    if c != profile:
        return f"the C library is TensorFlow {c}, the profile builds TensorFlow {profile}"
    return None


BUILD_INFO = "tensorflow/python/platform/build_info.py"  # generated by TF's build


def wheel_build_info(wheel: Path) -> dict | None:
    """The `build_info` TF's build writes into the wheel (is_cuda_build, cuda_version, ...),
    read from the zip without installing it: the assignment's literal, evaluated as a literal
    (never run). None when the wheel has none or it is not a literal."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(BUILD_INFO).decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return None
    try:
        module = ast.parse(text)
    except SyntaxError:
        return None
    for node in module.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "build_info"
                                                 for t in node.targets)):
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # collections.OrderedDict([...])
                value = value.args[0]
            try:
                items = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None
            try:
                return dict(items)
            except (TypeError, ValueError):
                return None
    return None

