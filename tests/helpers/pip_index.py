"""A real pip index on loopback: a PEP 503 "simple" directory of wheels, served by Python's
ThreadingHTTPServer on a port the kernel picks (the server reports it). Every request path is
recorded, so a test can show which files pip took from it."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_simple_index(wheels: Iterable[Path], root: Path) -> Path:
    """root/simple/<project>/index.html linking root/files/<wheel>#sha256=..."""
    projects: dict[str, list[Path]] = {}
    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "simple").mkdir(exist_ok=True)
    for wheel in wheels:
        projects.setdefault(normalize(wheel.name.split("-")[0]), []).append(wheel)
        link = root / "files" / wheel.name
        if not link.exists():
            link.symlink_to(wheel.resolve())
    for project, files in projects.items():
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">'
            f"{w.name}</a>\n" for w in sorted(files))
        page.write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    (root / "simple" / "index.html").write_text("".join(
        f'<a href="{p}/">{p}</a>\n' for p in sorted(projects)))
    return root


class IndexServer:
    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "IndexServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def files_served(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p in self.requests if p.startswith("/files/")]


def tiny_wheel(directory: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A small, valid, pure-Python wheel (one module, METADATA, WHEEL, RECORD)."""
    import base64
    import zipfile

    def digest(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    module, dist = normalize(name).replace("-", "_"), f"{normalize(name).replace('-', '_')}-{version}"
    files = {
        f"{module}/__init__.py": f'"""{name} {version}, built by tfbuild\'s tests."""\n'.encode(),
        f"{dist}.dist-info/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                        + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tfbuild-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{n},{digest(d)},{len(d)}\n" for n, d in sorted(files.items()))
    files[f"{dist}.dist-info/RECORD"] = (record + f"{dist}.dist-info/RECORD,,\n").encode()
    path = directory / f"{dist}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for n, d in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), d)
    return path
