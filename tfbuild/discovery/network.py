"""Reachability of the hosts a profile's build downloads from: the TF download mirror, the
hosts fetched directly, the pip index and the git remote. One short request each, in parallel,
through the proxies the environment names (HTTPS_PROXY, NO_PROXY). And the remote cache, directly
(see probe_remote_cache)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from tfbuild.discovery import reapi
from tfbuild.discovery import remote_probe as remote
from tfbuild.downloads.fetch import describe
from tfbuild.downloads.urls import DEFAULT_MIRROR
from tfbuild.errors import ConfigError
from tfbuild.settings.model import Settings

TIMEOUT = 5.0
SLOW = 2.0


@dataclass(frozen=True)
class Probe:
    key: str  # the profile key that names the URL
    label: str
    url: str
    status: str  # ok, slow, unreachable
    seconds: float
    detail: str = ""


def targets(settings: Settings) -> list[tuple[str, str, str]]:
    m, tf = settings.mirrors, settings.tensorflow
    out = [("mirrors.tf_mirror", "TF download mirror", (m.tf_mirror or DEFAULT_MIRROR) + "/")]
    out += [("mirrors.direct_hosts", f"direct host {host}", f"https://{host}/")
            for host in m.direct_hosts]
    out += [("mirrors.host_mirrors", f"mirror of {host}", prefix.rstrip("/") + "/")
            for host, prefix in sorted(m.host_mirrors.items())]
    if m.pip_index:
        out.append(("mirrors.pip_index", "pip index", m.pip_index))
    if tf.git_url.startswith(("https://", "http://")):
        out.append(("tensorflow.git_url", "git remote",
                    tf.git_url.rstrip("/") + "/info/refs?service=git-upload-pack"))
    return out


def probe(url: str, *, timeout: float = TIMEOUT) -> tuple[str, float, str]:
    start = time.monotonic()
    try:
        with requests.Session() as session:
            response = session.head(url, timeout=timeout, allow_redirects=False)
        elapsed = time.monotonic() - start
        return ("slow" if elapsed > SLOW else "ok"), elapsed, f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        elapsed = time.monotonic() - start
        return "unreachable", elapsed, describe(exc)


def probe_remote_cache(settings: Settings, *, timeout: float = TIMEOUT) -> tuple[str, float, str]:
    """remote.cache: HTTP(S) one request, gRPC a TCP connect, grpcs:// also the TLS handshake
    against remote.tls_ca (statuses of discovery.remote_probe, or `config` for bad TLS files)."""
    url = settings.remote.cache
    try:
        files = remote.tls_files(settings)
    except ConfigError as exc:
        return "config", 0.0, exc.message
    ep = remote.endpoint(url)
    if ep is None:
        return "config", 0.0, f"{url!r} has no host and port to reach"
    if ep.scheme in ("grpc", "grpcs"):
        reach = remote.connect(ep, files, timeout=timeout, slow=SLOW)
        return reach.status, reach.seconds, reach.detail
    start = time.monotonic()
    verify = str(files.ca) if files.ca else True
    cert = (str(files.client_cert), str(files.client_key)) if files.client_cert else None
    try:
        with requests.Session() as session:
            session.trust_env = False  # Bazel's HTTP cache client takes no proxy either
            response = session.head(url, timeout=timeout, allow_redirects=False, verify=verify,
                                    cert=cert)
    except requests.exceptions.SSLError as exc:
        status = remote.TLS_VERIFY if "CERTIFICATE_VERIFY_FAILED" in str(exc) else remote.TLS_FAILED
        return status, time.monotonic() - start, describe(exc)
    except requests.RequestException as exc:
        return "unreachable", time.monotonic() - start, describe(exc)
    elapsed = time.monotonic() - start
    return ("slow" if elapsed > SLOW else "ok"), elapsed, f"HTTP {response.status_code}"


NO_EXECUTION = "no-execution"  # the executor answers but does not execute


def probe_executor(settings: Settings, *, timeout: float = TIMEOUT) -> tuple[str, float, str]:
    """remote.executor: the server's own capabilities (discovery.reapi), asked as Bazel asks
    them when a build starts."""
    url = settings.remote.executor
    try:
        files = remote.tls_files(settings)
    except ConfigError as exc:
        return "config", 0.0, exc.message
    ep = remote.endpoint(url)
    if ep is None:
        return "config", 0.0, f"{url!r} has no host and port to reach"
    start = time.monotonic()
    caps, why = reapi.get_capabilities(ep, files, instance_name=settings.remote.instance_name,
                                       timeout=timeout)
    elapsed = time.monotonic() - start
    if caps is None:
        return "unreachable", elapsed, why
    detail = (f"execution {'enabled' if caps.exec_enabled else 'not enabled'}, digest "
              f"{caps.exec_digest}, CAS {'/'.join(caps.cache_digests) or '?'}, action cache "
              f"{'writable' if caps.action_cache_update else 'read-only'}, REAPI "
              f"{caps.low_api}-{caps.high_api}")
    return ("ok" if caps.exec_enabled else NO_EXECUTION), elapsed, detail


def probe_all(settings: Settings, *, timeout: float = TIMEOUT) -> tuple[Probe, ...]:
    items = targets(settings)
    jobs = [lambda url=url: probe(url, timeout=timeout) for _, _, url in items]
    if settings.remote.cache and not settings.remote.cache.startswith("unix:"):
        items.append(("remote.cache", "remote cache", settings.remote.cache))
        jobs.append(lambda: probe_remote_cache(settings, timeout=timeout))
    if settings.remote.executor and not settings.remote.executor.startswith("unix:"):
        items.append(("remote.executor", "remote executor", settings.remote.executor))
        jobs.append(lambda: probe_executor(settings, timeout=timeout))
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    return tuple(Probe(key, label, url, status, round(seconds, 2), detail)
                 for (key, label, url), (status, seconds, detail) in zip(items, results))
