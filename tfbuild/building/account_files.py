"""The files Bazel writes for the build's account, kept beside the build's log in the state dir:
`logs/build-STAMP.bep.json` (Build Event Protocol, JSON lines) and
`logs/build-STAMP.profile.json.gz` (the JSON trace profile, gzipped by Bazel for the `.gz` name).

The flags that ask for them are not part of Bazel's configuration: changing their paths from build
to build keeps the analysis cache and every action key (the build tests check that a second build
is still a no-op). Bazel's BEP carries the whole client environment and command line, so it is
written first to a private directory and kept only with secrets masked (account.redact_bep_line).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tfbuild.building import account
from tfbuild.files import atomic_write


@dataclass(frozen=True)
class RunFiles:
    log: Path
    bep: Path
    profile: Path
    raw_dir: Path  # private (0700): Bazel's unmasked BEP while it runs

    @classmethod
    def beside(cls, log: Path) -> "RunFiles":
        stem = log.name.removesuffix(".log")
        return cls(log, log.with_name(f"{stem}.bep.json"),
                   log.with_name(f"{stem}.profile.json.gz"), log.parent / f".{stem}.raw")

    @property
    def raw_bep(self) -> Path:
        return self.raw_dir / "bep.json"

    def bazel_options(self) -> tuple[str, ...]:
        self.raw_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.raw_dir, 0o700)
        return (f"--build_event_json_file={self.raw_bep}", f"--profile={self.profile}")

    def keep_bep(self) -> None:
        """Write the masked BEP beside the log and remove Bazel's raw one."""
        try:
            if self.raw_bep.is_file():
                with open(self.raw_bep, encoding="utf-8", errors="replace") as raw:
                    text = "".join(account.redact_bep_line(line) + "\n"
                                   for line in raw if line.strip())
                atomic_write(self.bep, text)
        finally:
            shutil.rmtree(self.raw_dir, ignore_errors=True)

    def read(self) -> tuple[account.BepFacts | None, account.ProfileFacts | None, list[str]]:
        """(BEP facts, profile facts, problems): a missing or unreadable file is a problem to
        report, not an error (the build itself succeeded)."""
        problems: list[str] = []
        bep = profile = None
        try:
            with open(self.bep, encoding="utf-8", errors="replace") as handle:
                bep = account.read_bep(handle)
        except OSError as exc:
            problems.append(f"no build event file ({exc.strerror}: {self.bep})")
        try:
            with gzip.open(self.profile, "rt", encoding="utf-8", errors="replace") as handle:
                profile = account.read_profile(json.load(handle))
        except (OSError, EOFError, ValueError) as exc:
            problems.append(f"no readable profile ({exc}: {self.profile})")
        return bep, profile, problems
