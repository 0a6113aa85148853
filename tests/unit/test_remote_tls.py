"""gRPC/TLS remote settings: Bazel's TLS flags, and the checks of the TLS files that run before
Bazel starts (files made here with the `cryptography` package; no sockets)."""

from pathlib import Path

import pytest

from tfbuild.build.command import BuildRequest, plan_command
from tfbuild.build.remote import tls_files
from tfbuild.discovery.remote import endpoint
from tfbuild.errors import ConfigError
from tfbuild.settings import resolve
from tests.helpers.tls import make_pki


def settings(*overrides):
    return resolve("cpu", env={}, overrides=list(overrides)).settings


def plan(*overrides, request=BuildRequest()):
    return plan_command(settings(*overrides), request, bazel="bazel", jobs=1, env={})


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_tls_keys_become_bazels_tls_flags_with_absolute_paths(pki, tmp_path, monkeypatch):
    monkeypatch.chdir(pki.ca.parent)
    cmd = plan("remote.cache=grpcs://cache.example:443", "remote.tls_ca=ca.pem",
               f"remote.tls_client_cert={pki.client_cert}", f"remote.tls_client_key={pki.client_key}")
    assert f"--tls_certificate={pki.ca}" in cmd.options  # relative: from the current directory
    assert f"--tls_client_certificate={pki.client_cert}" in cmd.options
    assert f"--tls_client_key={pki.client_key}" in cmd.options


def test_tls_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cmd = plan("remote.cache=grpcs://c:1", "remote.tls_ca=~/certs/ca.pem")
    assert f"--tls_certificate={tmp_path}/certs/ca.pem" in cmd.options


def test_tls_flags_only_with_a_remote():
    cmd = plan("remote.tls_ca=/etc/ca.pem")
    assert not any(o.startswith("--tls_") for o in cmd.options)
    cmd = plan("remote.tls_ca=/etc/ca.pem", request=BuildRequest(remote_cache="grpcs://c:1"))
    assert "--tls_certificate=/etc/ca.pem" in cmd.options


@pytest.mark.parametrize("override, message", [
    ("remote.tls_client_cert=/c.pem", "remote.tls_client_cert is set but remote.tls_client_key is not"),
    ("remote.tls_client_key=/c.key", "remote.tls_client_key is set but remote.tls_client_cert is not"),
    ("remote.cache=s3://bucket", "remote.cache (or --remote-cache) = 's3://bucket' is not a Bazel remote URL"),
])
def test_bad_tls_and_scheme_settings(override, message):
    with pytest.raises(ConfigError) as err:
        plan("remote.cache=grpcs://c:1", override)
    assert message in err.value.message


def test_good_tls_files_are_accepted(pki):
    files = tls_files(settings(f"remote.tls_ca={pki.ca}", f"remote.tls_client_cert={pki.client_cert}",
                               f"remote.tls_client_key={pki.client_key}"))
    assert (files.ca, files.client_cert, files.client_key) == (pki.ca, pki.client_cert,
                                                                pki.client_key)


def test_missing_ca_file_names_the_key_and_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        tls_files(settings(f"remote.tls_ca={tmp_path}/nope.pem"))
    assert err.value.exit_code == 2
    assert f"remote.tls_ca = '{tmp_path}/nope.pem': {tmp_path}/nope.pem does not exist" in str(err.value)


def test_ca_file_that_is_not_pem(tmp_path, pki):
    der = tmp_path / "ca.der"
    der.write_bytes(b"\x30\x82\x01\x0a" + bytes(range(200)))
    with pytest.raises(ConfigError, match="is not a PEM certificate"):
        tls_files(settings(f"remote.tls_ca={der}"))
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="holds no usable certificate"):
        tls_files(settings(f"remote.tls_ca={broken}"))


def test_client_key_must_be_pkcs8_and_match_the_certificate(tmp_path, pki):
    pkcs1 = tmp_path / "client.key"
    pkcs1.write_text(pki.client_key.read_text().replace("BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY"))
    with pytest.raises(ConfigError, match="PKCS#8") as err:
        tls_files(settings(f"remote.tls_client_cert={pki.client_cert}",
                           f"remote.tls_client_key={pkcs1}"))
    assert "openssl pkcs8 -topk8" in err.value.hint
    with pytest.raises(ConfigError, match="does not belong to remote.tls_client_cert"):
        tls_files(settings(f"remote.tls_client_cert={pki.client_cert}",
                           f"remote.tls_client_key={pki.server_key}"))


@pytest.mark.parametrize("url, parts", [
    ("grpc://127.0.0.1:8980", ("grpc", "127.0.0.1", 8980)),
    ("grpcs://cache.example", ("grpcs", "cache.example", 443)),
    ("https://cache.example/prefix", ("https", "cache.example", 443)),
    ("unix:/run/cache.sock", None),
    ("grpc://host:notaport", None),
])
def test_endpoint(url, parts):
    ep = endpoint(url)
    assert (ep and (ep.scheme, ep.host, ep.port)) == parts
