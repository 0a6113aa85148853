"""One row of doctor's report (a Check), the context every check reads, and the statuses:
the types the checks (doctor/checks.py, doctor/cache_key_check.py), the report and configure share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tfbuild import pins
from tfbuild.discovery.facts import Facts
from tfbuild.settings.model import Settings

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Check:
    id: str
    status: str
    found: str
    expected: str
    hint: str = ""
    blocking: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "found": self.found,
                "expected": self.expected, "hint": self.hint, "blocking": self.blocking}

    @property
    def blocks(self) -> bool:
        return self.blocking and self.status == FAIL


@dataclass(frozen=True)
class Context:
    settings: Settings
    facts: Facts

    @property
    def tf(self) -> pins.TensorflowPins:
        return pins.tensorflow(self.settings.tensorflow.version)

    @property
    def cuda_on(self) -> bool:
        return self.settings.cuda.enabled


CheckFn = Callable[[Context], Iterable[Check]]
