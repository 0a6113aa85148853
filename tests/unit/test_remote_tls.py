"""gRPC/TLS remote settings: Bazel's TLS flags, and the checks of the TLS files that run before
Bazel starts (files made here with the `cryptography` package; no sockets)."""

from pathlib import Path

import pytest

from tfbuild.building.command import BuildRequest, plan_command
from tfbuild.discovery.remote_probe import tls_files
from tfbuild.discovery.remote_probe import endpoint
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
    ("remote.cache=s3://bucket", "'s3://bucket' is not a Bazel remote URL"),  # refused on resolve
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


def test_crash_lines_come_from_the_last_command_in_java_log(tmp_path):
    from tfbuild.building.diagnose import crash_lines, diagnose

    (tmp_path / "java.log").write_text(
        "261127 16:06:35:I 20 [com.google.devtools.build.lib.server.GrpcServerImpl.executeCommand] [build]\n"
        "Caused by: java.io.IOException: an older crash\n"
        "261127 16:06:40:I 20 [com.google.devtools.build.lib.server.GrpcServerImpl.executeCommand] [build]\n"
        "java.lang.RuntimeException: java.io.IOException: Failed to init TLS infrastructure: x\n"
        "\tat io.netty.handler.ssl.JdkSslContext.toNegotiator(JdkSslContext.java:433)\n"
        "\tat com.google.devtools.build.lib.server.GrpcServerImpl.executeCommand(GrpcServerImpl.java:543)\n"
        "Caused by: java.lang.UnsupportedOperationException: JDK provider does not support ALPN protocol\n")
    lines = crash_lines(tmp_path)
    assert lines[-1].startswith("Caused by: java.lang.UnsupportedOperationException")
    assert not any("older crash" in line for line in lines)
    assert [d.signature.id for d in diagnose(lines)] == ["grpc-tls-unsupported"]
    assert crash_lines(tmp_path / "missing") == []


def _cache_row(url, status, detail="x"):
    from tests.helpers.facts import healthy_facts
    from tfbuild.discovery.network import Probe
    from tfbuild.doctor.checks import run_checks

    facts = healthy_facts(network_checked=True,
                          network=(Probe("remote.cache", "remote cache", url, status, 0.1, detail),))
    return {r.id: r for r in run_checks(settings(f"remote.cache={url}"), facts)}["net.cache"]


@pytest.mark.parametrize("url, status, row_status, fragment", [
    ("grpcs://c:1", "ok", "ok", "(TLS handshake)"),
    ("grpc://c:1", "unreachable", "fail", "refuses to start"),
    ("http://c:1", "unreachable", "warn", "Bazel builds locally"),
    ("grpcs://c:1", "tls-verify", "fail", "remote.tls_ca"),
    ("grpcs://c:1", "tls-failed", "fail", "remote.tls_client_cert"),
    ("grpcs://c:1", "config", "fail", "remote.*"),
])
def test_doctor_cache_row(url, status, row_status, fragment):
    row = _cache_row(url, status)
    assert row.status == row_status
    assert fragment in row.hint + row.expected


def test_doctor_warns_that_debians_bazel_has_no_tls_grpc():
    from tests.helpers.facts import healthy_facts
    from tfbuild.discovery.facts import Bazel
    from tfbuild.discovery.network import Probe
    from tfbuild.doctor.checks import run_checks

    def row(url, source):
        facts = healthy_facts(network_checked=True, bazel=Bazel("/usr/bin/bazel", "4.2.3", source),
                              network=(Probe("remote.cache", "remote cache", url, "ok", 0.1, "x"),))
        return {r.id: r for r in run_checks(settings(f"remote.cache={url}"), facts)}["net.cache"]

    debian = row("grpcs://c:1", "dpkg")
    assert debian.status == "warn" and "cannot open TLS gRPC connections" in debian.found
    assert "apt install libnetty-tcnative-jni" in debian.hint
    assert row("grpcs://c:1", "binary").status == "ok"
    assert row("grpc://c:1", "dpkg").status == "ok"


def test_doctor_says_debians_bazel_gets_tls_from_netty_tcnative():
    from tests.helpers.facts import healthy_facts
    from tfbuild.discovery.facts import Bazel
    from tfbuild.discovery.network import Probe
    from tfbuild.doctor.checks import run_checks

    lib = "/usr/lib/x86_64-linux-gnu/jni/libnetty-tcnative.so"
    facts = healthy_facts(network_checked=True, bazel=Bazel("/usr/bin/bazel", "4.2.3", "dpkg"),
                          netty_tcnative=lib, network=(
                              Probe("remote.cache", "remote cache", "grpcs://c:1", "ok", 0.1, "x"),))
    row = {r.id: r for r in run_checks(settings("remote.cache=grpcs://c:1"), facts)}["net.cache"]
    assert row.status == "ok" and f"Debian's Bazel gets TLS from {lib}" in row.found


def _facts(source="dpkg", tcnative=""):
    from tests.helpers.facts import healthy_facts
    from tfbuild.discovery.facts import Bazel

    return healthy_facts(bazel=Bazel("/usr/bin/bazel-4", "4.2.3", source), netty_tcnative=tcnative)


def test_debian_bazel_gets_netty_tcnative_for_grpcs(tmp_path, monkeypatch):
    from tfbuild.building.remote import with_tls_provider

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    lib = tmp_path / "libnetty-tcnative.so"
    lib.write_bytes(b"\x7fELF not really")
    s = settings("remote.cache=grpcs://c:1")
    request = with_tls_provider(s, BuildRequest(), _facts(tcnative=str(lib)))
    jni = tmp_path / "data" / "tfbuild" / "jni"
    assert request.startup_extra[-1].startswith("--host_jvm_args=-Djava.library.path=")
    assert request.startup_extra[-1].rpartition("=")[2].split(":")[-1] == str(jni)
    copy = jni / "libnetty_tcnative.so"  # the name netty loads; a real file, not a symlink
    assert copy.read_bytes() == lib.read_bytes() and not copy.is_symlink()
    cmd = plan_command(s, request, bazel="bazel", jobs=1, env={})
    assert request.startup_extra[-1] in cmd.startup  # a startup option: the server JVM's


def test_debian_bazel_without_netty_tcnative_is_refused_for_grpcs():
    from tfbuild.building.remote import with_tls_provider
    from tfbuild.errors import ToolMissingError

    with pytest.raises(ToolMissingError) as err:
        with_tls_provider(settings("remote.cache=grpcs://c:1"), BuildRequest(), _facts())
    assert err.value.exit_code == 3 and "apt install libnetty-tcnative-jni" in err.value.hint


@pytest.mark.parametrize("url, source", [("grpc://c:1", "dpkg"), ("grpcs://c:1", "binary"),
                                         ("https://c:1", "dpkg")])
def test_tls_provider_only_for_grpcs_with_debians_bazel(url, source):
    from tfbuild.building.remote import with_tls_provider

    request = BuildRequest()
    assert with_tls_provider(settings(f"remote.cache={url}"), request, _facts(source)) is request
