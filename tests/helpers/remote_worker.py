"""Bazel's own REAPI remote worker on loopback (built by scripts/test_assets.py from Debian's
bazel-bootstrap-source): Execution, CAS, ActionCache, ByteStream and Capabilities in one Java
process; each action runs as a process on this machine in its own work directory staged from
its CAS. `hidden` directories are covered by an empty tmpfs in the worker's own mount namespace,
as a remote worker without the client's toolchain paths would see them."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER_JAR = ROOT / ".cache" / "test-assets" / "remote-worker" / "worker.jar"
BAZEL_SERVER_JAR = "/usr/share/bazel/A-server.jar"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteWorker:
    def __init__(self, base: Path, *, hidden: Sequence[Path] = (), jobs: int = 2) -> None:
        if not WORKER_JAR.is_file():
            pytest.fail("test assets missing: run `bash scripts/test.sh` (it builds the worker)")
        self.base, self.hidden, self.jobs = base, tuple(hidden), jobs
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = base / "worker.log"

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def start(self) -> RemoteWorker:
        for name in ("work", "cas"):
            (self.base / name).mkdir(parents=True, exist_ok=True)
        java = ["java", "-Xmx512m", "-cp", f"{WORKER_JAR}:{BAZEL_SERVER_JAR}",
                "com.google.devtools.build.remote.worker.RemoteWorker",
                f"--listen_port={self.port}", f"--work_path={self.base / 'work'}",
                f"--cas_path={self.base / 'cas'}", f"--jobs={self.jobs}"]
        argv = java
        if self.hidden:
            mounts = " && ".join(f"mount -t tmpfs none {shlex.quote(str(d))}" for d in self.hidden)
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    f"{mounts} && exec {shlex.join(java)}"]
        self.process = subprocess.Popen(argv, stdout=open(self.log, "wb"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"remote worker exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"remote worker did not listen: {self.log.read_text()[-2000:]}")

    def stored_objects(self) -> int:
        return sum(1 for p in (self.base / "cas").rglob("*") if p.is_file())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()

    def __enter__(self) -> RemoteWorker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
