"""Artifacts checked before use: `SHA256SUMS` (written by `invoke build` beside the wheel and
libraries in dist/<profile>/) is verified before anything reads a file it covers.

A file that differs from its recorded hash, a covered file that is gone, or an artifact the
list does not name is refused, naming the file and both hashes, so that a broken copy or a
changed file is never installed without a word."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tfbuild.errors import PreconditionError, TfbuildError
from tfbuild.files import sha256_file
from tfbuild.pathcheck import read_text

MAX_SUMS_BYTES = 4 * 1024**2

SUMS = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def read(directory: Path) -> dict[str, str]:
    """File name -> recorded sha256, from directory/SHA256SUMS."""
    path = directory / SUMS
    if not os.path.lexists(path):
        raise PreconditionError(f"{path} does not exist: the artifacts in {directory} cannot be "
                                "checked", hint="rebuild them with `invoke build` (it writes "
                                "SHA256SUMS), or pass the file explicitly")
    return read_file(path)


def read_file(path: Path) -> dict[str, str]:
    """File name -> sha256, from a SHA256SUMS-format file of any name."""
    try:
        text = read_text(path, SUMS, limit=MAX_SUMS_BYTES)  # a FIFO or device is refused
    except TfbuildError as exc:
        raise PreconditionError(f"cannot read {path}: {exc.message}", hint="rebuild the artifacts with `invoke build`, "
                                "or restore SHA256SUMS") from None
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.match(line)
        parts = match.group(2).split("/") if match else []
        if not match or any(part in ("", ".", "..") for part in parts):  # below the directory
            raise PreconditionError(f"{path}:{number}: not a `<sha256>  <file name>` line",
                                    hint="rebuild the artifacts with `invoke build`")
        name, digest = match.group(2), match.group(1)
        if sums.get(name, digest) != digest:
            raise PreconditionError(f"{path}:{number}: {name} is listed twice with different "
                                    f"hashes ({sums[name]} and {digest})",
                                    hint="rebuild the artifacts with `invoke build`, or restore "
                                    "SHA256SUMS")
        sums[name] = digest
    return sums


def verify(directory: Path, names: list[str]) -> None:
    """Check each named file of `directory` against its SHA256SUMS entry (symlinks are checked
    through to the file they name)."""
    sums = read(directory)
    for name in names:
        path = directory / name
        if name not in sums:
            raise PreconditionError(f"{path} is not listed in {directory / SUMS}: it was not put "
                                    "there by `invoke build`",
                                    hint=f"remove it, or rebuild with `invoke build`")
        if not path.exists():
            raise PreconditionError(f"{path} is listed in {directory / SUMS} but does not exist",
                                    hint="rebuild with `invoke build`")
        if not path.is_file():  # a FIFO, or a link to /dev/zero: hashing it would never end
            raise PreconditionError(f"{path} is listed in {directory / SUMS} but is not a "
                                    "regular file", hint="rebuild with `invoke build`")
        actual = sha256_file(path)
        if actual != sums[name]:
            raise PreconditionError(
                f"{path} does not match {directory / SUMS}: recorded sha256 {sums[name]}, "
                f"file has {actual}",
                hint="the file changed after the build (a broken copy, an edit): rebuild with "
                "`invoke build`, or restore the file")


def verify_if_listed(path: Path) -> bool:
    """For a file given by hand (--wheel PATH): verify it when a SHA256SUMS beside it lists it.
    Returns whether it was checked."""
    directory = path.parent
    if not os.path.lexists(directory / SUMS):
        return False
    if path.name not in read(directory):
        return False
    verify(directory, [path.name])
    return True
