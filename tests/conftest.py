"""Test tiers: tests/unit is marked `unit` (pure logic; subprocesses and sockets are blocked),
tests/integration is marked `integration` (real tools installed by scripts/test.sh)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden from what the code renders (review the diff)")


def pytest_configure(config):
    """Golden files are rewritten only when this run asked for it on the command line: an
    UPDATE_GOLDEN left in the environment is dropped (and would do nothing)."""
    import os

    from tests.helpers import golden

    os.environ.pop("UPDATE_GOLDEN", None)
    golden.UPDATE["on"] = bool(config.getoption("--update-golden"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "unit" in parts:
            item.add_marker(pytest.mark.unit)
        elif "integration" in parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _isolate(request, monkeypatch, tmp_path_factory):
    """Every test: no TFBUILD_* from the developer's shell, its own empty HOME (so no
    ~/.bazelrc, ~/.keras, ~/.local/state/tfbuild, ~/.cache/pip of the developer's). Unit tests:
    no processes, no network."""
    import os

    from tfbuild import secrets

    secrets.forget_all()  # secrets registered by one test are not another's
    for name in list(os.environ):
        if name.startswith("TFBUILD_"):
            monkeypatch.delenv(name)
    # beside the test's tmp_path, not in it: tests that list tmp_path see only their own files
    for name, value in own_home(tmp_path_factory.mktemp("home")).items():
        monkeypatch.setenv(name, value)
    if request.node.get_closest_marker("unit"):
        block_processes_and_network(monkeypatch)


def own_home(home: Path) -> dict[str, str]:
    """HOME, the XDG directories and pip's cache, all inside `home` (created empty)."""
    dirs = {"HOME": home, "XDG_CONFIG_HOME": home / ".config", "XDG_CACHE_HOME": home / ".cache",
            "XDG_STATE_HOME": home / ".local" / "state", "XDG_DATA_HOME": home / ".local" / "share",
            "PIP_CACHE_DIR": home / ".cache" / "pip"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


PROCESS_FUNCTIONS = ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
                     "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
                     "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
                     "spawnvpe")
LOOKUP_FUNCTIONS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                    "getnameinfo", "create_connection")
SOCKET_METHODS = ("connect", "connect_ex", "sendto", "sendmsg")


def block_processes_and_network(monkeypatch) -> None:
    """The unit tier: no process is started (subprocess, os.system, exec*, spawn*, fork), no
    name is looked up and no socket connects or sends."""
    import os

    def refuse(what):
        def refused(*args, **kwargs):
            raise AssertionError(f"unit tests must not {what}: {args[:1]}")
        return refused

    monkeypatch.setattr(subprocess, "Popen", refuse("start processes"))
    monkeypatch.setattr(subprocess, "run", refuse("start processes"))
    for name in PROCESS_FUNCTIONS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse(f"start processes (os.{name})"))
    for name in LOOKUP_FUNCTIONS:
        monkeypatch.setattr(socket, name, refuse(f"use the network (socket.{name})"))
    for name in SOCKET_METHODS:
        monkeypatch.setattr(socket.socket, name, refuse(f"use the network (socket.{name})"))
