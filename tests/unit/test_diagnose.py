from pathlib import Path

import pytest

from tfbuild.building.diagnose import diagnose, error_tail, signatures

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def test_every_signature_has_an_excerpt():
    ids = {s.id for s in signatures()}
    assert ids == {p.stem for p in LOGS.glob("*.log")}


@pytest.mark.parametrize("sig", signatures(), ids=lambda s: s.id)
def test_excerpt_is_diagnosed_as_its_signature(sig):
    found = diagnose((LOGS / f"{sig.id}.log").read_text().splitlines())
    assert found and found[0].signature.id == sig.id
    assert sig.cause and sig.fix and sig.source


def test_ordinary_output_matches_nothing():
    lines = ["INFO: Analyzed 3 targets (0 packages loaded, 0 targets configured).",
             "[12 / 40] Compiling tensorflow/core/framework/tensor.cc; 3s local",
             "INFO: Build completed successfully, 40 total actions"]
    assert diagnose(lines) == []


def test_error_tail_starts_near_the_first_error():
    lines = [f"line {i}" for i in range(100)] + ["ERROR: boom", "detail"]
    tail = error_tail(lines)
    assert tail[0] == "line 95" and tail[-1] == "detail"
