"""Parsing version numbers out of what tools print and what headers define. Pure functions."""

from __future__ import annotations

import json
import re

from packaging.version import InvalidVersion, Version

_XYZ = re.compile(r"^\d+\.\d+\.\d+$")


def is_xyz(text: str) -> bool:
    """True for versions of exactly three numeric parts, the form TF's hermetic rules expect."""
    return bool(_XYZ.match(text))


def version(text: str | None) -> Version | None:
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def major_minor(text: str | None) -> str | None:
    v = version(text)
    return f"{v.major}.{v.minor}" if v else None


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.M)
    return match.group(1) if match else None


def clang(text: str) -> str | None:
    """`clang --version`: "Debian clang version 16.0.6 (15~deb12u1)" -> 16.0.6."""
    return _search(r"clang version (\d+\.\d+\.\d+)", text)


def gcc(text: str) -> str | None:
    """`gcc-12 --version`: "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0" -> 12.2.0."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    found = re.findall(r"(\d+\.\d+(?:\.\d+)?)", first)
    return found[-1] if found else None


def lld(text: str) -> str | None:
    """`ld.lld --version`: "Debian LLD 16.0.6 (compatible with GNU linkers)" -> 16.0.6."""
    return _search(r"LLD (\d+\.\d+\.\d+)", text)


def patchelf(text: str) -> str | None:
    return _search(r"patchelf\s+(\d+\.\d+(?:\.\d+)?)", text)


def bazel(text: str) -> str | None:
    """`bazel --version`: "bazel 6.5.0" -> 6.5.0; "bazel no_version" -> None."""
    return _search(r"^bazel (\d+\.\d+\.\d+\S*)", text)


def cuda_tools(text: str) -> str | None:
    """nvcc/ptxas `--version`: "Cuda compilation tools, release 12.4, V12.4.131" -> 12.4.131."""
    return _search(r"release \d+\.\d+, V(\d+\.\d+\.\d+)", text) or _search(
        r"release (\d+\.\d+)", text)


def cuda_version_json(text: str) -> str | None:
    """A toolkit's version.json: {"cuda": {"version": "12.4.0"}}."""
    try:
        return json.loads(text)["cuda"]["version"]
    except (ValueError, KeyError, TypeError):
        return None


def cuda_version_txt(text: str) -> str | None:
    """Older toolkits' version.txt: "CUDA Version 11.8.89"."""
    return _search(r"CUDA Version (\d+\.\d+\.\d+)", text)


def _defined_numbers(text: str, names: list[str]) -> list[str] | None:
    """The values of `#define NAME <number>` for each name, or None if one is missing."""
    parts = [_search(rf"^\s*#\s*define\s+{name}\s+(\d+)", text) for name in names]
    return None if any(p is None for p in parts) else parts  # type: ignore[return-value]


def cudnn_header(text: str) -> str | None:
    """cudnn_version.h: CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL -> 9.10.2."""
    parts = _defined_numbers(text, ["CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"])
    return ".".join(parts) if parts else None


def tf_version_header(text: str) -> str | None:
    """tensorflow/core/public/version.h: TF_MAJOR/MINOR/PATCH_VERSION (+ TF_VERSION_SUFFIX)."""
    parts = _defined_numbers(text, ["TF_MAJOR_VERSION", "TF_MINOR_VERSION", "TF_PATCH_VERSION"])
    if not parts:
        return None
    suffix = _search(r'^\s*#\s*define\s+TF_VERSION_SUFFIX\s+"([^"]*)"', text) or ""
    return ".".join(parts) + suffix


def dist_info(text: str) -> str | None:
    """A wheel's METADATA: "Version: 12.4.131"."""
    return _search(r"^Version:\s*(\S+)", text)


def python(text: str) -> str | None:
    return _search(r"Python (\d+\.\d+\.\d+)", text)
