"""A real REAPI gRPC cache for Bazel: BuildGrid's `bgd` (PyPI buildgrid==0.4.4, installed in
the test venv by scripts/test.sh), serving CAS, action cache and ByteStream on loopback, with or
without TLS; started and stopped by the tests.

The config is ours, written from the annotated reference config the package ships
(buildgrid/server/app/settings/reference.yml). `bgd server start` does not report the port it
got, so the helper picks a free one, waits until it accepts connections and retries with
another port if the server exits (e.g. the port was taken in between)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.nginx import free_port
from tests.helpers.tls import Pki

BGD = str(Path(sys.executable).parent / "bgd")

CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: {insecure}
{credentials}
storages:
  - !disk-storage &cas
    path: {root}/cas
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
    cache-failed-actions: false
instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""

CREDENTIALS = """\
    credentials:
      tls-server-key: {key}
      tls-server-cert: {cert}
"""
CLIENT_CERTS = "      tls-client-certs: {ca}\n"  # then a client certificate it signed is required


class BuildGrid:
    def __init__(self, root: Path, *, tls: Pki | None = None, client_auth: bool = False) -> None:
        self.root = root
        self.tls = tls
        self.client_auth = client_auth
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        creds = CREDENTIALS.format(key=self.tls.server_key, cert=self.tls.server_cert) \
            if self.tls else ""
        if self.tls and self.client_auth:
            creds += CLIENT_CERTS.format(ca=self.tls.ca)
        conf = self.root / "bgd.yml"
        conf.write_text(CONFIG.format(port=self.port, insecure="false" if self.tls else "true",
                                      credentials=creds, root=self.root))
        return conf

    def start(self, attempts: int = 3) -> "BuildGrid":
        (self.root / "cas").mkdir(parents=True, exist_ok=True)
        errors = []
        for _ in range(attempts):
            self.port = free_port()
            log = open(self.root / "bgd.log", "w")
            self.proc = subprocess.Popen([BGD, "server", "start", str(self._config())],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            log.close()
            if self._wait_listening(timeout=60):
                return self
            errors.append((self.root / "bgd.log").read_text()[-2000:])
            self.stop()
        raise RuntimeError("bgd did not start:\n" + "\n---\n".join(errors))

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def stored_objects(self) -> int:
        """Blobs in the CAS (the action cache itself is kept in memory)."""
        return sum(1 for p in (self.root / "cas").rglob("*") if p.is_file())
