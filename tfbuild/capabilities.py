"""CUDA compute capabilities: parsing, normalising, and what runs where. Pure functions.

TF 2.18's hermetic rules accept `sm_XY`, `compute_XY` (two digits) and `sm_90a`; tfbuild also
accepts `8.6` and `86` from users and writes them as `sm_86`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tfbuild import pins

_PREFIXED = re.compile(r"^(sm|compute)_(\d)(\d)(a?)$")
_DOTTED = re.compile(r"^(\d)\.(\d)$")
_BARE = re.compile(r"^(\d)(\d)$")


class CapabilityError(ValueError):
    """A capability that cannot be used, with the reason and a suggested fix."""

    def __init__(self, text: str, reason: str, fix: str) -> None:
        super().__init__(f"{text!r}: {reason}")
        self.text = text
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True, order=True)
class Capability:
    major: int
    minor: int
    kind: str  # "sm" (binary code) or "compute" (PTX)
    arch_specific: bool = False  # the "a" of sm_90a

    def __str__(self) -> str:
        return f"{self.kind}_{self.major}{self.minor}{'a' if self.arch_specific else ''}"

    @property
    def number(self) -> int:
        return self.major * 10 + self.minor


def parse(text: str) -> Capability:
    raw = text.strip()
    lowered = raw.lower()
    if m := _PREFIXED.match(lowered):
        return Capability(int(m.group(2)), int(m.group(3)), m.group(1), bool(m.group(4)))
    if m := _DOTTED.match(lowered):
        return Capability(int(m.group(1)), int(m.group(2)), "sm")
    if m := _BARE.match(lowered):
        return Capability(int(m.group(1)), int(m.group(2)), "sm")
    raise CapabilityError(raw, *_explain(lowered))


def _explain(text: str) -> tuple[str, str]:
    if m := re.match(r"^(sm|compute)_?(\d)$", text):
        return ("needs two digits (major and minor)", f"write {m.group(1)}_{m.group(2)}0 "
                f"or the exact value, e.g. {m.group(1)}_{m.group(2)}6")
    if m := re.match(r"^(sm|compute)(\d\d)(a?)$", text):
        return ("TF's CUDA rules need the underscore", f"write {m.group(1)}_{m.group(2)}{m.group(3)}")
    if re.match(r"^\d{2,}\.\d$", text) or re.match(r"^(sm|compute)_?\d{3,}", text):
        return ("TF 2.18's CUDA rules accept only two-digit capabilities (sm_100 and newer "
                "need a newer TF and CUDA)", "use a capability up to sm_90")
    if re.match(r"^\d+\.\d+\.\d+$", text):
        major, minor, _ = text.split(".")
        return ("a compute capability is major.minor, not a version number",
                f"write {major}.{minor} or sm_{major}{minor}")
    return ("not a compute capability", "use sm_XY, compute_XY, X.Y or XY, e.g. sm_86")


@dataclass(frozen=True)
class Problem:
    text: str
    reason: str
    fix: str


def normalise(values: Iterable[str]) -> tuple[list[Capability], list[Problem]]:
    """Parse every entry; return the good ones (deduplicated, in order) and the problems."""
    good: list[Capability] = []
    problems: list[Problem] = []
    for value in values:
        try:
            cap = parse(value)
        except CapabilityError as exc:
            problems.append(Problem(exc.text, exc.reason, exc.fix))
            continue
        if cap not in good:
            good.append(cap)
    return good, problems


def untargetable(caps: Iterable[Capability], cuda_version: str) -> list[Problem]:
    """Capabilities the given CUDA release cannot compile for (sm_35 with CUDA 12, ...)."""
    limits = pins.cuda_target_range(cuda_version)
    if limits is None:
        return []
    low, high = limits
    problems = []
    for cap in caps:
        if cap.number < low:
            problems.append(Problem(str(cap), f"CUDA {cuda_version} cannot target it (its "
                                    f"oldest is sm_{low})", f"remove it, or use sm_{low} or newer"))
        elif cap.number > high:
            problems.append(Problem(str(cap), f"CUDA {cuda_version} cannot target it (its "
                                    f"newest is sm_{high})", f"use sm_{high} or older"))
        elif cap.arch_specific and cap.number != 90:
            problems.append(Problem(str(cap), "only sm_90a has an arch-specific variant here",
                                    f"write {cap.kind}_{cap.number}"))
    return problems


def runs_on(cap: Capability, gpu_major: int, gpu_minor: int) -> bool:
    """Binary (sm) code runs on the same major with an equal or higher minor; PTX (compute)
    is compiled by the driver for any equal or newer GPU. sm_90a runs on 9.0 only."""
    if cap.arch_specific:
        return (cap.major, cap.minor) == (gpu_major, gpu_minor)
    if cap.kind == "sm":
        return cap.major == gpu_major and cap.minor <= gpu_minor
    return (cap.major, cap.minor) <= (gpu_major, gpu_minor)


def parse_gpu_capability(text: str) -> tuple[int, int] | None:
    """nvidia-smi's compute_cap column: "8.6" -> (8, 6)."""
    m = re.match(r"^\s*(\d+)\.(\d+)\s*$", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def native(gpu_major: int, gpu_minor: int) -> str:
    return f"sm_{gpu_major}{gpu_minor}"


def joined(caps: Iterable[Capability]) -> str:
    """The value of HERMETIC_CUDA_COMPUTE_CAPABILITIES."""
    return ",".join(str(c) for c in caps)
