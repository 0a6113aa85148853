"""The one module that owns Rich.

Colour and live widgets only on a terminal; plain text otherwise (CI logs, pipes). Errors go to
stderr. Other modules call these functions and never import Rich's Console themselves.

Plain text is written without Rich, which is imported only when a terminal gets colour, a live
region or a table: a build whose output goes to a log does not pay for loading it.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tfbuild import secrets

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TextColumn

_out: Console | None = None
_err: Console | None = None
# The live region on the terminal, if one is shown (a bar at the bottom): while it is, every
# output (stdout's and stderr's) is printed through its console, above it, whole.
_live: list[Progress] = []


def _styled(stream) -> bool:
    """Whether `stream` gets Rich's output (colour, a live region): a terminal, or forced."""
    return _color_wanted(stream.isatty() and os.environ.get("TERM") != "dumb")


def _make(stream) -> Console:
    from rich.console import Console

    is_tty = _styled(stream)
    return Console(
        file=stream,
        force_terminal=is_tty,
        no_color=not is_tty,
        highlight=False,
        soft_wrap=not is_tty,
        width=None if is_tty else 200,
    )


_UNSAFE = re.compile(f"[{secrets.UNSAFE_CHARS}]")


def clean(text: str) -> str:
    """What any output of tfbuild shows: secrets masked (secrets.mask), and characters that
    would drive the terminal (escape sequences, bidi overrides) shown as escapes instead."""
    text = secrets.mask(str(text))
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)
    return text


def _color_wanted(is_tty: bool) -> bool:
    force = os.environ.get("TFBUILD_COLOR")
    if force is None:
        return is_tty
    value = force.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return is_tty  # refused by the command line (cli.check_environment) before any task runs


TRUE_WORDS = ("1", "yes", "true", "on", "always")
FALSE_WORDS = ("0", "", "no", "false", "off", "never")


def out() -> Console:
    global _out
    if _live:
        return _live[-1].console
    if _out is None or _out.file is not sys.stdout:
        _out = _make(sys.stdout)
    return _out


def err() -> Console:
    global _err
    if _live:  # the region is on the terminal's screen: errors go above it, not into it
        return _live[-1].console
    if _err is None or _err.file is not sys.stderr:
        _err = _make(sys.stderr)
    return _err


def is_interactive() -> bool:
    return bool(_live) or _styled(sys.stdout)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _print(to_err: bool, styled: Callable[[], str], text: str, **options) -> None:
    """`styled()` (Rich markup) through Rich where the stream is styled (or a live region is up), else the
    plain `text` written as it is."""
    stream = sys.stderr if to_err else sys.stdout
    if _live or _styled(stream):
        (err() if to_err else out()).print(styled(), **options)
        return
    stream.write(text + "\n")
    stream.flush()


def info(message: str) -> None:
    text = clean(message)
    _print(False, lambda: escape(text), text)


def plain(message: str) -> None:
    """Print text as is, no markup and no wrapping (commands, diffs, JSON)."""
    message = clean(message)
    if _live:
        _live[-1].console.print(message.removesuffix("\n"), markup=False, highlight=False,
                                soft_wrap=True)
        return
    stream = sys.stdout
    stream.write(message if message.endswith("\n") else message + "\n")
    stream.flush()


def _prefixed(to_err: bool, style: str, prefix: str, message: str) -> None:
    text = clean(message)

    def markup() -> str:
        return f"[{style}]{prefix}[/] {escape(text)}" if prefix else f"[{style}]{escape(text)}[/]"

    _print(to_err, markup, f"{prefix} {text}" if prefix else text)


def step(message: str) -> None:
    _prefixed(False, "bold cyan", "==>", message)


def note(message: str) -> None:
    _prefixed(False, "dim", "", message)


def success(message: str) -> None:
    _prefixed(False, "bold green", "ok", message)


def warn(message: str) -> None:
    _prefixed(True, "bold yellow", "warning:", message)


def error(message: str) -> None:
    _prefixed(True, "bold red", "error:", shorten_lines(message))


def raw_error_line(line: str) -> None:
    """A line of another program's error output (Bazel's ERROR lines), as it is, cleaned."""
    text = clean(line)
    _print(True, lambda: text, text, markup=False, highlight=False)


