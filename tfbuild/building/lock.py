"""One `invoke build` per source tree at a time. An flock on a file in the state directory:
the kernel releases it when the process ends however it ends, so no stale lock is left."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tfbuild.errors import PreconditionError


@contextmanager
def build_lock(state: Path, source: Path) -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    path = state / "build.lock"
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            try:
                info = json.loads(holder)
            except ValueError:
                info = {}
            raise PreconditionError(
                f"another `invoke build` is running on {source} (pid {info.get('pid', '?')}, "
                f"started {info.get('started', '?')})",
                hint="wait for it to finish, or stop it with Ctrl-C") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        handle.flush()
        yield
    finally:
        handle.close()
