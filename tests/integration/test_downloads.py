"""Downloads you can trust, against a real HTTP server on loopback: doctor's network checks,
bazel-install with its pinned sha256, prefetch (mirror order, sha256, resume, the NVIDIA
redistributions) and an offline Bazel build from what prefetch stored."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers.cli import checks_by_id, doctor_json, invoke
from tests.helpers.http_server import Server
from tests.helpers.profiles import local_bazel_profile
from tfbuild import pins
from tfbuild.discovery import network

ASSETS = Path(__file__).resolve().parents[2] / ".cache" / "test-assets"

FAKE_BAZEL = b"#!/bin/sh\necho 'bazel 6.5.0'\n"
BAZEL_PATH = "/github.com/bazelbuild/bazel/releases/download/6.5.0/bazel-6.5.0-linux-x86_64"


@pytest.fixture
def server():
    srv = Server().start()
    yield srv
    srv.stop()


def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_doctor_network_checks(server, tmp_path):
    server.files["/mirror/"] = b"mirror"
    # Load only makes a request slower: 2.2 s is "slow" (> network.SLOW) on any machine and
    # leaves 2.8 s before network.TIMEOUT.
    server.slow["/slow/simple/"] = network.SLOW + 0.2
    server.files["/slow/simple/"] = b"index"
    profile = tmp_path / "net.toml"
    profile.write_text(f"""extends = "cpu"
