"""The remote cache checked before anything is written or Bazel starts.

Bazel reports a bad gRPC remote late and badly: an unreachable `grpc://` cache fails the build
after the server started, a certificate its CA does not vouch for (or a CA file it cannot read)
crashes the Bazel server with a Java stack trace in the output base's java.log. So `invoke build`
checks first: the URL schemes and the header variable (as the command is planned), the TLS files
(present, PEM, a client certificate with its key), then for `grpc://`/`grpcs://` one TCP connect,
and for `grpcs://` one TLS handshake against `remote.tls_ca`.

HTTP(S) caches are not required to answer: Bazel builds locally when one does not (doctor's
`net.cache` row says whether it answers).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

from tfbuild import paths
from tfbuild.build.command import BuildRequest, remote_options
from tfbuild.discovery import remote as net
from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.settings.model import Settings

PEM_CERT = "-----BEGIN CERTIFICATE-----"
PEM_PKCS8_KEY = "-----BEGIN PRIVATE KEY-----"


def _read(key: str, value: str) -> tuple[Path, str]:
    path = paths.expand(value)
    try:
        return path, path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise ConfigError(f"{key} = {value!r}: {path} does not exist",
                          hint=f"point {key} at the PEM file, or set it to \"\"") from None
    except OSError as exc:
        raise ConfigError(f"{key} = {value!r}: cannot read {path}: {exc.strerror}",
                          hint=f"point {key} at a readable PEM file") from None


def tls_files(settings: Settings) -> net.TlsFiles:
    """The TLS keys' files, each checked: present, readable, PEM of the right kind."""
    remote = settings.remote
    ca = cert = key = None
    if remote.tls_ca:
        ca, text = _read("remote.tls_ca", remote.tls_ca)
        if PEM_CERT not in text:
            raise ConfigError(f"remote.tls_ca = {remote.tls_ca!r}: {ca} is not a PEM certificate "
                              f"(no '{PEM_CERT}' line)",
                              hint="convert it: openssl x509 -inform DER -in FILE -out ca.pem")
        try:
            ssl.create_default_context(cafile=str(ca))
        except ssl.SSLError as exc:
            raise ConfigError(f"remote.tls_ca = {remote.tls_ca!r}: {ca} holds no usable "
                              f"certificate ({exc.reason or exc})",
                              hint="check the file with: openssl x509 -in FILE -noout -text") from None
    if remote.tls_client_cert:
        cert, text = _read("remote.tls_client_cert", remote.tls_client_cert)
        if PEM_CERT not in text:
            raise ConfigError(f"remote.tls_client_cert = {remote.tls_client_cert!r}: {cert} is "
                              "not a PEM certificate", hint="give the client certificate in PEM")
    if remote.tls_client_key:
        key, text = _read("remote.tls_client_key", remote.tls_client_key)
        if PEM_PKCS8_KEY not in text:
            raise ConfigError(
                f"remote.tls_client_key = {remote.tls_client_key!r}: {key} is not an unencrypted "
                "PKCS#8 PEM key, the only form Bazel's gRPC client reads",
                hint=f"convert it: openssl pkcs8 -topk8 -nocrypt -in {key} -out client.pk8.key")
    if cert and key:
        try:
            ssl.create_default_context().load_cert_chain(str(cert), str(key))
        except ssl.SSLError as exc:
            raise ConfigError(f"remote.tls_client_key does not belong to remote.tls_client_cert "
                              f"({exc.reason or exc})",
                              hint="give the key the client certificate was made for") from None
    return net.TlsFiles(ca, cert, key)


def _cache_url(settings: Settings, request: BuildRequest) -> tuple[str, str]:
    if request.remote_cache is not None:
        return "--remote-cache", request.remote_cache
    return "remote.cache", settings.remote.cache


def preflight(settings: Settings, request: BuildRequest, env: Mapping[str, str], *,
              timeout: float = 5.0) -> None:
    """Raise ConfigError / PreconditionError naming the key when the remote cannot work."""
    remote_options(settings, request, env)  # URL schemes, TLS key pairs, header variable
    files = tls_files(settings)
    cache_key, cache = _cache_url(settings, request)
    for key, url in ((cache_key, cache), ("remote.executor", settings.remote.executor)):
        ep = net.endpoint(url) if url else None
        if ep is None or ep.scheme not in ("grpc", "grpcs"):
            continue
        reach = net.connect(ep, files, timeout=timeout)
        if reach.status == net.UNREACHABLE:
            raise PreconditionError(
                f"{key} = {url}: the server does not answer ({reach.detail})",
                hint=f"start the cache or fix {key} (remote.cache = \"\" builds without it)")
        if reach.status == net.TLS_VERIFY:
            source = f"remote.tls_ca = {settings.remote.tls_ca!r}" if files.ca else \
                "the system's CAs (remote.tls_ca is empty)"
            raise ConfigError(
                f"{key} = {url}: the server's certificate is not trusted by {source}: "
                f"{reach.detail}",
                hint="set remote.tls_ca to the PEM file of the CA that signed the server's "
                "certificate (and check the URL's host name is in that certificate)")
        if reach.status == net.TLS_FAILED:
            raise ConfigError(
                f"{key} = {url}: {reach.detail}",
                hint="check that the server speaks TLS (else use grpc://) and, if it asks for a "
                "client certificate, set remote.tls_client_cert and remote.tls_client_key")
