"""Path inputs checked before a step uses them: one line naming the path and the key or flag
that gave it, an error of its kind, and nothing written yet.

Kinds: a path of the wrong kind (a file where a directory is expected, or the reverse) or with
content that is not UTF-8 is a ConfigError (exit 2: change the setting); a path that is missing,
unreadable or not writable is a PreconditionError (exit 3: the machine is not ready).
"""

from __future__ import annotations

import os
from pathlib import Path

from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.files import nearest_existing


def readable_file(path: Path, what: str) -> Path:
    """An existing, readable regular file (what: the key or flag that named it)."""
    if path.is_dir():
        raise ConfigError(f"{what}: {path} is a directory, not a file",
                          hint=f"give {what} a file")
    if not path.exists():
        raise PreconditionError(f"{what}: {path} does not exist", hint=f"give {what} an existing file")
    if not os.access(path, os.R_OK):
        raise PreconditionError(f"{what}: {path} is not readable",
                                hint=f"make it readable (chmod u+r {path}) or give {what} another file")
    return path


def readable_dir(path: Path, what: str) -> Path:
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


def read_text(path: Path, what: str) -> str:
    """A readable UTF-8 text file."""
    readable_file(path, what)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}: {path} is not UTF-8 text (byte {exc.start})",
                          hint=f"save {path} as UTF-8") from None
    except OSError as exc:
        raise PreconditionError(f"{what}: cannot read {path}: {exc.strerror}") from None
