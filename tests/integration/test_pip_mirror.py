"""The pip mirror with real pip: the fixture's rules_python stand-in runs `python -m pip
download` with the arguments rules_python 0.34.0's wheel installer builds, against an index on
loopback serving a tiny numpy-2.0.2 wheel the tests build. For each pip method the wheel comes
from that index; without the fix, `--isolated` makes pip ignore PIP_INDEX_URL."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers.bazel import bazel
from tests.helpers.cli import invoke
from tests.helpers.pip_index import IndexServer, build_simple_index, tiny_wheel
from tests.helpers.profiles import local_bazel_profile

WHEEL = "numpy-2.0.2-py3-none-any.whl"


@pytest.fixture
def index(tmp_path):
    wheel = tiny_wheel(tmp_path / "wheels", "numpy", "2.0.2")
    with IndexServer(build_simple_index([wheel], tmp_path / "index")) as server:
        server.wheel = wheel
        yield server


def build(ws, index, body: str, *args):
    profile = local_bazel_profile(
        ws["source"].parent / "pip.toml", output_root=ws["root"], dist=ws["source"].parent / "dist",
        extra=f'targets = ["//tensorflow:pip_probe"]\n{body}')
    # pip reads none of this machine's configuration (no config file, no PIP_* variable)
    env = {k: None for k in os.environ if k.startswith("PIP_")}
    env.update(ws["env"], PIP_CONFIG_FILE=os.devnull)
    return invoke(["build", "--profile", profile, "--source", str(ws["source"]), *args], env=env)


def repository(ws):
    return next(ws["root"].glob("*/external/pypi_numpy"))


def record(ws) -> dict:
    return json.loads((repository(ws) / "pip_args.json").read_text())


def downloaded(ws) -> bytes:
    return (repository(ws) / WHEEL).read_bytes()


def test_repo_env_method_downloads_from_the_index(tf_workspace, index):
    ws = tf_workspace
    proc = build(ws, index, f'[mirrors]\npip_index = "{index.url}"\nallow_http = true\n')
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    seen = record(ws)
    assert seen["pip_args"][:5] == ["-m", "pip", "download", "--only-binary=:all:", "--no-deps"]
    assert "--isolated" not in seen["pip_args"]  # RULES_PYTHON_PIP_ISOLATED=0
    assert seen["PIP_INDEX_URL"].rstrip("/") == index.url.rstrip("/")
    assert index.files_served() == [WHEEL] and "/simple/numpy/" in index.requests
    assert downloaded(ws) == index.wheel.read_bytes()


def test_patch_method_downloads_from_the_index_first_build_and_after_expunge(tf_workspace, index):
    ws = tf_workspace
    body = f'[mirrors]\npip_index = "{index.url}"\nallow_http = true\npip_method = "patch"\n'
    assert not ws["root"].exists()  # a clean output base
    proc = build(ws, index, body)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    args = record(ws)["pip_args"]
    assert args[:2] == ["-m", "pip"] and "--isolated" in args  # the patch keeps it, adds -i
    assert args[args.index("-i") + 1].rstrip("/") == index.url.rstrip("/")
    assert args.index("-i") < args.index("--no-deps")
    assert index.files_served() == [WHEEL] and downloaded(ws) == index.wheel.read_bytes()
    bazel(ws["source"], ws["root"], "clean", "--expunge")
    proc = build(ws, index, body)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert index.files_served() == [WHEEL, WHEEL] and downloaded(ws) == index.wheel.read_bytes()


def test_patch_method_with_a_build_only_config(tf_workspace, index):
    """`cuda_wheel` is defined only as `build:cuda_wheel` (as in TF's .bazelrc): a `query`
    stops on "Config value 'cuda_wheel' is not defined in any .rc file"; the fetch is the
    build's own command with --nobuild, so it gets the config and the rc's --repo_env lines."""
    ws = tf_workspace
    proc = build(ws, index, f'configs = ["cuda_wheel"]\n[mirrors]\npip_index = "{index.url}"\n'
                            'allow_http = true\npip_method = "patch"\n')
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "not defined in any .rc file" not in proc.stdout + proc.stderr
    fetch = next(line for line in proc.stdout.splitlines() if "--nobuild" in line)
    assert " build " in fetch and "--config=cuda_wheel" in fetch
    args = record(ws)["pip_args"]
    assert args[args.index("-i") + 1].rstrip("/") == index.url.rstrip("/")
    assert index.files_served() == [WHEEL] and downloaded(ws) == index.wheel.read_bytes()
    log = max(ws["state"].glob("*/logs/build-*.log"), key=lambda p: p.stat().st_mtime).read_text()
    assert "discarding analysis cache" not in log  # same options as the fetch


def test_without_the_fix_isolated_pip_ignores_pip_index_url(tf_workspace, index):
    """PIP_INDEX_URL reaches the installer, but rules_python's default --isolated makes pip
    ignore it: pip goes to its default index (refused here: tests reach loopback only)."""
    ws = tf_workspace
    proc = build(ws, index, "", f"--bazel-opt=--repo_env=PIP_INDEX_URL={index.url}")
    assert proc.returncode != 0
    seen = record(ws)
    assert "--isolated" in seen["pip_args"] and "-i" not in seen["pip_args"]
    assert seen["PIP_INDEX_URL"] == index.url  # it was there
    assert index.requests == []  # and pip never asked the index for anything
    # pip went to an https index (its default, pypi.org) through the proxy the tests set up
    # for any host but loopback; the index on loopback is plain http and reached directly
    log = max(ws["state"].glob("*/logs/build-*.log"), key=lambda p: p.stat().st_mtime).read_text()
    assert "HTTPSConnection" in log and "Cannot connect to proxy" in log and "/simple/numpy/" in log


def slow_workspace_repository(ws, server, mib: int, rate: int = 1024 * 1024) -> None:
    """The WORKSPACE loads through an external repository, served slowly, before it reaches
    rules_python: on TF's tree, fetching rules_python resolves the hermetic Python, the pip lock,
    NVIDIA's JSON and LLVM first (TF's WORKSPACE loads tf_workspace3..0 before pip_parse)."""
    import hashlib
    import io
    import tarfile

    blob = os.urandom(mib * 1024 * 1024)  # incompressible, served at `rate` bytes/s
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz", compresslevel=1) as tar:
        for name, content in (("py/defs.bzl", b'PYTHON = "3.11"\n'), ("py/BUILD", b""),
                              ("py/blob.bin", blob)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    archive = data.getvalue()
    server.files["/python.tar.gz"] = archive
    server.rate["/python.tar.gz"] = rate
    workspace = ws["source"] / "WORKSPACE"
    text = workspace.read_text()
    marker = 'load("//third_party/rules_python_standin:standin.bzl"'
    workspace.write_text(text.replace(marker, f'''load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

http_archive(
    name = "hermetic_python_standin",
    sha256 = "{hashlib.sha256(archive).hexdigest()}",
    strip_prefix = "py",
    urls = ["{server.url}/python.tar.gz"],
)

load("@hermetic_python_standin//:defs.bzl", "PYTHON")

''' + marker, 1))


def test_the_fetch_before_the_build_is_shown_live_logged_and_bounded(tf_workspace, index):
    """Issue 30 item 3: with pip_method = "patch" the rules_python fetch ran with its output
    captured (silent for up to an hour on TF's tree, then "could not fetch rules_python"). It is
    shown as the build shows fetches, its log is kept, and build.fetch_timeout_s bounds it."""
    from tests.helpers.http_server import Server

    ws = tf_workspace
    server = Server().start()
    try:
        slow_workspace_repository(ws, server, mib=5)  # about 5 s
        body = (f'fetch_timeout_s = 120\n[mirrors]\npip_index = "{index.url}"\n'
                'allow_http = true\npip_method = "patch"\n')
        proc = build(ws, index, body)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    shown = [line for line in proc.stdout.splitlines() if "fetching @hermetic_python_standin (" in line]
    assert shown, proc.stdout
    logs = sorted(ws["state"].glob("*/logs/fetch-*.log"))
    assert len(logs) == 1 and "--nobuild" in logs[0].read_text().splitlines()[0]
    assert downloaded(ws) == index.wheel.read_bytes()  # and the fix then took the mirror


def test_a_fetch_past_its_bound_is_stopped_and_named(tf_workspace, index):
    from tests.helpers.http_server import Server

    ws = tf_workspace
    server = Server().start()
    try:
        slow_workspace_repository(ws, server, mib=2, rate=64 * 1024)  # about 32 s
        body = (f'fetch_timeout_s = 10\n[mirrors]\npip_index = "{index.url}"\n'
                'allow_http = true\npip_method = "patch"\n')
        proc = build(ws, index, body)
    finally:
        server.stop()
    assert proc.returncode != 0
    assert "did not finish within build.fetch_timeout_s = 10 s" in proc.stderr, proc.stderr
    assert "still fetching @hermetic_python_standin" in proc.stderr
    assert "site-packages" not in proc.stderr  # Bazel's own Starlark traceback is shown, no Python one
