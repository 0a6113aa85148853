"""Golden files: compared whole; `pytest --update-golden ...` rewrites them (review the diff
before committing). The option is the only switch: conftest drops an UPDATE_GOLDEN variable
from the environment, so one left exported in a shell cannot silently rewrite them."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = {"on": False}  # set by tests/conftest.py from --update-golden


def check_golden(relative: str, actual: str) -> None:
    path = GOLDEN / relative
    if UPDATE["on"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}: run pytest with --update-golden"
    expected = path.read_text()
    assert actual == expected, f"{path} differs (pytest --update-golden rewrites it)"
