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

import dataclasses
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from tfbuild import paths
from tfbuild.building.command import BuildRequest, remote_options
from tfbuild.discovery import remote_probe as net
from tfbuild.discovery import tlsnative
from tfbuild.discovery.facts import Facts
from tfbuild.errors import ConfigError, PreconditionError, ToolMissingError
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
            what, off = (("executor", "remote.executor = \"\" builds locally")
                         if key == "remote.executor" else
                         ("cache", "remote.cache = \"\" builds without it"))
            raise PreconditionError(
                f"{key} = {url}: the server does not answer ({reach.detail})",
                hint=f"start the {what} or fix {key} ({off})")
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


def grpcs_urls(settings: Settings, request: BuildRequest) -> list[str]:
    _, cache = _cache_url(settings, request)
    return [u for u in (cache, settings.remote.executor) if u.startswith("grpcs://")]


def tcnative_dir() -> Path:
    """Per machine and user, beside the tools tfbuild installs (not part of any action key)."""
    return paths.tool_bin_dir().parent / "jni"


def _install_tcnative(library: str, target: Path) -> None:
    """A real copy under the name netty loads (a symlink is refused), replaced atomically."""
    dest = target / tlsnative.NETTY_NAME
    src = Path(library)
    if dest.exists() and dest.stat().st_size == src.stat().st_size and \
            dest.read_bytes() == src.read_bytes():
        return
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".{tlsnative.NETTY_NAME}.{os.getpid()}"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def with_tls_provider(settings: Settings, request: BuildRequest, facts: Facts, *,
                      install: bool = True) -> BuildRequest:
    """For a grpcs:// remote with Debian's Bazel: hand its server JVM Debian's netty-tcnative
    (see discovery.tlsnative), or refuse before Bazel starts when the package is missing."""
    urls = grpcs_urls(settings, request)
    if not urls or facts.bazel.version_source != "dpkg":
        return request
    if not facts.netty_tcnative:
        raise ToolMissingError(
            f"{urls[0]}: Debian's Bazel ({facts.bazel.path}) cannot open TLS gRPC connections "
            f"without netty-tcnative, and {tlsnative.PACKAGE} is not installed",
            hint=f"apt install {tlsnative.PACKAGE} (tfbuild then hands it to Bazel), or use an "
            "upstream Bazel (`invoke bazel-install`), or a grpc:// cache on a trusted network")
    target = tcnative_dir()
    if install:
        _install_tcnative(facts.netty_tcnative, target)
    own = [tlsnative.DEBIAN_BAZEL_LIBRARY_PATH] if os.path.isdir(
        tlsnative.DEBIAN_BAZEL_LIBRARY_PATH) else []
    library_path = ":".join([*own, str(target)])  # keep the path Debian's Bazel sets itself
    return dataclasses.replace(request, startup_extra=(
        *request.startup_extra, f"--host_jvm_args=-Djava.library.path={library_path}"))
