"""Matching a build log against known error signatures (tfbuild/data/signatures.toml)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tfbuild import resources
from tfbuild import toml as tomllib

SIGNATURES_FILE = resources.data_file("signatures.toml")


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: re.Pattern
    cause: str
    fix: str
    source: str


@dataclass(frozen=True)
class Diagnosis:
    signature: Signature
    line: str


@cache
def signatures() -> tuple[Signature, ...]:
    data = tomllib.loads(SIGNATURES_FILE.read_text())
    return tuple(Signature(s["id"], re.compile(s["pattern"]), s["cause"], s["fix"], s["source"])
                 for s in data["signature"])


def describe(found: Iterable[Diagnosis]) -> list[str]:
    """Each diagnosis as build and smoke-test print it: cause, fix, the line it matched."""
    return [f"diagnosis: {d.signature.cause}\n  fix: {d.signature.fix}\n"
            f"  (matched: {d.line.strip()[:200]})" for d in found]


def diagnose(lines: Iterable[str]) -> list[Diagnosis]:
    """Every signature found, once, in the order of first appearance."""
    found: dict[str, Diagnosis] = {}
    sigs = signatures()
    for line in lines:
        for sig in sigs:
            if sig.id not in found and sig.pattern.search(line):
                found[sig.id] = Diagnosis(sig, line.rstrip("\n"))
    return list(found.values())


_CANNOT_RUN = re.compile(r'(?:ExecutionStatusException: \w+|Remote Execution Failure:.*): '
                         r'Cannot run program "([^"]+)"')


def missing_on_worker(lines: Iterable[str]) -> str | None:
    """The program a remote worker could not run (Bazel's remote execution failure)."""
    for line in lines:
        if match := _CANNOT_RUN.search(line):
            return match.group(1)
    return None


def error_tail(lines: list[str], count: int = 40) -> list[str]:
    """The lines around the first error, else the last lines."""
    for index, line in enumerate(lines):
        if line.startswith(("ERROR:", "FAILED:")):
            return lines[max(0, index - 5): index + count]
    return lines[-count:]


COMMAND_START = "GrpcServerImpl.executeCommand]"  # the log record, not a stack frame


def crash_lines(output_base: Path, limit: int = 200) -> list[str]:
    """The exception lines that the last command left in the output base's java.log: Bazel
    prints nothing else when its server crashes (e.g. on a TLS remote it cannot talk to)."""
    try:
        text = (output_base / "java.log").read_text(errors="replace")
    except OSError:
        return []
    last = text.rfind(COMMAND_START)
    lines = text[last if last >= 0 else 0:].splitlines()
    wanted = [line for line in lines
              if line.startswith(("Caused by:", "java.", "com.google.")) and ":" in line]
    return wanted[:limit]