MAX_LINE = 2000


def shorten_lines(message: str, limit: int = MAX_LINE) -> str:
    """An error message whose lines are each at most `limit` characters: a 10 MB value a user
    passed is named by its start, not echoed whole."""
    return "\n".join(line if len(line) <= limit else
                     f"{line[:limit]}... ({len(line) - limit} more characters)"
                     for line in message.split("\n"))


def command(argv_text: str) -> None:
    """Echo a command about to run, cibuildwheel style: `+ cmd`."""
    text = clean(argv_text)
    _print(False, lambda: f"[dim]+ {escape(text)}[/]", f"+ {text}", soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
          styles: Sequence[str | None] | None = None) -> None:
    from rich import box
    from rich.table import Table

    t = Table(title=clean(title) or None, show_lines=False, title_justify="left",
              box=box.HEAVY_HEAD if is_interactive() else box.ASCII2)
    for col in columns:
        t.add_column(col, overflow="fold")
    for i, row in enumerate(rows):
        style = styles[i] if styles else None
        t.add_row(*[escape(clean(cell)) for cell in row], style=style)
    out().print(t)


@contextmanager
def live_region(progress: Progress) -> Iterator[Progress]:
    """Show `progress` as the one live region at the bottom of the terminal until the block
    ends; everything printed meanwhile scrolls above it. Its last state stays on the screen
    once, as the region stops."""
    progress.start()
    _live.append(progress)
    try:
        yield progress
    finally:
        _live.remove(progress)
        progress.stop()


def _progress(*columns) -> Progress:
    from rich.progress import Progress

    return Progress(*columns, console=out(), transient=False, redirect_stdout=True,
                    redirect_stderr=True, refresh_per_second=8)


def _fitting(template: str, ratio: int | None = None, style: str = "") -> TextColumn:
    """A text column that is cut with an ellipsis, never wrapped: a wrapped region line would
    leave copies of the bar on a narrow terminal."""
    from rich.progress import TextColumn
    from rich.table import Column

    return TextColumn(template, style=style,
                      table_column=Column(no_wrap=True, overflow="ellipsis", ratio=ratio))


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A live bar on a terminal (done/total, elapsed time, what runs now); None elsewhere
    (callers print plain lines)."""
    if not is_interactive():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TimeElapsedColumn

    progress = _progress(SpinnerColumn(finished_text="[green]✓[/]"),
                         _fitting("[bold]{task.description}"), BarColumn(bar_width=20),
                         MofNCompleteColumn(), TimeElapsedColumn(),
                         _fitting("{task.fields[action]}", ratio=1, style="dim"))
    with live_region(progress):
        task = progress.add_task(description, total=None, action="")

        def update(done: int, total: int, action: str) -> None:
            progress.update(task, completed=done, total=total or None, action=clean(action))

        yield update


class DownloadBar:
    """One byte-counting bar for downloads, shown only on a terminal and only once the
    transfer has taken more than `delay` seconds. Thread-safe (Rich's Progress is)."""

    def __init__(self, description: str, delay: float = 1.0) -> None:
        self.description = description
        self.delay = delay
        self.started = time.monotonic()
        self.total = 0
        self.done = 0
        self.progress: Progress | None = None
        self.task = None

    def add_total(self, size: int | None) -> None:
        self.total += size or 0
        self._refresh()

    def advance(self, size: int) -> None:
        self.done += size
        self._refresh()

    def _refresh(self) -> None:
        if self.progress is None:
            if not is_interactive() or time.monotonic() - self.started < self.delay:
                return
            from rich.progress import (BarColumn, DownloadColumn, TimeElapsedColumn,
                                       TransferSpeedColumn)

            self.progress = _progress(_fitting("[bold]{task.description}"), BarColumn(),
                                      DownloadColumn(), TransferSpeedColumn(),
                                      TimeElapsedColumn())
            self.progress.start()
            _live.append(self.progress)
            self.task = self.progress.add_task(self.description, total=self.total or None)
        self.progress.update(self.task, completed=self.done, total=self.total or None)

    def close(self) -> None:
        if self.progress is not None:
            if self.progress in _live:
                _live.remove(self.progress)
            self.progress.stop()
