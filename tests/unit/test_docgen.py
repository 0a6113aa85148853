"""The documentation's generated tables (tfbuild/docgen.py) are current, and what they are
generated from covers the code."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from tfbuild import docgen
from tfbuild import toml as tomllib

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


def test_every_generated_table_is_current():
    stale = [p.name for p in docgen.documents(ROOT) if p.read_text() != docgen.refreshed(p.read_text())]
    assert not stale, f"stale generated tables in {stale}: run python -m tfbuild.docgen --write"


def test_every_generated_table_has_exactly_one_place():
    places = [name for p in docgen.documents(ROOT) for name in docgen.tables_in(p.read_text())]
    assert sorted(places) == sorted(docgen.TABLES)


README_LIMIT = 15_000


def test_readme_is_a_page():
    size = len((ROOT / "README.md").read_text())
    assert size <= README_LIMIT, (f"README.md has {size} characters, over {README_LIMIT}: move "
                                  "reference material to docs/")


def test_readme_links_reach_existing_pages():
    text = (ROOT / "README.md").read_text()
    for doc in docgen.documents(ROOT):
        text += doc.read_text()
    targets = set(re.findall(r"\]\(((?:docs/)?[a-z-]+\.md)(?:#[^)]*)?\)", text))
    missing = [t for t in targets if not ((ROOT / t).is_file() or (ROOT / "docs" / t).is_file())]
    assert targets and not missing, missing
