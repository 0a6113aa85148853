"""The documentation's generated tables (tfbuild/docgen.py) are current, and what they are
generated from covers the code."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from tfbuild import docgen

ROOT = Path(__file__).resolve().parents[2]
DOCTOR = ROOT / "tfbuild" / "doctor"


def literal_check_ids() -> set[str]:
    """Every row id the doctor code names literally: Check("id", ...) and ROW = "id"."""
    ids = set()
    for path in DOCTOR.glob("*.py"):
        text = path.read_text()
        ids |= set(re.findall(r'Check\(\s*"([^"]+)"', text))
        ids |= set(re.findall(r'^ROW = "([^"]+)"', text, re.MULTILINE))
    return ids


def documented_patterns() -> list[str]:
    entries = tomllib.loads(docgen.CHECKS_FILE.read_text())["check"]
    return [re.sub(r"<[^>]+>", "*", i) for entry in entries for i in entry["ids"]]


def test_every_doctor_row_id_in_the_code_is_documented():
    patterns = documented_patterns()
    missing = sorted(i for i in literal_check_ids()
                     if not any(fnmatch.fnmatchcase(i, p) for p in patterns))
    assert not missing, f"add these doctor row ids to tfbuild/data/checks.toml: {missing}"


def test_a_table_between_markers_is_regenerated_and_other_text_kept():
    text = ("intro\n<!-- doctor-checks:start -->\nold rows\n<!-- doctor-checks:end -->\n"
            "<!-- unknown:start -->\nkept\n<!-- unknown:end -->\n")
    out = docgen.refreshed(text)
    assert "old rows" not in out and "| `source` |" in out
    assert out.startswith("intro\n") and "\nkept\n" in out


def test_every_signature_is_a_row_of_the_error_table():
    data = tomllib.loads(docgen.SIGNATURES_FILE.read_text())["signature"]
    table = docgen.error_signatures()
    assert all(f"| `{sig['id']}` |" in table for sig in data)
