"""The smoke test's pure parts: comparing outputs, reading TensorFlow's log for GPU libraries
that failed to load, and which wheel fits which interpreter."""

from __future__ import annotations

import array
import re
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
