"""Whether a wheel installs on other machines: `auditwheel show --json`, read (pure).

auditwheel (PyPI, pypa/auditwheel; its JSON mode since pypa/auditwheel#685, schema version 1 in
the package's show-schema.json) names the most widely compatible platform tag the wheel's
binaries meet (`overall_tag`, e.g. `manylinux_2_17_x86_64`, or `linux_x86_64` when none fits),
the tag its symbol versions alone allow (`sym_tag`), the shared libraries it needs from outside
the wheel and outside every manylinux policy (`external_libs`, with the path found here or null),
and the versioned symbols it references per library.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class WheelAudit:
    wheel: str
    tool: str = ""  # "auditwheel 6.8.2"
    policy: str | None = None  # overall_tag
    symbol_policy: str | None = None  # sym_tag
    external_libs: dict[str, str | None] = field(default_factory=dict)
    versioned_symbols: dict[str, list[str]] = field(default_factory=dict)
    pure: bool = False
    blockers: tuple[str, ...] = ()  # pyfpe / ucs2 / unsupported ISA
    error: str | None = None  # auditwheel failed, is missing or too old

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def portable(self) -> bool:
        """A manylinux or musllinux policy fits (or the wheel is pure Python)."""
        return self.pure or bool(self.policy and self.policy.startswith(("manylinux",
                                                                         "musllinux")))

    @property
    def glibc(self) -> str | None:
        """The newest glibc symbol version the wheel references (what a target must have)."""
        found = []
        for versions in self.versioned_symbols.values():
            for v in versions:
                if (m := _GLIBC.match(v)):
                    found.append(tuple(int(x or 0) for x in m.groups()))
        if not found:
            return None
        major, minor, patch = max(found)
        return f"{major}.{minor}" + (f".{patch}" if patch else "")

    def as_dict(self) -> dict:
        return {"file": self.wheel, "tool": self.tool, "policy": self.policy,
                "symbol_policy": self.symbol_policy, "external_libs": dict(self.external_libs),
                "glibc": self.glibc, "pure": self.pure, "blockers": list(self.blockers),
                "error": self.error, "meaning": meaning(self)}


def parse_show_json(stdout: str, wheel: str, tool: str = "") -> WheelAudit:
    """`auditwheel show --json` output -> WheelAudit (an `error` one when it says so or is not
    the JSON it should be)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return WheelAudit(wheel, tool, error="auditwheel printed no JSON")
    if not isinstance(data, dict) or data.get("version") != 1:
        return WheelAudit(wheel, tool, error="auditwheel's JSON is not schema version 1")
    if "error" in data:
        return WheelAudit(wheel, tool, error=str(data["error"]))
    if data.get("pure"):
        return WheelAudit(wheel, tool, pure=True)
    blockers = tuple(name for key, name in (("pyfpe", "uses PyFPE_jbuf"),
                                            ("ucs2", "built for a narrow-unicode (UCS2) Python"),
                                            ("unsupported_isa", "needs unsupported ISA extensions"))
                     if data.get(key))
    return WheelAudit(
        wheel, tool, policy=data.get("overall_tag"), symbol_policy=data.get("sym_tag"),
        external_libs={str(k): (str(v) if v else None)
                       for k, v in sorted((data.get("external_libs") or {}).items())},
        versioned_symbols={str(k): sorted(v)
                           for k, v in sorted((data.get("versioned_symbols") or {}).items())},
        blockers=blockers)


def file_platforms(wheel: str) -> list[str]:
    """The platform tags in the wheel's file name ("linux_x86_64", "any", ...)."""
    try:
        return sorted({t.platform for t in parse_wheel_filename(wheel)[3]})
    except InvalidWheelFilename:
        return []


def summary(audit: WheelAudit) -> str:
    """One line: the policy met and what the wheel needs from outside."""
    if audit.error:
        return f"not audited: {audit.error}"
    if audit.pure:
        return "pure Python: installs anywhere"
    libs = ", ".join(_lib(k, v) for k, v in audit.external_libs.items()) or "none"
    glibc = f", glibc >= {audit.glibc}" if audit.glibc else ""
    return f"{audit.policy}{glibc}; shared libraries needed from outside: {libs}"


def _lib(name: str, path: str | None) -> str:
    return name if path else f"{name} (not found here)"


def meaning(audit: WheelAudit) -> list[str]:
    """What the audit means for installing the wheel on another machine."""
    if audit.error or audit.pure:
        return []
    named = file_platforms(audit.wheel)
    out: list[str] = []
    if audit.portable:
        out.append(f"runs on any Linux that {audit.policy} covers"
                   + (f" (glibc {audit.glibc} or newer)" if audit.glibc else ""))
        if "any" in named:
            out.append("its file name says it runs on any platform, but it holds Linux "
                       "binaries: pip would install it on macOS or Windows too; give it a "
                       "platform tag (`auditwheel repair` does)")
        elif named and audit.policy not in named:
            out.append(f"its file name says {'.'.join(named)}, not {audit.policy}: pip installs "
                       "it as it is, but an index such as PyPI refuses it; `auditwheel repair` "
                       "gives it the manylinux name")
        return out
    out.append(f"only {audit.policy}: no manylinux policy fits, so pip installs it on any "
               "x86_64 Linux with this Python, but nothing says it runs there, and PyPI "
               "refuses it")
    if audit.external_libs:
        out.append("every machine that installs it must provide "
                   + ", ".join(audit.external_libs)
                   + " (on the loader path or where the wheel's RPATH points); `auditwheel "
                   "repair` can copy them into the wheel")
    if audit.symbol_policy == audit.policy:
        out.append("it references symbol versions newer than any manylinux policy allows: built "
                   "against a newer glibc/libstdc++ than the targets may have")
    out += [f"it {b}" for b in audit.blockers]
    return out
