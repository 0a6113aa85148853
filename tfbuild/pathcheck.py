"""Path inputs checked before a step uses them: one line naming the path and the key or flag
that gave it, an error of its kind, and nothing written yet.

Kinds: a path of the wrong kind (a file where a directory is expected, or the reverse) or with
content that is not UTF-8 is a ConfigError (exit 2: change the setting); a path that is missing,
unreadable or not writable is a PreconditionError (exit 3: the machine is not ready).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.files import nearest_existing


# What tfbuild reads whole (profiles, manifests, SHA256SUMS, records): far larger is no such file.
MAX_TEXT_BYTES = 64 * 1024**2


def broken_link(path: Path, what: str) -> None:
    """Refuse a path that is, or passes through, a symlink loop or a dangling symlink: "does
    not exist" would send the user looking for a missing file."""
    path = Path(path)
    try:
        os.stat(path)
        return
    except OSError as exc:
        code = exc.errno
    if code == errno.ELOOP:
        raise ConfigError(f"{what}: {path} is a symlink loop (or passes through one)",
                          hint=f"fix the link (ls -l {path}), or give {what} another path")
    for candidate in (path, *path.parents):
        if os.path.islink(candidate) and not candidate.exists():
            raise ConfigError(f"{what}: {candidate} is a symlink to {os.readlink(candidate)}, "
                              "which does not exist",
                              hint=f"fix or remove the link, or give {what} another path")
        if candidate.exists():
            return


def readable_file(path: Path, what: str) -> Path:
    """An existing, readable regular file (what: the key or flag that named it). A FIFO, a
    device or a socket is refused: reading one would hang or never end."""
    broken_link(path, what)
    if path.is_dir():
        raise ConfigError(f"{what}: {path} is a directory, not a file",
                          hint=f"give {what} a file")
    if not path.exists():
        raise PreconditionError(f"{what}: {path} does not exist", hint=f"give {what} an existing file")
    if not path.is_file():
        kind = _kind(path)
        raise ConfigError(f"{what}: {path} is {kind}, not a regular file",
                          hint=f"give {what} a regular file")
    if not os.access(path, os.R_OK):
        raise PreconditionError(f"{what}: {path} is not readable",
                                hint=f"make it readable (chmod u+r {path}) or give {what} another file")
    return path


def _kind(path: Path) -> str:
    mode = os.stat(path).st_mode
    return ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")


def readable_dir(path: Path, what: str) -> Path:
    broken_link(path, what)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what}: {path} is a file, not a directory",
                          hint=f"give {what} a directory")
    if not path.exists():
        raise PreconditionError(f"{what}: {path} does not exist",
                                hint=f"give {what} an existing directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise PreconditionError(f"{what}: {path} is not readable",
                                hint=f"make it readable (chmod u+rx {path}) or give {what} another "
                                "directory")
    return path


def writable_dir(path: Path, what: str) -> Path:
    """A directory that exists and is writable, or can be created (nothing is created here)."""
    broken_link(path, what)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what}: {path} is a file, not a directory",
                          hint=f"give {what} a directory (or remove the file)")
    existing = nearest_existing(path)
    if not existing.is_dir():
        raise ConfigError(f"{what}: {path} cannot be created: {existing} is a file",
                          hint=f"give {what} a path under a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        verb = "is not writable" if existing == path else f"cannot be created: {existing} is not writable"
        raise PreconditionError(f"{what}: {path} {verb}",
                                hint=f"make {existing} writable, or give {what} another directory")
    return path


def read_bytes(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """A readable regular file's bytes, refused when larger than `limit` (read through one
    descriptor, so a file swapped for a FIFO after the check cannot hang the read)."""
    readable_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ConfigError(f"{what}: {path} is not a regular file",
                                  hint=f"give {what} a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise PreconditionError(f"{what}: cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise ConfigError(f"{what}: {path} is larger than {limit // 1024**2} MiB: not a file "
                          "tfbuild reads", hint=f"give {what} the right file")
    return data


def read_text(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """A readable UTF-8 text file (a regular file, at most `limit` bytes)."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}: {path} is not UTF-8 text (byte {exc.start})",
                          hint=f"save {path} as UTF-8") from None
    except OSError as exc:
        raise PreconditionError(f"{what}: cannot read {path}: {exc.strerror}") from None
