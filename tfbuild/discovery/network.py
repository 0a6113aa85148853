"""Reachability of the hosts a profile's build downloads from: the TF download mirror, the
hosts fetched directly, the pip index and the git remote. One short request each, in parallel,
through the proxies the environment names (HTTPS_PROXY, NO_PROXY)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from tfbuild.downloads.fetch import describe
from tfbuild.settings.model import Settings

TIMEOUT = 5.0
SLOW = 2.0
DEFAULT_MIRROR = "https://storage.googleapis.com/mirror.tensorflow.org"


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


def probe_all(settings: Settings, *, timeout: float = TIMEOUT) -> tuple[Probe, ...]:
    items = targets(settings)
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        results = list(pool.map(lambda item: probe(item[2], timeout=timeout), items))
    return tuple(Probe(key, label, url, status, round(seconds, 2), detail)
                 for (key, label, url), (status, seconds, detail) in zip(items, results))
