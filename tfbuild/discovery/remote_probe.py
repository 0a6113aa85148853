"""The remote cache as the network sees it: a TCP connect for `grpc://`, a TCP connect plus a TLS
handshake against the profile's CA (and client certificate) for `grpcs://` and `https://`.

Shared by doctor's network rows and by `invoke build`'s check before Bazel starts. Loopback and
LAN caches are reached directly (no proxy), as Bazel's gRPC client does."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tfbuild import paths
from tfbuild.errors import ConfigError
from tfbuild.settings.model import Settings

OK, SLOW, UNREACHABLE = "ok", "slow", "unreachable"
TLS_VERIFY, TLS_FAILED = "tls-verify", "tls-failed"  # the CA does not vouch; other TLS failures
DEFAULT_PORTS = {"grpc": 80, "grpcs": 443, "http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme in ("grpcs", "https")


@dataclass(frozen=True)
class TlsFiles:
    """Absolute paths (already checked to be PEM) or None."""

    ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None


@dataclass(frozen=True)
class Reach:
    status: str  # ok, slow, unreachable, tls-verify (the CA does not vouch), tls-failed
    seconds: float
    detail: str


def endpoint(url: str) -> Endpoint | None:
    """grpc(s)://host[:port] and http(s)://host[:port]/... ; None for unix: and the unparsable."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return Endpoint(parts.scheme, parts.hostname, port)


def tls_context(files: TlsFiles, *, grpc: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(files.ca) if files.ca else None)
    if files.client_cert and files.client_key:
        ctx.load_cert_chain(str(files.client_cert), str(files.client_key))
    if grpc:
        ctx.set_alpn_protocols(["h2"])
    return ctx


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + SETTINGS


def _h2_hello(tls: ssl.SSLSocket) -> bool:
    """Open HTTP/2 and read the server's first frame. With TLS 1.3 a server that wants a client
    certificate rejects it only after the handshake: it closes the connection (False). No
    answer within the timeout is not taken as an error."""
    try:
        tls.sendall(H2_PREFACE)
        return tls.recv(9) != b""
    except (TimeoutError, socket.timeout):
        return True


def connect(ep: Endpoint, files: TlsFiles = TlsFiles(), *, timeout: float = 5.0,
            slow: float = 2.0) -> Reach:
    """One TCP connect, then for TLS schemes one handshake verified against files.ca."""
    start = time.monotonic()

    def took() -> float:
        return round(time.monotonic() - start, 2)

    try:
        sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
    except OSError as exc:
        return Reach(UNREACHABLE, took(), f"TCP {ep.host}:{ep.port}: {exc.strerror or exc}")
    with sock:
        if ep.tls:
            try:
                ctx = tls_context(files, grpc=ep.scheme == "grpcs")
                with ctx.wrap_socket(sock, server_hostname=ep.host) as tls:
                    if ep.scheme == "grpcs" and not _h2_hello(tls):
                        why = "it refuses this client certificate" if files.client_cert else \
                            "it wants a client certificate"
                        return Reach(TLS_FAILED, took(), f"TLS {ep.host}:{ep.port}: the server "
                                     f"closed the connection after the handshake ({why}?)")
            except ssl.SSLCertVerificationError as exc:
                return Reach(TLS_VERIFY, took(), f"TLS {ep.host}:{ep.port}: certificate not "
                             f"trusted: {exc.verify_message or exc.reason}")
            except (ssl.SSLError, OSError) as exc:
                reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
                return Reach(TLS_FAILED, took(), f"TLS handshake with {ep.host}:{ep.port}: {reason}")
    seconds = took()
    what = "TLS handshake" if ep.tls else "TCP connect"
    return Reach(SLOW if seconds > slow else OK, seconds, f"{what} to {ep.host}:{ep.port}")


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


def tls_files(settings: Settings) -> TlsFiles:
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
    return TlsFiles(ca, cert, key)
