"""gRPC (REAPI) remote caches for real: BuildGrid's `bgd` on loopback, plain and with TLS from a
CA made in the test, against Debian's Bazel 4.2.3 on the TF-shaped workspace; the bad remote
inputs that `invoke build` refuses before anything is written; doctor's `net.cache` row."""

from __future__ import annotations

import json

import pytest

from tests.helpers.bazel import bazel
from tests.helpers.buildgrid import BuildGrid
from tests.helpers.cli import checks_by_id, doctor_json
from tests.helpers.nginx import Nginx, free_port
from tests.helpers.tls import make_pki
from tests.integration.test_build import build, latest_log, write_profile

QUICK = 'targets = ["//tensorflow:libtensorflow.so"]\n'


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), "cache")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("other-pki"), "other")


@pytest.fixture
def grpc_cache(tmp_path):
    server = BuildGrid(tmp_path / "bgd").start()
    yield server
    server.stop()


@pytest.fixture
def grpcs_cache(tmp_path, pki):
    server = BuildGrid(tmp_path / "bgd-tls", tls=pki).start()
    yield server
    server.stop()


def kinds(ws) -> dict:
    manifest = json.loads((ws["source"].parent / "dist" / "tfs" / "manifest.json").read_text())
    return manifest["run"]["bazel_summary"]["process_kinds"]


def handshake_ok(row: dict) -> bool:
    """ok, or (with Debian's bazel-bootstrap, which has no TLS for gRPC) a warning naming it."""
    return row["found"].startswith("ok") and "TLS handshake" in row["found"] and (
        row["status"] == "ok" or (row["status"] == "warn" and "bazel-bootstrap" in row["found"]))


def nothing_written(ws) -> bool:
    return not (ws["source"] / ".tf_configure.bazelrc").exists() and not ws["state"].exists() \
        and not ws["root"].exists()


def test_grpc_cache_gives_only_remote_hits_after_clean(tf_workspace, grpc_cache):
    ws = tf_workspace
    profile = write_profile(ws, f'[remote]\ncache = "{grpc_cache.url}"\n')
    first = build(ws, profile)
    assert first.returncode == 0, first.stderr
    assert grpc_cache.stored_objects() > 0
    bazel(ws["source"], ws["root"], "clean")
    second = build(ws, profile)
    assert second.returncode == 0, second.stderr
    found = kinds(ws)
    assert found.get("remote cache hit", 0) > 0
    assert set(found) <= {"remote cache hit", "internal"}, found  # Bazel's own summary
    assert "remote cache hit" in latest_log(ws)


def test_grpcs_with_the_wrong_ca_is_refused_before_bazel_starts(tf_workspace, grpcs_cache,
                                                                  other_pki):
    ws = tf_workspace
    profile = write_profile(ws, f'[remote]\ncache = "{grpcs_cache.url}"\n'
                                f'tls_ca = "{other_pki.ca}"\n')
    proc = build(ws, profile)
    assert proc.returncode == 2, proc.stderr
    assert "not trusted by remote.tls_ca" in proc.stderr and str(other_pki.ca) in proc.stderr
    assert "fix: set remote.tls_ca to the PEM file of the CA" in proc.stderr
    assert "java." not in proc.stderr and "Traceback" not in proc.stderr
    assert nothing_written(ws)


def test_grpcs_with_the_right_ca_gives_only_remote_hits(tf_workspace, grpcs_cache, pki):
    """Over TLS, Debian's Bazel included: `invoke build` hands its server Debian's netty-tcnative
    (libnetty-tcnative-jni, installed by scripts/test.sh); without it the server crashes."""
    ws = tf_workspace
    profile = write_profile(ws, f'[remote]\ncache = "{grpcs_cache.url}"\ntls_ca = "{pki.ca}"\n')
    data = {"XDG_DATA_HOME": str(ws["source"].parent / "data")}  # where the copy goes
    first = build(ws, profile, env=data)
    assert first.returncode == 0, first.stderr
    assert grpcs_cache.stored_objects() > 0
    assert (ws["source"].parent / "data" / "tfbuild" / "jni" / "libnetty_tcnative.so").is_file()
    bazel(ws["source"], ws["root"], "clean")
    second = build(ws, profile, env=data)
    assert second.returncode == 0, second.stderr
    found = kinds(ws)
    assert found.get("remote cache hit", 0) > 0
    assert set(found) <= {"remote cache hit", "internal"}, found


