"""A program run on a pseudo-terminal of a given size, its output read through a real VT100
emulator (pyte): what a user's terminal would show, not the bytes."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyte


@dataclass(frozen=True)
class Shown:
    returncode: int
    raw: bytes
    lines: list[str]  # the screen, top to bottom, trailing blanks stripped

    def text(self) -> str:
        return "\n".join(self.lines)


def run_on_terminal(argv: Sequence[str], *, cols: int, rows: int = 400,
                    env: Mapping[str, str], cwd: str | None = None,
                    timeout: float = 600) -> Shown:
    """Run argv with stdin, stdout and stderr on a pty of cols x rows; the screen at the end.
    rows is tall so that every line printed stays on the screen (duplicates show)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(list(argv), stdin=follower, stdout=follower, stderr=follower,
                            env={**env, "TERM": "xterm-256color", "COLUMNS": str(cols),
                                 "LINES": str(rows)},
                            cwd=cwd, start_new_session=True, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the program ended and closed its side
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    code = proc.wait(timeout=timeout)
    raw = b"".join(chunks)
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)  # the pty turned each \n into \r\n (ONLCR), as a terminal gets it
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return Shown(code, raw, lines)
