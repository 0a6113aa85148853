"""The remote cache checked before anything is written or Bazel starts.

Bazel reports a bad gRPC remote late: an unreachable `grpc://` cache fails the command after its
server has started (`Failed to query remote execution capabilities: Connection refused`), and TLS
problems surface from deep in its gRPC client (Debian's Bazel 4.2.3 crashes its server on any
`grpcs://`, the reason only in java.log). So `invoke build` checks first: the URL schemes and the
header variable (as the command is planned), the TLS files (present, PEM, a client certificate
with its key), then for `grpc://`/`grpcs://` one TCP connect, and for `grpcs://` one TLS handshake
against `remote.tls_ca`.

HTTP(S) caches are not required to answer: Bazel builds locally when one does not (doctor's
`net.cache` row says whether it answers).
"""

from __future__ import annotations

from collections.abc import Mapping

from tfbuild.build.command import BuildRequest, remote_options
from tfbuild.discovery import remote as net
from tfbuild.errors import ConfigError, PreconditionError
from tfbuild.settings.model import Settings


def _cache_url(settings: Settings, request: BuildRequest) -> tuple[str, str]:
    if request.remote_cache is not None:
        return "--remote-cache", request.remote_cache
    return "remote.cache", settings.remote.cache


def preflight(settings: Settings, request: BuildRequest, env: Mapping[str, str], *,
              timeout: float = 5.0) -> None:
    """Raise ConfigError / PreconditionError naming the key when the remote cannot work."""
    remote_options(settings, request, env)  # URL schemes, TLS key pairs, header variable
    files = net.tls_files(settings)
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
                f"{key} = {url}: the server's certificate is not trusted by {source} "
                f"({reach.detail.rpartition('not trusted: ')[2]})",
                hint="set remote.tls_ca to the PEM file of the CA that signed the server's "
                "certificate (and check the URL's host name is in that certificate)")
        if reach.status == net.TLS_FAILED:
            raise ConfigError(
                f"{key} = {url}: {reach.detail}",
                hint="check that the server speaks TLS (else use grpc://) and, if it asks for a "
                "client certificate, set remote.tls_client_cert and remote.tls_client_key")