@pytest.mark.parametrize("remote, env, code, message", [
    ('cache = "s3://bucket/cache"', {}, 2, "is not a Bazel remote URL"),
    ('cache = "grpcs://127.0.0.1:{port}"', {}, 3, "the server does not answer"),
    ('cache = "grpc://127.0.0.1:{port}"', {}, 3, "the server does not answer"),
    ('cache = "grpcs://127.0.0.1:{port}"\ntls_ca = "{tmp}/missing.pem"', {}, 2,
     "remote.tls_ca = '{tmp}/missing.pem': {tmp}/missing.pem does not exist"),
    ('cache = "grpcs://127.0.0.1:{port}"\ntls_ca = "{tmp}/ca.der"', {}, 2, "is not a PEM certificate"),
    ('cache = "grpcs://127.0.0.1:{port}"\ntls_client_cert = "{tmp}/ca.der"', {}, 2,
     "remote.tls_client_cert is set but remote.tls_client_key is not"),
    ('cache = "http://127.0.0.1:{port}"\nheader_env = "CACHE_HEADER"', {"CACHE_HEADER": "token"}, 2,
     "CACHE_HEADER, which is not of the form 'Header: value'"),
    ('cache = "http://127.0.0.1:{port}"\nheader_env = "CACHE_HEADER"', {}, 2,
     "CACHE_HEADER, which is not set"),
])
def test_bad_remote_input_is_refused_before_anything_is_written(tf_workspace, tmp_path, remote, env,
                                                                 code, message):
    ws = tf_workspace
    (tmp_path / "ca.der").write_bytes(b"\x30\x82\x01\x0a" + bytes(64))
    values = {"port": free_port(), "tmp": tmp_path}
    proc = build(ws, write_profile(ws, "[remote]\n" + remote.format(**values) + "\n"), env=env)
    assert proc.returncode == code, proc.stderr
    assert message.format(**values) in proc.stderr
    assert "fix:" in proc.stderr
    assert nothing_written(ws)


def test_doctor_cache_rows(tmp_path, grpc_cache, grpcs_cache, pki, other_pki):
    nginx = Nginx(tmp_path / "nginx").start()
    try:
        cases = [(nginx.url, "", "ok", "HTTP"), (grpc_cache.url, "", "ok", "TCP connect"),
                 (grpcs_cache.url, pki.ca, "tls-ok", "TLS handshake"),
                 (grpcs_cache.url, other_pki.ca, "fail", "certificate not trusted"),
                 (f"grpc://127.0.0.1:{free_port()}", "", "fail", "unreachable")]
        for url, ca, status, fragment in cases:
            profile = tmp_path / "doctor.toml"
            profile.write_text(f'extends = "cpu"\n[remote]\ncache = "{url}"\ntls_ca = "{ca}"\n')
            _, doc = doctor_json(["--profile", str(profile)], network=True)
            row = checks_by_id(doc)["net.cache"]
            if status == "tls-ok":
                assert handshake_ok(row), row
                continue
            assert row["status"] == status and fragment in row["found"], (url, row)
            assert float(row["found"].split(" in ")[1].split(" s")[0]) < 5.5
            if status == "fail" and ca:
                assert "remote.tls_ca" in row["hint"]
        _, doc = doctor_json(["--profile", str(profile)])  # --offline
        assert "net.cache" not in checks_by_id(doc)
    finally:
        nginx.stop()


def test_client_certificate_wanted_by_the_server(tf_workspace, tmp_path, pki):
    """mTLS: BuildGrid asks for a client certificate signed by the CA. Without one, build stops
    before Bazel naming the client-certificate keys (Bazel itself says `Failed to query remote
    execution capabilities: null`); doctor's row says the same; with one, remote cache hits."""
    server = BuildGrid(tmp_path / "bgd-mtls", tls=pki, client_auth=True).start()
    try:
        ws = tf_workspace
        proc = build(ws, write_profile(ws, f'[remote]\ncache = "{server.url}"\ntls_ca = "{pki.ca}"\n'))
        assert proc.returncode == 2, proc.stderr
        assert "it wants a client certificate" in proc.stderr
        assert "remote.tls_client_cert and remote.tls_client_key" in proc.stderr
        assert nothing_written(ws)
        profile = tmp_path / "mtls.toml"
        base = f'extends = "cpu"\n[remote]\ncache = "{server.url}"\ntls_ca = "{pki.ca}"\n'
        profile.write_text(base)
        row = checks_by_id(doctor_json(["--profile", str(profile)], network=True)[1])["net.cache"]
        assert row["status"] == "fail" and "remote.tls_client_cert" in row["hint"]
        profile.write_text(base + f'tls_client_cert = "{pki.client_cert}"\n'
                                  f'tls_client_key = "{pki.client_key}"\n')
        row = checks_by_id(doctor_json(["--profile", str(profile)], network=True)[1])["net.cache"]
        assert handshake_ok(row), row
        mutual = write_profile(ws, f'[remote]\ncache = "{server.url}"\ntls_ca = "{pki.ca}"\n'
                                   f'tls_client_cert = "{pki.client_cert}"\n'
                                   f'tls_client_key = "{pki.client_key}"\n')
        data = {"XDG_DATA_HOME": str(tmp_path / "data")}
        assert build(ws, mutual, env=data).returncode == 0
        bazel(ws["source"], ws["root"], "clean")
        proc = build(ws, mutual, env=data)
        assert proc.returncode == 0, proc.stderr
        assert kinds(ws).get("remote cache hit", 0) > 0
        assert set(kinds(ws)) <= {"remote cache hit", "internal"}
    finally:
        server.stop()
