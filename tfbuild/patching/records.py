"""What tfbuild patched, kept in the state directory (patches.json), with byte-for-byte backups
of the originals, so that --revert restores them and user edits are recognised."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tfbuild.files import atomic_write

RECORDS = "patches.json"


@dataclass(frozen=True)
class Record:
    fix: str
    original_sha256: str
    patched_sha256: str
    backup: str
    params: dict


def load(state: Path) -> dict[str, Record]:
    path = state / RECORDS
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {key: Record(**value) for key, value in data.items()}


def save(state: Path, records: dict[str, Record]) -> None:
    state.mkdir(parents=True, exist_ok=True)
    data = {key: asdict(value) for key, value in sorted(records.items())}
    atomic_write(state / RECORDS, json.dumps(data, indent=2) + "\n")


def backup_location(state: Path, fix: str, root_name: str, relative: str) -> Path:
    return state / "backups" / "patches" / fix / root_name / f"{relative}.orig"
