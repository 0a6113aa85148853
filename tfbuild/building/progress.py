"""Bazel's output, line by line: to the raw log, to progress, to a tail kept for the diagnosis.

The pipeline does the least work per line (a prefix test, a write) so it keeps up with any
Bazel output; bench/build.py measures it in lines per second.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

PROGRESS = re.compile(r"^\[([\d,]+) / ([\d,]+)\] (.*)")
NOTICE_STARTS = frozenset("IEFSW")
PROCESSES = re.compile(r"^INFO: (\d+) process(?:es)?: (.*)\.$")
COMPLETED = re.compile(r"^INFO: Build completed successfully, ([\d,]+) total actions?")

# Before the first `[n / m]` line, Bazel's progress is a phase line (UiStateTracker.
# writeProgressBar): "Loading: 3 packages loaded" (with "    currently loading: ..." under it),
# "Analyzing: 3 targets (42 packages loaded, 1,234 targets configured)". Running downloads are
# "    Fetching <url or @repo>; <progress> <N>s" lines (reportOnOneDownload), progress as
# DownloadProgressEvent.getProgress() words it ("10.1 MiB (20.2%)", "10.1 MiB (10,590,000B)"),
# but only when Bazel controls the cursor: with --curses=no (what tfbuild passes, so that the
# log stays plain text) it writes the short version without them, so tfbuild also watches the
# output base while Bazel fetches (tfbuild.building.fetchwatch).
PHASES = {"Loading:": "loading", "Analyzing:": "analyzing"}
FETCHING = "    Fetching "
LOADING_DETAIL = "    currently loading: "
INDENTED = (FETCHING, LOADING_DETAIL)
LOOKED_AT = NOTICE_STARTS | frozenset("LA ")
SIZE = re.compile(r"(\d[\d,]*(?:\.\d+)?) ?(B|KiB|MiB|GiB|TiB)\b")
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


def parse_size(text: str) -> int | None:
    """"45 MiB", "10.1 MiB (20.2%)" -> bytes; None when the text has no size."""
    match = SIZE.search(text)
    if not match:
        return None
    return int(float(match.group(1).replace(",", "")) * _UNITS[match.group(2)])


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@dataclass
class BuildSummary:
    """Bazel's own account of the build, read from its output."""

    done: int = 0
    total: int = 0
    action: str = ""
    phase: str = "starting"  # "loading", "analyzing", then "building" from the first [n / m]
    phase_detail: str = ""
    fetching: str = ""  # what Bazel is downloading or fetching now ("" when nothing)
    fetch_bytes: int | None = None  # how much of it has arrived, when known
    fetched: int = 0  # repositories fetched so far in the output base
    processes: int | None = None
    process_kinds: dict[str, int] = field(default_factory=dict)
    analysis_discarded: bool = False
    server_started: bool = False
    succeeded: bool | None = None
    total_actions: int | None = None  # "Build completed successfully, N total actions"
    error_lines: list[str] = field(default_factory=list)

    def finished(self) -> tuple[int, int]:
        """(done, total) for the bar's last state: all done when the build succeeded (Bazel's
        last `[n / m]` line is printed before the last actions end)."""
        if self.succeeded:
            total = max(self.total, self.total_actions or 0)
            return total, total
        return self.done, self.total

    @property
    def executed(self) -> int:
        """Actions that ran (anything but internal ones and cache hits)."""
        kinds = self.process_kinds
        return sum(n for kind, n in kinds.items()
                   if kind != "internal" and "cache hit" not in kind)

    @property
    def remote_cache_hits(self) -> int:
        return self.process_kinds.get("remote cache hit", 0)

    def describe(self) -> str:
        """One line: `[n / m] action` while building, else the phase and what is fetched."""
        if self.phase == "building":
            return f"[{self.done:,} / {self.total:,}] {self.action}"
        phase = "starting Bazel" if self.phase == "starting" else self.phase
        text = phase + (f": {self.phase_detail}" if self.phase_detail else "")
        if self.fetching:
            text += f"; fetching {self.fetching}"
            if self.fetch_bytes:
                text += f" ({human_size(self.fetch_bytes)})"
        if self.fetched:
            text += f"; {self.fetched} repositories fetched"
        return text


def parse_processes(text: str) -> dict[str, int]:
    """"2 remote cache hit, 1 internal, 3 linux-sandbox" -> {kind: count}."""
    kinds: dict[str, int] = {}
    for part in text.split(", "):
        count, _, kind = part.partition(" ")
        if count.isdigit():
            kinds[kind] = kinds.get(kind, 0) + int(count)
    return kinds


