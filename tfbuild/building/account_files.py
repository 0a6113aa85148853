"""The files Bazel writes for the build's account, kept beside the build's log in the state dir:
`logs/build-STAMP.bep.json` (Build Event Protocol, JSON lines),
`logs/build-STAMP.profile.json.gz` (the JSON trace profile, gzipped by Bazel for the `.gz` name)
and, with `build.execution_log`, `logs/build-STAMP.exec.json.gz` (Bazel's execution log, written
by Bazel in its binary form and kept masked as gzipped JSON lines: tfbuild.execlog).

The flags that ask for them are not part of Bazel's configuration: changing their paths from build
to build keeps the analysis cache and every action key (the build tests check that a second build
is still a no-op). Bazel's BEP carries the whole client environment and command line (the execution log each
action's), so each is written first to a private directory and kept only with secrets masked
(account.redact_bep_line, execlog.mask_spawn).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tfbuild import execlog
from tfbuild.building import account
from tfbuild.files import atomic_write


@dataclass(frozen=True)
class RunFiles:
    log: Path
    bep: Path
    profile: Path
    raw_dir: Path  # private (0700): Bazel's unmasked BEP and execution log while it runs
    execution_log: Path | None = None  # None: build.execution_log = false

    @classmethod
    def beside(cls, log: Path, *, execution_log: bool = True) -> "RunFiles":
        stem = log.name.removesuffix(".log")
        return cls(log, log.with_name(f"{stem}.bep.json"),
                   log.with_name(f"{stem}.profile.json.gz"), log.parent / f".{stem}.raw",
                   log.with_name(f"{stem}.exec.json.gz") if execution_log else None)

    @property
    def raw_bep(self) -> Path:
        return self.raw_dir / "bep.json"

    @property
    def raw_execution_log(self) -> Path:
        return self.raw_dir / "exec.binpb"

    def bazel_options(self) -> tuple[str, ...]:
        self.raw_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.raw_dir, 0o700)
        options = (f"--build_event_json_file={self.raw_bep}", f"--profile={self.profile}")
        if self.execution_log:
            options += (f"--execution_log_binary_file={self.raw_execution_log}",)
        return options

    def keep_bep(self) -> list[str]:
        """Write the masked BEP (and execution log) beside the log and remove Bazel's raw ones;
        problems keeping the execution log, to report (the build itself is not at stake)."""
        problems: list[str] = []
        try:
            if self.raw_bep.is_file():
                with open(self.raw_bep, encoding="utf-8", errors="replace") as raw:
                    text = "".join(account.redact_bep_line(line) + "\n"
                                   for line in raw if line.strip())
                atomic_write(self.bep, text)
            if self.execution_log and self.raw_execution_log.is_file():
                try:
                    execlog.keep(self.raw_execution_log, self.execution_log)
                except execlog.ExecLogError as exc:
                    problems.append(f"Bazel's execution log not kept: it {exc}")
        finally:
            shutil.rmtree(self.raw_dir, ignore_errors=True)
        return problems

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
