"""The documentation's tables that come from code or data, regenerated between markers
`<!-- NAME:start -->` and `<!-- NAME:end -->` in README.md and docs/*.md:

    profile-keys      the settings model + tfbuild/data/defaults.toml  (docs/profiles.md)
    doctor-checks     tfbuild/data/checks.toml                          (docs/doctor.md)
    error-signatures  tfbuild/data/signatures.toml                      (docs/troubleshooting.md)

    python -m tfbuild.docgen            # list the stale files; exit 1 if any
    python -m tfbuild.docgen --write    # refresh them in the checkout

tests/unit/test_docgen.py fails when a table is stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from tfbuild import resources
from tfbuild import toml as tomllib
from tfbuild.building.diagnose import SIGNATURES_FILE
from tfbuild.settings.docs import table as profile_keys

CHECKS_FILE = resources.data_file("checks.toml")


def _cell(text: str) -> str:
    return text.strip().replace("|", "\\|").replace("\n", " ")


def doctor_checks() -> str:
    lines = ["| id | checks |", "|---|---|"]
    for entry in tomllib.loads(CHECKS_FILE.read_text())["check"]:
        ids = ", ".join(f"`{i}`" for i in entry["ids"])
        lines.append(f"| {ids} | {_cell(entry['checks'])} |")
    return "\n".join(lines)


def error_signatures() -> str:
    lines = ["| id | a log line matching | cause | fix |", "|---|---|---|---|"]
    for sig in tomllib.loads(SIGNATURES_FILE.read_text())["signature"]:
        lines.append(f"| `{sig['id']}` | `{_cell(sig['pattern'])}` | {_cell(sig['cause'])} "
                     f"| {_cell(sig['fix'])} |")
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "profile-keys": profile_keys,
    "doctor-checks": doctor_checks,
    "error-signatures": error_signatures,
}
MARKER = re.compile(r"(<!-- ([a-z-]+):start -->\n)(?:.*?\n)?(<!-- \2:end -->)", re.DOTALL)


def refreshed(text: str) -> str:
    """text with every known table between its markers regenerated."""
    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            return match.group(0)
        return f"{match.group(1)}{TABLES[name]()}\n{match.group(3)}"

    return MARKER.sub(replace, text)


def tables_in(text: str) -> list[str]:
    return [m.group(2) for m in MARKER.finditer(text)]


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def main(argv: list[str]) -> int:
    root = resources.checkout_root()
    if root is None:
        print("docgen works on a tfbuild checkout; this tfbuild is installed from a wheel",
              file=sys.stderr)
        return 2
    stale = [path for path in documents(root) if path.read_text() != refreshed(path.read_text())]
    if "--write" in argv:
        for path in stale:
            path.write_text(refreshed(path.read_text()))
            print(f"refreshed {path.relative_to(root)}")
        return 0
    for path in stale:
        print(f"stale: {path.relative_to(root)} (python -m tfbuild.docgen --write)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
