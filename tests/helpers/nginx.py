"""A real HTTP cache server for Bazel: nginx (Debian's nginx-light) with WebDAV PUT, on
loopback, started and stopped by the tests.

nginx cannot listen on port 0 and report the port, so the test binds and listens itself on a
port the kernel picks, and nginx inherits that socket (nginx's `NGINX="fd;"` environment
variable, the mechanism of its binary upgrade). No port is ever free between picking and
binding, and a client can connect from the start: the kernel queues it until nginx accepts."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            root {root}/cache;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
"""


def free_port() -> int:
    """A port free now (for servers that cannot inherit a socket: tests/helpers/buildgrid.py
    retries on another port when the server exits)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for loopback


class Nginx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Nginx":
        (self.root / "cache").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(CONFIG.format(user=user, root=self.root, port=self.port))
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-c", str(conf), "-p", str(self.root)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     pass_fds=[fd], env={**os.environ, "NGINX": f"{fd};"})
        self.sock.close()  # nginx holds the listening socket now
        try:  # answered once nginx accepts; refused/reset at once if it exited
            DIRECT.open(f"{self.url}/", timeout=120).close()
        except urllib.error.HTTPError:
            pass  # any HTTP answer means it serves
        except OSError as exc:
            self.stop()
            output = self.proc.stdout.read().decode(errors="replace")
            raise RuntimeError(f"nginx did not serve: {exc}: {output}"
                               f"{(self.root / 'error.log').read_text(errors='replace')[-2000:]}")
        return self

    def stop(self) -> None:
        self.sock.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stored_objects(self) -> int:
        return sum(1 for p in (self.root / "cache").rglob("*") if p.is_file())
