"""The fast tier's guard (tests/conftest.py) refuses processes, name lookups and connections.
Every call below would be harmless if it got through (a missing program, a closed loopback
port), so a gap shows as a failed test, not as side effects."""

import os
import socket
import subprocess

import pytest

MISSING = "/nonexistent/tfbuild-guard-test"


@pytest.mark.parametrize("call", [
    lambda: subprocess.run([MISSING]),
    lambda: subprocess.Popen([MISSING]),
    lambda: subprocess.check_output([MISSING]),
    lambda: os.system(MISSING),
    lambda: os.popen(MISSING),
    lambda: os.execv(MISSING, [MISSING]),
    lambda: os.execvpe(MISSING, [MISSING], {}),
    lambda: os.posix_spawn(MISSING, [MISSING], {}),
    lambda: os.posix_spawnp(MISSING, [MISSING], {}),
    lambda: os.spawnv(os.P_WAIT, MISSING, [MISSING]),
], ids=["subprocess.run", "Popen", "check_output", "os.system", "os.popen", "os.execv",
        "os.execvpe", "os.posix_spawn", "os.posix_spawnp", "os.spawnv"])
def test_processes_are_refused(call):
    with pytest.raises(AssertionError, match="must not start processes"):
        call()


@pytest.mark.parametrize("call", [
    lambda: socket.getaddrinfo("localhost", 9),
    lambda: socket.gethostbyname("localhost"),
    lambda: socket.gethostbyname_ex("localhost"),
    lambda: socket.create_connection(("127.0.0.1", 9), timeout=0.1),
], ids=["getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"])
def test_name_lookups_are_refused(call):
    with pytest.raises(AssertionError, match="must not use the network"):
        call()


@pytest.mark.parametrize("method", ["connect", "connect_ex"])
def test_connections_are_refused(method):
    with socket.socket() as s, pytest.raises(AssertionError, match="must not use the network"):
        getattr(s, method)(("127.0.0.1", 9))