[tensorflow]
git_url = "https://127.0.0.1:1/tensorflow.git"
[mirrors]
tf_mirror = "{server.url}/mirror"
direct_hosts = ["127.0.0.1:{server.port}"]
pip_index = "{server.url}/slow/simple/"
allow_http = true
""")
    code, doc = doctor_json(["--profile", str(profile)], network=True)
    rows = checks_by_id(doc)
    mirror = rows["net.tf_mirror"]  # fast here, but a loaded machine may take over 2 s
    seconds = float(re.match(r"(?:ok|slow) in ([\d.]+) s \(HTTP 200\)", mirror["found"]).group(1))
    assert mirror["status"] == ("warn" if seconds > network.SLOW else "ok")
    direct = rows[f"net.direct_hosts.127.0.0.1:{server.port}"]  # https to a plain-http server
    assert direct["status"] == "warn" and direct["found"].startswith("unreachable")
    assert "mirrors.direct_hosts" in direct["hint"]
    assert rows["net.pip_index"]["status"] == "warn" and rows["net.pip_index"]["found"].startswith("slow")
    git = rows["net.git_url"]
    assert git["status"] == "warn" and "connection refused" in git["found"]
    assert "tensorflow.git_url" in git["hint"]
    code, doc = doctor_json(["--profile", str(profile)])
    assert not [r for r in checks_by_id(doc) if r.startswith("net.")]


def test_bazel_install_pinned_through_the_mirror(server, tmp_path):
    binary = (ASSETS / "bazelisk" / "bazelisk-linux_amd64").read_bytes()
    pin = pins.bazelisk("linux-amd64")
    assert sha(binary) == pin.sha256  # the pin is the published binary's
    server.files["/mirror/" + pin.url[len("https://"):]] = binary
    server.files["/mirror" + BAZEL_PATH] = FAKE_BAZEL  # then the Bazel it would download
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "BAZELISK_HOME": str(tmp_path / "bazelisk")}
    proc = invoke(["bazel-install", "--force", "--set", f"mirrors.tf_mirror={server.url}/mirror",
                   "--set", "mirrors.allow_http=true", "--set", "toolchain.bazel_version=6.5.0",
                   "--bazel-sha256", sha(FAKE_BAZEL)], env=env)
    assert proc.returncode == 0, proc.stderr
    installed = tmp_path / "data" / "tfbuild" / "bin" / "bazelisk"
    assert installed.read_bytes() == binary and installed.stat().st_mode & 0o111
    assert f"{server.url}/mirror/github.com/bazelbuild/bazelisk" in proc.stdout


def test_bazel_install_wrong_hash_leaves_nothing(server, tmp_path):
    server.files["/bazelisk"] = b"#!/bin/sh\necho not the pinned file\n"
    server.files["/mirror" + BAZEL_PATH] = FAKE_BAZEL
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "BAZELISK_HOME": str(tmp_path / "bazelisk")}
    proc = invoke(["bazel-install", "--force", "--url", f"{server.url}/bazelisk",
                   "--sha256", "0" * 64], env=env)
    assert proc.returncode == 3 and "sha256 mismatch" in proc.stderr
    bindir = tmp_path / "data" / "tfbuild" / "bin"
    assert not bindir.exists() or list(bindir.iterdir()) == []
    good = sha(server.files["/bazelisk"])
    proc = invoke(["bazel-install", "--force", "--url", f"{server.url}/bazelisk", "--sha256", good,
                   "--set", f"mirrors.tf_mirror={server.url}/mirror", "--set",
                   "mirrors.allow_http=true", "--set", "toolchain.bazel_version=6.5.0",
                   "--bazel-sha256", sha(FAKE_BAZEL)], env=env)
    assert proc.returncode == 0 and (bindir / "bazelisk").exists()


def test_bazel_install_puts_the_bazelversion_release_where_bazelisk_finds_it(server, tmp_path):
    """bazel-install fetches the Bazel .bazelversion names through the mirror (GitHub's release
    layout, what BAZELISK_BASE_URL reproduces), verified by sha256, into bazelisk's cache; the real
    bazelisk then runs it without a download, and doctor, which before said to run bazel-install
    instead of starting bazelisk's download, finds Bazel 6.5.0."""
    server.files["/mirror" + BAZEL_PATH] = FAKE_BAZEL  # a small stand-in for the 50 MB binary
    tree = tmp_path / "tensorflow"
    tree.mkdir()
    (tree / ".bazelversion").write_text("6.5.0\n")
    (tree / "WORKSPACE").write_text("")  # bazelisk reads .bazelversion at a workspace root only
    bazelisk = str(ASSETS / "bazelisk" / "bazelisk-linux_amd64")  # the real bazelisk 1.25.0
    home = tmp_path / "bazelisk-home"
    env = {"BAZELISK_HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "data"),
           "HTTPS_PROXY": "http://127.0.0.1:1", "HTTP_PROXY": "http://127.0.0.1:1",
           "NO_PROXY": "127.0.0.1"}  # nothing but the loopback server answers
    common = ["--profile", "cpu", "--source", str(tree), "--set", f"toolchain.bazel={bazelisk}",
              "--set", f"mirrors.tf_mirror={server.url}/mirror", "--set", "mirrors.allow_http=true"]

    code, doc = doctor_json([*common, "--offline"], env=env)
    row = checks_by_id(doc)["bazel"]
    assert row["status"] == "fail" and "has no Bazel 6.5.0" in row["found"], row
    assert "invoke bazel-install" in row["hint"]
    assert not (home / "downloads").exists() and server.requests == []  # doctor started no download
    as_bazel = tmp_path / "bin" / "bazel"  # bazelisk installed under Bazel's name
    as_bazel.parent.mkdir()
    as_bazel.write_bytes(Path(bazelisk).read_bytes())
    as_bazel.chmod(0o755)
    code, doc = doctor_json([*common, "--offline", "--set", f"toolchain.bazel={as_bazel}"], env=env)
    assert "has no Bazel 6.5.0" in checks_by_id(doc)["bazel"]["found"]

    proc = invoke(["bazel-install", *common], env=env)  # the pinned sha256 is the real release's
    assert proc.returncode == 3 and "sha256 mismatch" in proc.stderr, proc.stderr
    assert not list((home / "downloads").glob("sha256/*/bin/bazel"))

    proc = invoke(["bazel-install", *common, "--bazel-sha256", sha(FAKE_BAZEL)], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{server.url}/mirror{BAZEL_PATH}" in proc.stdout
    binary = home / "downloads" / "sha256" / sha(FAKE_BAZEL) / "bin" / "bazel"
    assert binary.read_bytes() == FAKE_BAZEL and binary.stat().st_mode & 0o111
    fetched = len(server.requests)

    mirror_base = f"{server.url}/mirror/github.com/bazelbuild/bazel/releases/download"
    for base in (None, mirror_base):  # bazelisk's default location, and the mirror
        run_env = {**os.environ, **env}
        run_env.pop("BAZELISK_BASE_URL", None)
        if base:
            run_env["BAZELISK_BASE_URL"] = base
        out = subprocess.run([bazelisk, "--version"], cwd=tree, env=run_env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "bazel 6.5.0", out.stderr
    assert len(server.requests) == fetched  # bazelisk downloaded nothing

    code, doc = doctor_json([*common, "--offline"], env=env)
    row = checks_by_id(doc)["bazel"]
    assert row["status"] == "ok" and row["found"] == f"{bazelisk} (6.5.0)", row


ARCHIVES = '''"""Written by the download tests."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("//third_party/xla/third_party/tsl/third_party:repo.bzl", "tf_http_archive", "tf_mirror_urls")

BUILD = 'exports_files(["data.txt"])'

def _hidden_archive(name, sha256):
    # shaped like TSL's third_party/llvm/workspace.bzl: `name = name` and URLs built by a
    # function, which no reading of the Starlark can list (only Bazel's record of the fetch)
    tf_http_archive(
        name = name,
        sha256 = sha256,
        urls = tf_mirror_urls("https://github.com/example/d/archive/d-{v}.tar.gz".format(v = "1")),
        build_file_content = BUILD,
    )

def tfs_archives():
    _hidden_archive(name = "tfs_archive_d", sha256 = "{sha_d}")
    http_archive(
        name = "tfs_archive_a",
        sha256 = "{sha_a}",
        urls = ["{url}/a.tar.gz"],
        build_file_content = BUILD,
    )
    tf_http_archive(
        name = "tfs_archive_b",
        sha256 = "{sha_b}",
        urls = tf_mirror_urls("https://github.com/example/b/archive/b-{version}.tar.gz"),
        build_file_content = BUILD,
    )
    http_archive(
        name = "tfs_archive_c",
        sha256 = "{sha_c}",
        urls = ["{url}/c.tar.gz"],
        build_file_content = BUILD,
    )
'''


INNER_DEPS = """load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

def inner_deps():
    http_archive(name = "inner_dep_of_a", sha256 = "%s", urls = ["http://127.0.0.1:9/inner.tgz"])
""" % ("2" * 64)


def declare(ws: dict, server: Server) -> dict[str, bytes]:
    noise = random.Random(0).randbytes(300_000).hex()  # incompressible: c is large
    data = {name: tarball({"data.txt": f"archive {name}\n" + (noise if name == "c" else ""),
                           # an archive's own .bzl declaring more archives, as rules' repos do
                           **({"deps.bzl": INNER_DEPS} if name == "a" else {})})
            for name in ("a", "b", "c", "d")}
    server.files["/a.tar.gz"] = data["a"]
    server.files["/mirror/github.com/example/d/archive/d-1.tar.gz"] = data["d"]
    server.files["/mirror/github.com/example/b/archive/b-1.tar.gz"] = data["b"]
    server.files["/c.tar.gz"] = data["c"]
    # the WORKSPACE's own tf_http_archive (see its comment), through the profile's mirror
    server.files["/mirror/github.com/example/dep/archive/v1.tar.gz"] = b"tfbuild test archive\n"
    bzl = ARCHIVES.replace("{sha_a}", sha(data["a"])).replace("{sha_b}", sha(data["b"])) \
        .replace("{sha_c}", sha(data["c"])).replace("{sha_d}", sha(data["d"])) \
        .replace("{url}", server.url).replace("{version}", "1")
    (ws["source"] / "third_party/test_archives/workspace.bzl").write_text(bzl)
    return data


def profile_for(ws: dict, server: Server, extra: str = "") -> str:
    return local_bazel_profile(
        ws["source"].parent / "offline.toml", output_root=ws["root"],
        dist=ws["source"].parent / "dist",
        extra='targets = ["//tensorflow/offline:uses_archives"]\n'
              f'[mirrors]\ntf_mirror = "{server.url}/mirror"\nallow_http = true\n{extra}')


def run(ws, *args):
    proc = invoke([*args, "--source", str(ws["source"])], env=ws["env"])
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_prefetch_verifies_resumes_and_the_build_runs_offline(tf_workspace, server):
    ws = tf_workspace
    data = declare(ws, server)
    bad = ws["source"] / "third_party/test_archives/bad.bzl"
    bad.write_text(f'def bad():\n    http_archive(name = "tfs_bad", sha256 = "{"9" * 64}", '
                   f'urls = ["{server.url}/bad.tar.gz"])\n')
    server.files["/bad.tar.gz"] = b"not what the sha256 says"
    server.break_once.add("/c.tar.gz")
    profile = profile_for(ws, server)
    distdir = ws["source"].parent / "distdir"

    first = run(ws, "prefetch", "--profile", profile, "--distdir", str(distdir))
    # bad and c fail, but the targets need only a and b: reported, not failures
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "tfs_bad: " in first.stderr and "sha256 mismatch" in first.stderr
    assert "tfs_archive_c: " in first.stderr and "broke off" in first.stderr
    assert "not needed, not fetched: tfs_archive_c" in first.stderr
    assert (distdir / "a.tar.gz").exists() and (distdir / "b-1.tar.gz").exists()
    partial = (distdir / "c.tar.gz.part").stat().st_size
    assert 0 < partial and not (distdir / "c.tar.gz").exists()
    assert not list(distdir.glob("bad.tar.gz*"))  # the bad one left nothing behind
    # d (a `name = name` wrapper) only Bazel's record lists: copied from its repository cache
    assert (distdir / "d-1.tar.gz").read_bytes() == data["d"]
    assert re.search(r"tfs_archive_d +\| copied from Bazel's repository cache .*\| Bazel's "
                     r"record: @tfs_archive_d \(_tf_http_archive\)", first.stdout), first.stdout

    bad.unlink()
    second = run(ws, "prefetch", "--profile", profile, "--distdir", str(distdir))
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resumed at {partial} bytes" in second.stdout
    assert ("GET", "/c.tar.gz", f"bytes={partial}-") in server.requests
    # c resumed; a, b and the WORKSPACE's dep kept; the fixture's android-only archive excused
    assert ("1 fetched, 4 already there, 0 copied from Bazel's repository cache, 0 fetched by "
            "Bazel, 1 failed but not needed by the targets, 0 failed") in second.stdout
    mirror_hits = [r for r in server.requests if r[1].startswith("/mirror/github.com/example/b")]
    assert mirror_hits  # b came through the profile's mirror, first in the order

    server.stop()
    built = run(ws, "build", "--profile", profile, "--offline")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert (ws["source"] / "bazel-bin/tensorflow/offline/uses_archives.txt").read_text().startswith(
        "archive a")
    manifest = json.loads((ws["source"].parent / "dist" / "offline" / "manifest.json").read_text())
    assert f"--distdir={distdir}" in manifest["bazel"]["argv"]

    (distdir / "b-1.tar.gz").unlink()  # and Bazel's copy in the repository cache
    for cached in (ws["root"] / "cache/repos/v1/content_addressable/sha256").glob("*/file"):
        if cached.read_bytes() == data["b"]:
            cached.unlink()
    missing = run(ws, "build", "--profile", profile, "--offline")
    assert missing.returncode == 3
    assert "tfs_archive_b: https://github.com/example/b/archive/b-1.tar.gz" in missing.stderr
    assert "invoke prefetch" in missing.stderr


def test_a_distdir_carried_to_another_machine_builds_offline_alone(tf_workspace, server):
    """The distdir `prefetch --distdir` fills is all another machine needs: a build with an empty
    output root, an empty repository cache and another state dir (no record of this prefetch)
    runs offline from it, including the archive only Bazel's record lists (tfs_archive_d, behind
    a `name = name` wrapper). With that archive gone, `build --offline` refuses before Bazel
    starts and names it; with it corrupted, too."""
    ws = tf_workspace
    data = declare(ws, server)
    del server.files["/c.tar.gz"]  # not needed by the targets
    other_tree = ws["source"].parent / "other-machine" / "tensorflow"  # its own, unpatched
    shutil.copytree(ws["source"], other_tree, symlinks=True)
    profile = profile_for(ws, server)
    distdir = ws["source"].parent / "carried"
    first = run(ws, "prefetch", "--profile", profile, "--distdir", str(distdir))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    listed = json.loads((distdir / "tfbuild-archives.json").read_text())
    by_name = {a["name"]: a for a in listed["archives"]}
    assert by_name["tfs_archive_d"]["sha256"] == sha(data["d"])
    assert by_name["tfs_archive_d"]["listed_by"] == "Bazel fetched @tfs_archive_d (_tf_http_archive)"
    assert by_name["tfs_archive_d"]["source"] == "Bazel's record"
    server.stop()

    other_root = other_tree.parent / "bazel-root"
    elsewhere = {"TFBUILD_STATE_DIR": str(other_tree.parent / "state")}
    offline = ["build", "--profile", profile, "--offline", "--distdir", str(distdir),
               "--set", f"build.output_user_root={other_root}", "--source", str(other_tree)]
    try:
        built = invoke(offline, env=elsewhere)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert (other_tree / "bazel-bin/tensorflow/offline/uses_archives.txt").read_text() == \
            "archive a\narchive b\narchive d\n"

        (distdir / "d-1.tar.gz").unlink()
        shutil.rmtree(other_root / "cache", ignore_errors=True)  # Bazel's copy too
        refused = invoke(offline, env=elsewhere)
        assert refused.returncode == 3, refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "tfs_archive_d: " in refused.stderr and "no d-1.tar.gz in" in refused.stderr
        assert "+ cd " not in refused.stdout  # refused before Bazel started

        (distdir / "d-1.tar.gz").write_bytes(data["d"][:-1] + b"x")
        refused = invoke(offline, env=elsewhere)
        assert refused.returncode == 3 and "does not have the sha256" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        from tests.helpers.bazel import shutdown

        shutdown(other_tree, other_root)


def test_prefetch_into_the_repository_cache(tf_workspace, server):
    ws = tf_workspace
    data = declare(ws, server)
    profile = profile_for(ws, server)
    proc = run(ws, "prefetch", "--profile", profile)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cached = ws["root"] / "cache/repos/v1/content_addressable/sha256" / sha(data["a"]) / "file"
    assert cached.read_bytes() == data["a"]
    server.stop()
    built = run(ws, "build", "--profile", profile, "--offline")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]


def test_prefetch_needs_only_the_targets_archives_and_skips_an_output_root_in_the_tree(
        tf_workspace, server):
    """The fixture declares android_only_archive (dead URL) and the test's tfs_archive_c (404
    here), which //tensorflow/offline:uses_archives never needs: prefetch reports them and
    exits 0, and the offline build does not ask for them. The output root lies inside the tree,
    as in the notes; after a build it holds tfs_archive_a's own deps.bzl, which the scan must not
    read (inner_dep_of_a is not the tree's)."""
    ws = tf_workspace
    declare(ws, server)
    del server.files["/c.tar.gz"]
    inner_root = ws["source"] / "OutputUserRoot"
    profile = local_bazel_profile(
        ws["source"].parent / "inner.toml", output_root=inner_root,
        dist=ws["source"].parent / "dist",
        extra='targets = ["//tensorflow/offline:uses_archives"]\n'
              f'[mirrors]\ntf_mirror = "{server.url}/mirror"\nallow_http = true\n')
    try:
        built = run(ws, "build", "--profile", profile)  # online: fills the output root
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
        assert list(inner_root.glob("*/external/tfs_archive_a/deps.bzl"))
        proc = run(ws, "prefetch", "--profile", profile)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "not needed, not fetched: android_only_archive" in proc.stderr
        assert "not needed, not fetched: tfs_archive_c" in proc.stderr
        assert "inner_dep_of_a" not in out  # the output root was not scanned
        assert "Bazel fetched what //tensorflow/offline:uses_archives need" in proc.stdout
        server.stop()
        offline = run(ws, "build", "--profile", profile, "--offline")
        assert offline.returncode == 0, offline.stdout[-2000:] + offline.stderr[-2000:]
    finally:
        from tests.helpers.bazel import shutdown

        shutdown(ws["source"], inner_root)


REDIST = '''"""Shaped like TSL's cuda_redist_versions.bzl (written by the download tests)."""

CUDA_REDIST_PATH_PREFIX = "{url}/cuda/redist/"
CUDNN_REDIST_PATH_PREFIX = "{url}/cudnn/redist/"

CUDA_REDIST_JSON_DICT = {
    "12.4.0": [
        "{url}/cuda/redist/redistrib_12.4.0.json",
        "{sha_json}",
    ],
}

CUDNN_REDIST_JSON_DICT = {}

CUDA_12_NCCL_WHEEL_DICT = {
    "x86_64-unknown-linux-gnu": {
        "version": "2.21.5",
        "url": "{url}/nccl.whl",
        "sha256": "{sha_nccl}",
    },
}

CUDA_NCCL_WHEELS = {
    "12.4.0": CUDA_12_NCCL_WHEEL_DICT,
}

REDIST_VERSIONS_TO_BUILD_TEMPLATES = {
    "cuda_nccl": {"repo_name": "cuda_nccl", "version_to_template": {}},
    "cudnn": {"repo_name": "cuda_cudnn", "version_to_template": {}},
    "cuda_cudart": {"repo_name": "cuda_cudart", "version_to_template": {}},
    "cuda_nvcc": {"repo_name": "cuda_nvcc", "version_to_template": {}},
}
'''


def test_prefetch_lists_the_nvidia_redistributions(tf_workspace, server, local_cudnn):
    ws = tf_workspace
    declare(ws, server)
    parts = {name: f"{name} archive".encode() for name in ("cuda_cudart", "cuda_nvcc")}
    document = {"release_label": "12.4.0"}
    for name, body in parts.items():
        rel = f"{name}/linux-x86_64/{name}-linux-x86_64-12.4.127-archive.tar.xz"
        server.files[f"/cuda/redist/{rel}"] = body
        document[name] = {"linux-x86_64": {"relative_path": rel, "sha256": sha(body)}}
    json_bytes = json.dumps(document).encode()
    server.files["/cuda/redist/redistrib_12.4.0.json"] = json_bytes
    server.files["/nccl.whl"] = b"nccl wheel"
    text = REDIST.replace("{url}", server.url).replace("{sha_json}", sha(json_bytes)) \
        .replace("{sha_nccl}", sha(b"nccl wheel"))
    target = ws["source"] / "third_party/xla/third_party/tsl/third_party/gpus/cuda/hermetic/cuda_redist_versions.bzl"
    target.write_text(text)
    profile = profile_for(ws, server, extra='[cuda]\nenabled = true\nlocal_cuda_path = ""\n'
                                            f'local_cudnn_path = "{local_cudnn}"\n'
                                            'compute_capabilities = ["sm_80"]\n')
    distdir = ws["source"].parent / "distdir"
    proc = run(ws, "prefetch", "--profile", profile, "--distdir", str(distdir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("redistrib_12.4.0.json", "cuda_cudart-linux-x86_64-12.4.127-archive.tar.xz",
                 "cuda_nvcc-linux-x86_64-12.4.127-archive.tar.xz", "nccl.whl"):
        assert (distdir / name).exists(), name
    assert "cudnn" not in " ".join(p.name for p in distdir.iterdir())  # cuDNN 9.10 is local only


DIRECT = '''load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

BUILD = 'exports_files(["data.txt"])'

def tfs_archives():
    # plain http_archives with direct URLs: no tf_mirror_urls, so the repo.bzl patch cannot
    # reach them (as rules_python's and python-build-standalone's)
    http_archive(name = "tfs_archive_a", sha256 = "{sha_a}", build_file_content = BUILD,
                 urls = ["https://github.com/example/direct/archive/a.tar.gz"])
    http_archive(name = "tfs_archive_b", sha256 = "{sha_b}", build_file_content = BUILD,
                 urls = ["https://github.com/example/direct/archive/b.tar.gz"])
    http_archive(name = "tfs_archive_d", sha256 = "{sha_d}", build_file_content = BUILD,
                 urls = ["https://github.com/example/direct/archive/d.tar.gz"])
'''


def test_downloader_config_routes_direct_urls_through_the_mirror(tf_workspace, server):
    """With mirrors.downloader_config, the real Bazel 4.2.3 fetches http_archives declared with
    direct https URLs from the profile's (loopback, plain http) mirror; the config file is
    written in tfbuild's state dir, not in the tree."""
    ws = tf_workspace
    data = {n: tarball({"data.txt": f"direct {n}\n"}) for n in ("a", "b", "d")}
    for n, body in data.items():
        server.files[f"/mirror/github.com/example/direct/archive/{n}.tar.gz"] = body
    (ws["source"] / "third_party/test_archives/workspace.bzl").write_text(
        DIRECT.replace("{sha_a}", sha(data["a"])).replace("{sha_b}", sha(data["b"]))
        .replace("{sha_d}", sha(data["d"])))
    profile = profile_for(ws, server, extra="downloader_config = true\n")
    built = run(ws, "build", "--profile", profile)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert (ws["source"] / "bazel-bin/tensorflow/offline/uses_archives.txt").read_text() == \
        "direct a\ndirect b\ndirect d\n"
    got = {path for _, path, _ in server.requests}
    assert {f"/mirror/github.com/example/direct/archive/{n}.tar.gz" for n in "abd"} <= got
    config = next(ws["state"].glob("*/bazel_downloader.cfg"))
    assert f"{server.url}/mirror/$1" in config.read_text()
    manifest = json.loads((ws["source"].parent / "dist" / "offline" / "manifest.json").read_text())
    assert f"--experimental_downloader_config={config}" in manifest["bazel"]["argv"]
    assert not list(ws["source"].rglob("bazel_downloader.cfg"))


def test_doctor_probe_is_bounded_against_a_host_that_never_answers(tmp_path):
    """A server that accepts connections (the kernel completes them) and never answers: the
    probe gives up at network.TIMEOUT and says so; doctor still finishes."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # never accept()ed, never answered
    try:
        profile = tmp_path / "silent.toml"
        profile.write_text(f"""extends = "cpu"
[mirrors]
pip_index = "http://127.0.0.1:{silent.getsockname()[1]}/simple/"
allow_http = true
""")
        code, doc = doctor_json(["--profile", str(profile)], network=True)
    finally:
        silent.close()
    row = checks_by_id(doc)["net.pip_index"]
    assert row["status"] == "warn" and row["found"].startswith("unreachable after")
    seconds = float(re.match(r"unreachable after ([\d.]+) s", row["found"]).group(1))
    assert seconds >= network.TIMEOUT  # it waited the whole bound, and then stopped
    assert "tim" in row["found"].lower()  # timed out / timeout, in the probe's own words


def test_doctor_goes_through_https_proxy_and_honours_no_proxy(server, tmp_path):
    """The mirror (a name nobody resolves) is reached only through the proxy; the pip index on
    127.0.0.1 is in NO_PROXY and reached directly."""
    proxy = Server().start()
    try:
        proxy.files["http://mirror.invalid/tf/"] = b"mirror via proxy"
        server.files["/simple/"] = b"index"
        profile = tmp_path / "proxied.toml"
        profile.write_text(f"""extends = "cpu"
[tensorflow]
git_url = "file:///nonexistent/tensorflow.git"
[mirrors]
tf_mirror = "http://mirror.invalid/tf"
direct_hosts = []
pip_index = "{server.url}/simple/"
allow_http = true
""")
        via = f"http://127.0.0.1:{proxy.port}"
        env = {"HTTPS_PROXY": via, "HTTP_PROXY": via, "https_proxy": via, "http_proxy": via,
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        code, doc = doctor_json(["--profile", str(profile)], network=True, env=env)
    finally:
        proxy.stop()
    rows = checks_by_id(doc)
    assert rows["net.tf_mirror"]["found"].endswith("(HTTP 200)"), rows["net.tf_mirror"]
    assert ("HEAD", "http://mirror.invalid/tf/", None) in proxy.requests
    assert rows["net.pip_index"]["found"].endswith("(HTTP 200)"), rows["net.pip_index"]
    assert ("HEAD", "/simple/", None) in server.requests
    assert not [r for r in proxy.requests if "127.0.0.1" in r[1]]


def test_home_bazelrc_lines_are_reported_and_bazeliskrc_mirror_is_used(server, tmp_path):
    """Issue 20 item 7: tfbuild passes --nohome_rc, so a TLS-inspecting proxy's trust store in
    ~/.bazelrc would be lost without a word; doctor names each line and the key that carries it,
    and bazel-install downloads Bazel from the mirror .bazeliskrc names, as bazelisk would."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bazelrc").write_text(
        "# a proxy that inspects TLS\n"
        "startup --host_jvm_args=-Djavax.net.ssl.trustStore=/etc/corp/truststore.jks\n"
        "build --experimental_repository_cache_hardlinks\n")
    tree = tmp_path / "tensorflow"
    tree.mkdir()
    (tree / ".bazelversion").write_text("6.5.0\n")
    (tree / "WORKSPACE").write_text("")
    (tree / ".bazeliskrc").write_text(f"BAZELISK_BASE_URL={server.url}/bazel-mirror\n")
    server.files["/bazel-mirror/6.5.0/bazel-6.5.0-linux-x86_64"] = FAKE_BAZEL
    bazelisk = str(ASSETS / "bazelisk" / "bazelisk-linux_amd64")
    env = {"HOME": str(home), "BAZELISK_HOME": str(tmp_path / "bazelisk-home"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "HTTPS_PROXY": "http://127.0.0.1:1",
           "HTTP_PROXY": "http://127.0.0.1:1", "NO_PROXY": "127.0.0.1"}
    common = ["--profile", "cpu", "--source", str(tree), "--set", f"toolchain.bazel={bazelisk}"]
    code, doc = doctor_json([*common, "--offline"], env=env)
    row = checks_by_id(doc)["bazel.home_rc"]
    assert row["status"] == "warn", row
    assert ("line 2 `startup --host_jvm_args=-Djavax.net.ssl.trustStore=/etc/corp/"
            "truststore.jks` -> build.startup_options") in row["found"]
    assert "line 3 `build --experimental_repository_cache_hardlinks` -> build.bazel_options" \
        in row["found"]
    assert f"BAZELISK_BASE_URL={server.url}/bazel-mirror" in row["found"]
    carried = ["--set", "build.startup_options=[\"--host_jvm_args=-Djavax.net.ssl.trustStore="
               "/etc/corp/truststore.jks\"]", "--set",
               "build.bazel_options=[\"--experimental_repository_cache_hardlinks\"]"]
    code, doc = doctor_json([*common, *carried, "--offline"], env=env)
    assert checks_by_id(doc)["bazel.home_rc"]["status"] == "ok"

    proc = invoke(["bazel-install", *common, "--bazel-sha256", sha(FAKE_BAZEL)], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{server.url}/bazel-mirror/6.5.0/bazel-6.5.0-linux-x86_64" in proc.stdout
    assert [r[1] for r in server.requests] == ["/bazel-mirror/6.5.0/bazel-6.5.0-linux-x86_64"]


HOSTS = '''load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

BUILD = 'exports_files(["data.txt"])'

def tfs_archives():
    # a GitHub release archive (the shape of python-build-standalone's interpreters)
    http_archive(name = "tfs_archive_a", sha256 = "{sha_a}", build_file_content = BUILD,
                 urls = ["http://{github}/example/tool/releases/download/v1/tool-1.tar.gz"])
    # a file on PyPI's file host (the NCCL wheel of nccl_redist_init_repository.bzl)
    http_archive(name = "tfs_archive_b", sha256 = "{sha_b}", build_file_content = BUILD,
                 type = "zip", urls = ["http://{pypi}/packages/ab/cd/{wheel}"])
    # any other host: through mirrors.tf_mirror (mirrors.downloader_config)
    http_archive(name = "tfs_archive_d", sha256 = "{sha_d}", build_file_content = BUILD,
                 urls = ["http://{other}/d/archive/d-1.tar.gz"])
'''
WHEEL = "nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl"


def zipped(files: dict[str, str]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def test_every_download_host_through_its_mirror_origins_see_no_request(tf_workspace, server):
    """Issue 20 item 2: a GitHub-shaped, a PyPI-shaped and another origin on their own loopback
    addresses, all refusing (404, counting requests). Without mirrors the build fails at an
    origin; with mirrors.host_mirrors for the first two and mirrors.tf_mirror (downloader
    config) for the rest, a first build with an empty output root fetches everything from the
    mirror on 127.0.0.1, and the origins see no request."""
    ws = tf_workspace
    origins = {name: Server(host=host).start() for name, host in
               (("github", "127.0.0.2"), ("pypi", "127.0.0.3"), ("other", "127.0.0.4"))}
    try:
        data = {"a": tarball({"data.txt": "from github\n"}), "b": zipped({"data.txt": "from pypi\n"}),
                "d": tarball({"data.txt": "from elsewhere\n"})}
        github = f"127.0.0.2:{origins['github'].port}"
        pypi = f"127.0.0.3:{origins['pypi'].port}"
        other = f"127.0.0.4:{origins['other'].port}"
        server.files["/gh/example/tool/releases/download/v1/tool-1.tar.gz"] = data["a"]
        server.files[f"/pypi-files/packages/ab/cd/{WHEEL}"] = data["b"]
        server.files[f"/mirror/{other}/d/archive/d-1.tar.gz"] = data["d"]
        server.files["/mirror/github.com/example/dep/archive/v1.tar.gz"] = b"tfbuild test archive\n"
        (ws["source"] / "third_party/test_archives/workspace.bzl").write_text(
            HOSTS.replace("{sha_a}", sha(data["a"])).replace("{sha_b}", sha(data["b"]))
            .replace("{sha_d}", sha(data["d"])).replace("{github}", github)
            .replace("{pypi}", pypi).replace("{other}", other).replace("{wheel}", WHEEL))
        loopback = ",".join(f"127.0.0.{i}" for i in range(1, 5))
        env = {**ws["env"], "NO_PROXY": loopback, "no_proxy": loopback}

        def build(name: str, extra: str):
            root = ws["source"].parent / f"root-{name}"
            profile = local_bazel_profile(
                ws["source"].parent / f"{name}.toml", output_root=root,
                dist=ws["source"].parent / "dist",
                extra='targets = ["//tensorflow/offline:uses_archives"]\n'
                      f'[mirrors]\ntf_mirror = "{server.url}/mirror"\nallow_http = true\n{extra}')
            try:
                return invoke(["build", "--profile", profile, "--source", str(ws["source"])],
                              env=env)
            finally:
                from tests.helpers.bazel import shutdown

                shutdown(ws["source"], root)

        control = build("control", "")
        assert control.returncode != 0
        tried = [r for o in origins.values() for r in o.requests]
        assert tried  # Bazel went to an origin, and says which failed
        assert re.search(r"http://127\.0\.0\.[234]:\d+/", control.stdout + control.stderr)
        for origin in origins.values():
            origin.requests.clear()

        mirrored = build("mirrored", "downloader_config = true\n[mirrors.host_mirrors]\n"
                         f'"127.0.0.2" = "{server.url}/gh"\n"127.0.0.3" = "{server.url}/pypi-files"\n')
        assert mirrored.returncode == 0, mirrored.stdout[-3000:] + mirrored.stderr[-3000:]
        assert (ws["source"] / "bazel-bin/tensorflow/offline/uses_archives.txt").read_text() == \
            "from github\nfrom pypi\nfrom elsewhere\n"
        assert {name: o.requests for name, o in origins.items()} == \
            {"github": [], "pypi": [], "other": []}
        got = {path for _, path, _ in server.requests}
        assert {"/gh/example/tool/releases/download/v1/tool-1.tar.gz",
                f"/pypi-files/packages/ab/cd/{WHEEL}", f"/mirror/{other}/d/archive/d-1.tar.gz"} <= got
        # Issue 31 item 5: the manifest says, from Bazel's build events, which host served each
        # download, and which archive (and sha256, from Bazel's record) it was
        manifest = json.loads((ws["source"].parent / "dist" / "mirrored" / "manifest.json")
                              .read_text())
        rows = {r["url"]: r for r in manifest["downloads"]}
        for path, name in (("/gh/example/tool/releases/download/v1/tool-1.tar.gz", "a"),
                           (f"/pypi-files/packages/ab/cd/{WHEEL}", "b"),
                           (f"/mirror/{other}/d/archive/d-1.tar.gz", "d")):
            row = rows[f"{server.url}{path}"]
            assert (row["served_by"], row["success"], row["sha256"]) == ("mirror", True,
                                                                         sha(data[name])), row
            assert row["repository"]
        assert "from a mirror (manifest.json: downloads)" in mirrored.stdout
    finally:
        for origin in origins.values():
            origin.stop()
