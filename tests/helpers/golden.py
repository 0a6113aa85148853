"""Golden files: compared whole; `UPDATE_GOLDEN=1 pytest ...` rewrites them (review the
diff before committing)."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def check_golden(relative: str, actual: str) -> None:
    path = GOLDEN / relative
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    expected = path.read_text()
    assert actual == expected, f"{path} differs (UPDATE_GOLDEN=1 rewrites it)"
