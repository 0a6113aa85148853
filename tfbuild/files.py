"""File helpers: atomic writes, hashes, backups. Nothing tfbuild writes is ever half-written."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from tfbuild.errors import OutOfSpace, PreconditionError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write through a temporary file in the same directory and rename it into place.

    The file mode of an existing file is kept unless `mode` is given.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    directory = path.parent
    if not directory.is_dir():
        raise PreconditionError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise PreconditionError(
            f"cannot write {path}: directory {directory} is not writable",
            hint=f"make {directory} writable or choose another directory",
        )
    if mode is None and path.exists():
        mode = path.stat().st_mode & 0o7777
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        _no_space(exc, path)
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            _no_space(exc, path)
        raise


# Which setting moves what tfbuild writes, for the message of a full filesystem.
MOVED_BY = ("the state directory: TFBUILD_STATE_DIR; artifacts: build.dist_dir; the TF tree's "
            "rc file: --source; Bazel's output: build.output_user_root")


def _no_space(exc: OSError, path: Path) -> None:
    """A full filesystem names the file and what moves it (the old file, if any, is intact)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise OutOfSpace(f"cannot write {path}: no space left on the filesystem of "
                         f"{path.parent} (nothing was changed)",
                         hint=f"free space there, or move it ({MOVED_BY})") from None


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Atomically write only when the content differs, so mtimes (and Bazel caches) stay."""
    payload = data.encode() if isinstance(data, str) else data
    if path.exists() and path.read_bytes() == payload:
        return False
    atomic_write(path, payload)
    return True


def backup_path(path: Path, backup_dir: Path, stamp: str) -> Path:
    return backup_dir / f"{path.name}.{stamp}.bak"


def copy_backup(path: Path, backup_dir: Path, stamp: str) -> Path:
    """Copy `path` into backup_dir (created as needed), keeping its bytes and mode."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    target = backup_path(path, backup_dir, stamp)
    shutil.copy2(path, target)
    return target


def nearest_existing(path: Path) -> Path:
    path = Path(path).expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