class LogPipeline:
    """Feed it Bazel's lines; it writes the raw log, tracks progress, keeps the tail."""

    def __init__(self, log: TextIO, *, mask: Callable[[str], str] | None = None,
                 on_progress: Callable[[BuildSummary], None] | None = None,
                 on_notice: Callable[[str], None] | None = None, tail_lines: int = 400) -> None:
        self.log = log
        self.mask = mask
        self.summary = BuildSummary()
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.on_progress = on_progress
        self.on_notice = on_notice
        self.lines = 0
        self.error_context: list[str] = []  # every ERROR/FAILED line and the lines after it
        self._capture = 0

    def feed(self, line: str) -> None:
        self.feed_text(line)

    def feed_text(self, text: str) -> None:
        """Whole lines, as many as a read delivered: one write to the log, then each line is
        looked at only as far as its first character."""
        if self.mask is not None:
            text = self.mask(text)
        self.log.write(text)
        lines = text.splitlines(True)
        self.lines += len(lines)
        self.tail.extend(lines[-self.tail.maxlen:] if self.tail.maxlen else lines)
        flush = False
        for line in lines:
            if self._capture:
                self._capture -= 1
                self.error_context.append(line)
            first = line[:1]
            if first == "[":
                match = PROGRESS.match(line)
                if match:
                    flush = True
                    s = self.summary
                    s.done = int(match.group(1).replace(",", ""))
                    s.total = int(match.group(2).replace(",", ""))
                    s.action = match.group(3).rstrip()
                    s.phase = "building"
                    if self.on_progress:
                        self.on_progress(s)
            elif first in LOOKED_AT:  # one set lookup for the lines nobody reads
                if first in NOTICE_STARTS:
                    self._notice(line.rstrip("\n"))
                    flush = True
                elif first != " " or line.startswith(INDENTED):
                    flush = self._phase(line.rstrip("\n")) or flush
        if flush:
            self.log.flush()  # so that `tail -f` on the log follows the build

    def _phase(self, line: str) -> bool:
        """Loading/Analyzing lines and the lines Bazel writes under them (see PHASES)."""
        s = self.summary
        if line.startswith(FETCHING):
            what, _, progress = line[len(FETCHING):].partition("; ")
            s.fetching, s.fetch_bytes = what.strip(), parse_size(progress)
        elif line.startswith(LOADING_DETAIL):
            s.phase_detail = line.strip()
        else:
            head, _, rest = line.partition(" ")
            phase = PHASES.get(head)
            if phase is None or s.phase == "building":
                return False
            s.phase, s.phase_detail = phase, rest.strip()
        if self.on_progress:
            self.on_progress(s)
        return True

    def diagnosis_lines(self) -> list[str]:
        """What a failure is diagnosed from: the lines after each error, then the tail."""
        return [*self.error_context, *self.tail]

    def _notice(self, line: str) -> None:
        s = self.summary
        if line.startswith(("ERROR:", "FAILED:")):
            s.error_lines.append(line)
            if len(self.error_context) < 20_000:
                self._capture = 40  # the failing action's output follows its ERROR line
            if line.startswith("FAILED:"):
                s.succeeded = False
        elif line.startswith("INFO: "):
            if (match := PROCESSES.match(line)):
                s.processes = int(match.group(1))
                s.process_kinds = parse_processes(match.group(2))
            elif "discarding analysis cache" in line:
                s.analysis_discarded = True
            elif line.startswith("INFO: Build completed successfully"):
                s.succeeded = True
                if (done := COMPLETED.match(line)):
                    s.total_actions = int(done.group(1).replace(",", ""))
            elif line.startswith("INFO: Build did NOT complete successfully"):
                s.succeeded = False
        elif line.startswith("Starting local Bazel server"):
            s.server_started = True
        else:
            return
        if self.on_notice:
            self.on_notice(line)


class PlainProgress:
    """Progress for logs and pipes: a line when the phase changes (starting, analysing,
    building), and within a phase a line every `interval` seconds at most."""

    def __init__(self, emit: Callable[[str], None], interval: float = 5.0) -> None:
        self.emit = emit
        self.interval = interval
        self.last: float | None = None  # the first report is always shown
        self.phase: str | None = None

    def __call__(self, summary: BuildSummary) -> None:
        now = time.monotonic()
        if (self.last is None or summary.phase != self.phase
                or now - self.last >= self.interval):
            self.last, self.phase = now, summary.phase
            self.emit(summary.describe())
