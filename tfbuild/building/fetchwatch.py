"""What Bazel is fetching, read from its output base while it runs.

With `--curses=no` (tfbuild's UI options, so that the log is plain text) Bazel writes only the
short progress line and never its `    Fetching <url>; 45 MiB` lines (UiEventHandler passes
shortVersion = !cursorControl); and it writes nothing at all while one long download runs. But
every fetch happens in the output base, where it can be watched cheaply:

- a repository being fetched is a directory `external/<name>/` with no `external/@<name>.marker`
  yet (Bazel writes the marker when the fetch succeeds; checked with Bazel 4.2.3);
- a download grows a file there: `external/<name>/temp<random>/<file>` for
  `download_and_extract` (http_archive), or the rule's own output path for `download`.

The watcher lists `external/` once a second, and for repositories without a marker only their
top level and their `temp*` directories: a few system calls, never a walk of extracted trees.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FetchState:
    fetched: int  # repositories with a marker
    fetching: str  # "@name" of the repository whose download grew the most, "" if none grew
    size: int | None  # bytes of that download so far


def _largest_file(directory: str) -> int:
    """The largest regular file at the top of `directory` or in its temp* subdirectories."""
    largest = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    largest = max(largest, entry.stat(follow_symlinks=False).st_size)
                elif entry.name.startswith("temp") and entry.is_dir(follow_symlinks=False):
                    largest = max(largest, _largest_file(entry.path))
    except OSError:
        pass  # the directory went away (Bazel renamed or deleted it): nothing to report
    return largest


class OutputBaseWatcher:
    """Scans `<output_base>/external` and remembers sizes, to report only what grows."""

    def __init__(self, output_base: Path) -> None:
        self.external = str(output_base / "external")
        self.sizes: dict[str, int] = {}

    def scan(self) -> FetchState:
        try:
            with os.scandir(self.external) as entries:
                names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        except OSError:
            return FetchState(0, "", None)
        markers = {name[1:-len(".marker")] for name, _ in names
                   if name.startswith("@") and name.endswith(".marker")}
        grown: list[tuple[int, str]] = []
        sizes: dict[str, int] = {}
        for name, is_dir in names:
            if not is_dir or name in markers:
                continue
            size = _largest_file(os.path.join(self.external, name))
            sizes[name] = size
            if size > self.sizes.get(name, 0):
                grown.append((size, name))
        self.sizes = sizes
        if not grown:
            return FetchState(len(markers), "", None)
        size, name = max(grown)
        return FetchState(len(markers), f"@{name}", size)


class FetchWatch:
    """A daemon thread calling `on_state` with the output base's FetchState every `interval`
    seconds until stopped. Use as a context manager around the Bazel run."""

    def __init__(self, output_base: Path, on_state: Callable[[FetchState], None],
                 interval: float = 1.0) -> None:
        self.watcher = OutputBaseWatcher(output_base)
        self.on_state = on_state
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tfbuild-fetchwatch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.on_state(self.watcher.scan())

    def __enter__(self) -> "FetchWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
